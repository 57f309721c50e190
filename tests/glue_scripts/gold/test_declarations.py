"""gold.json, the transforms and the job scripts agree with each other."""

from __future__ import annotations

import ast

import pytest
from lakehouse_glue.gold.job import inputs_of
from lakehouse_glue.gold.marts import SmallMart, load_marts, mart, parse_small_mart, small_mart
from lakehouse_glue.gold.transforms import TRANSFORMS
from lakehouse_glue.model import load_declaration

from lakehouse.paths import GLUE_SCRIPTS_DIR

MARTS = load_marts()


def test_every_declared_mart_has_a_transform_and_a_job_script() -> None:
    assert sorted(TRANSFORMS) == sorted(m.name for m in MARTS)
    scripts = {p.stem for p in GLUE_SCRIPTS_DIR.glob("create_gold_*.py")}
    assert scripts == {m.job_name for m in MARTS}


@pytest.mark.parametrize("name", [m.name for m in MARTS])
def test_transform_reads_exactly_what_the_mart_depends_on(name: str) -> None:
    declared = mart(name)
    assert sorted(inputs_of(name, TRANSFORMS[name])) == sorted(declared.depends_on)
    assert set(declared.depends_on) <= set(load_declaration().names)


@pytest.mark.parametrize("name", [m.name for m in MARTS])
def test_columns_are_typed_and_described(name: str) -> None:
    declared = mart(name)
    assert declared.columns[0].name == "tenant_id"
    for c in declared.columns:
        assert c.description, f"{name}.{c.name} has no description"
        assert "double" not in c.type, f"{name}.{c.name}: money and rates stay decimal"


def test_inputs_of_refuses_a_transform_that_reads_something_undeclared() -> None:
    def tenant_summary(tenants: object, invoices: object) -> None: ...

    with pytest.raises(ValueError, match="depends_on"):
        inputs_of("tenant_summary", tenant_summary)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [m.name for m in MARTS])
def test_job_script_is_thin_and_names_its_mart_and_transform(name: str) -> None:
    """Each script resolves exactly the contract's arguments and calls its own transform."""
    path = GLUE_SCRIPTS_DIR / f"{mart(name).job_name}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assigns = {
        t.id: n.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    mart_const = assigns["MART"]
    assert isinstance(mart_const, ast.Constant)
    assert mart_const.value == name
    imported = {
        alias.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == "lakehouse_glue.gold.transforms"
        for alias in n.names
    }
    assert imported == {name}
    calls = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    assert {"getResolvedOptions", "GlueContext", "Job", "run_mart"} <= calls
    assert len(path.read_text(encoding="utf-8").splitlines()) < 50


def test_small_mart_is_declared_and_a_wrong_setting_is_named() -> None:
    limits = small_mart()
    assert limits.rows > 0
    assert limits.bytes > 0
    assert SmallMart(10, 100).holds(10, 100)
    assert not SmallMart(10, 100).holds(11, 100)
    assert not SmallMart(10, 100).holds(10, 101)
    with pytest.raises(ValueError, match='"small_mart" must say'):
        parse_small_mart(None)
    for bad in (-1, "10", True, 1.5):
        with pytest.raises(ValueError, match='"small_mart" "rows" must be a whole number'):
            parse_small_mart({"rows": bad, "bytes": 1})
    with pytest.raises(ValueError, match='"small_mart" "bytes"'):
        parse_small_mart({"rows": 1})
