"""modules/athena: the workgroup and the named queries equal the files in athena-queries/."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from lakehouse.athena.ddl import render as render_ddl
from lakehouse.athena.guard import READ_DIALECT
from lakehouse.paths import ATHENA_QUERIES_DIR
from tests.terraform_infra.plan import (
    DB,
    NAME,
    of_type,
)

pytestmark = pytest.mark.slow


def test_athena_workgroup_and_named_queries(resources: list[dict[str, Any]]) -> None:
    workgroup = next(
        w["values"]
        for w in of_type(resources, "aws_athena_workgroup")
        if w["values"]["name"] == f"{NAME}-analysts"
    )
    config = workgroup["configuration"][0]
    assert config["enforce_workgroup_configuration"] is True
    assert config["bytes_scanned_cutoff_per_query"] == 10 * 1024**3
    encryption = config["result_configuration"][0]["encryption_configuration"][0]
    assert encryption["encryption_option"] == "SSE_KMS"
    files = sorted(p.relative_to(ATHENA_QUERIES_DIR) for p in ATHENA_QUERIES_DIR.rglob("*.sql"))
    statements: dict[str, dict[int, dict[str, Any]]] = {}
    for q in of_type(resources, "aws_athena_named_query"):
        values = q["values"]
        match = re.fullmatch(
            r"athena-queries/(.+), statement (\d+) of (\d+)", values["description"]
        )
        assert match is not None, values["description"]
        statements.setdefault(match.group(1), {})[int(match.group(2))] = values
        assert values["database"] == DB["gold"]
    assert sorted(statements) == [f.as_posix() for f in files]
    args = of_type(resources, "aws_glue_job")[0]["values"]["default_arguments"]
    locations = {
        "bronze_location": args["--bronze_path"],
        "silver_location": args["--silver_path"],
        "gold_location": args["--gold_path"],
    }
    for f in files:
        text = (ATHENA_QUERIES_DIR / f).read_text("utf-8")
        # The generated DDL is rendered as lakehouse.athena.ddl.render() does; the rest verbatim.
        rendered = render_ddl(text, locations) if f.parts[0] == "ddl" else text
        # Athena runs one statement per execution: sqlglot's statements of the file, with this
        # deployment's database names, one named query each, in order.
        expected = [
            _renamed(tree).sql(READ_DIALECT, comments=False)
            for tree in sqlglot.parse(rendered, read=READ_DIALECT)
            if tree
        ]
        stored = statements[f.as_posix()]
        assert sorted(stored) == list(range(1, len(expected) + 1)), f
        for index, sql in enumerate(expected, start=1):
            query = stored[index]
            trees = [t for t in sqlglot.parse(query["query"], read=READ_DIALECT) if t]
            assert len(trees) == 1, (f, index)
            assert trees[0].sql(READ_DIALECT, comments=False) == sql, (f, index)
            suffix = f".{index:02d}" if len(expected) > 1 else ""
            assert query["name"] == f.with_suffix("").as_posix().replace("/", ".") + suffix


def _renamed(tree: exp.Expr) -> exp.Expr:
    """The statement with the layer databases renamed to this deployment's (an AST rewrite, not
    the plan's text substitution)."""
    tree = tree.copy()
    for table in tree.find_all(exp.Table):
        if table.db in DB:
            table.set("db", exp.to_identifier(DB[table.db]))
        elif isinstance(table.parent, exp.Create) and table.name in DB and not table.db:
            table.set("this", exp.to_identifier(DB[table.name]))
    return tree
