"""The gold mart declarations of ``declarations/gold.json`` and the schema check of a mart.

Like ``model.py`` this module imports no PySpark at import time, so the CLI, the catalog and
Terraform helpers can read the mart list without starting a JVM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from lakehouse_glue.model import TENANT_COLUMN

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class MartColumn:
    """One column of a gold mart: name, Spark DDL type and meaning."""

    name: str
    type: str
    description: str


@dataclass(frozen=True)
class Mart:
    """One gold mart: its Glue job, the silver entities it reads and its columns."""

    name: str
    description: str
    depends_on: tuple[str, ...]
    columns: tuple[MartColumn, ...]
    #: Every row is computed from its own tenant's silver rows alone: a run may recompute only
    #: the tenants whose inputs changed (``lakehouse_glue.gold.incremental``).
    per_tenant: bool

    @property
    def job_name(self) -> str:
        """Name of the Glue job (and script stem) that builds this mart."""
        return f"create_gold_{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def ddl(self) -> str:
        """The columns as a Spark DDL schema string (``tenant_id string, ...``)."""
        return ", ".join(f"{c.name} {c.type}" for c in self.columns)


@dataclass(frozen=True)
class SmallMart:
    """The size up to which a changed per-tenant mart is overwritten whole rather than
    replaced tenant by tenant (``gold.json`` ``small_mart``): both limits must hold."""

    rows: int
    bytes: int

    def holds(self, rows: int, size: int) -> bool:
        """Whether a mart of ``rows`` rows in ``size`` bytes of data files is small."""
        return rows <= self.rows and size <= self.bytes


def _gold_json() -> dict[str, Any]:
    text = resources.files("lakehouse_glue").joinpath("declarations", "gold.json").read_text()
    raw: dict[str, Any] = json.loads(text)
    return raw


@cache
def small_mart() -> SmallMart:
    """The declared :class:`SmallMart` limits (``gold.json`` ``small_mart``)."""
    return parse_small_mart(_gold_json().get("small_mart"))


def parse_small_mart(raw: object) -> SmallMart:
    """``gold.json``'s ``small_mart`` object; an error naming the setting when it is wrong."""
    if not isinstance(raw, dict):
        raise ValueError(
            'gold.json: "small_mart" must say {"rows": N, "bytes": N}: the size up to which a '
            "changed mart is overwritten whole instead of replaced tenant by tenant"
        )
    limits: dict[str, int] = {}
    for key in ("rows", "bytes"):
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(
                f'gold.json: "small_mart" "{key}" must be a whole number >= 0, got {value!r}'
            )
        limits[key] = value
    return SmallMart(rows=limits["rows"], bytes=limits["bytes"])


@cache
def load_marts() -> tuple[Mart, ...]:
    """Parse and validate ``declarations/gold.json``."""
    raw = _gold_json()
    marts: list[Mart] = []
    for m in raw["marts"]:
        columns = tuple(
            MartColumn(name=c["name"], type=c["type"], description=c.get("description", ""))
            for c in m["columns"]
        )
        mart = Mart(
            name=m["name"],
            description=m.get("description", ""),
            depends_on=tuple(m["depends_on"]),
            columns=columns,
            per_tenant=m.get("per_tenant"),  # checked below: a bool, never defaulted
        )
        if not isinstance(mart.per_tenant, bool):
            raise ValueError(
                f'gold.json: mart {mart.name!r} must say "per_tenant": true or false (whether '
                "each row is computed from its own tenant's rows alone)"
            )
        names = mart.column_names
        if len(set(names)) != len(names):
            raise ValueError(f"gold.json: mart {mart.name!r} declares a column twice")
        if TENANT_COLUMN not in names:
            raise ValueError(f"gold.json: mart {mart.name!r} has no {TENANT_COLUMN} column")
        marts.append(mart)
    if len({m.name for m in marts}) != len(marts):
        raise ValueError("gold.json: two marts share a name")
    return tuple(marts)


def mart(name: str) -> Mart:
    """The declaration of the mart called ``name``."""
    for m in load_marts():
        if m.name == name:
            return m
    known = ", ".join(m.name for m in load_marts())
    raise KeyError(f"unknown gold mart {name!r}; gold.json declares: {known}")


def conform(df: DataFrame, name: str) -> DataFrame:
    """Return ``df`` with the declared columns of mart ``name`` in declared order.

    Raises instead of casting: a transform whose output drifts from ``gold.json`` is a bug that
    must be fixed in one of the two, not papered over in the writer.
    """
    declared = mart(name)
    actual = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    problems: list[str] = []
    for c in declared.columns:
        if c.name not in actual:
            problems.append(f"missing column {c.name} {c.type}")
        elif actual[c.name] != c.type:
            problems.append(f"column {c.name} is {actual[c.name]}, declared {c.type}")
    extra = sorted(set(actual) - set(declared.column_names))
    if extra:
        problems.append(f"undeclared columns {', '.join(extra)}")
    if problems:
        raise ValueError(
            f"gold mart {name!r} does not match declarations/gold.json: {'; '.join(problems)}. "
            "Fix the transform or the declaration."
        )
    return df.select(*declared.column_names)
