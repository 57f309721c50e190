"""Source columns the declaration does not name: carried into silver as text, typed once declared.

A column added at the source reaches bronze before anyone declares it in ``entities.json``. It
is not dropped: the silver job carries it into ``silver.<entity>`` and its history as a nullable
``string`` column, holding the text bronze holds (no type is guessed from values), and marks it
with the column comment :data:`~lakehouse_glue.model.CARRIED_COMMENT`. Rows written before the
column existed read NULL; the run's report lists it under ``schema_drift.carried`` and tells
the user to declare it.

Declaring it later gives it its type. Text to another type is not an Iceberg promotion, so the
job rewrites each table once (one ``create or replace ... as select`` from a pinned snapshot:
one commit, the snapshot history kept for time travel) with the carried text typed by the same
strict rules as any declared column (:mod:`lakehouse_glue.casting`). A value that does not
parse is never cast or rounded: the row keeps the column NULL and the value goes to quarantine
(``unparsable_value``, with the reason, the row's key and the table and snapshot it came from),
and the report counts it. The comment marks the difference from a declared ``string`` column
whose declared type changes: that is a type change, quarantined as before
(``incompatible_schema_change``). Declared as ``string``, the column only loses the comment.

A change is a full row image (DMS writes every column), so a carried column a file lacks (a
file older than the column, or written after it was dropped) is NULL in that change.

Which names are carried: lower-case identifiers (``[a-z][a-z0-9_]*``, at most 128 characters)
that name no column the lakehouse adds itself (lineage, history, quarantine) and no bronze
column in another case. Any other header name is not carried but reported with the reason: a
header is input, and these names go into SQL and into the catalog. A name the tables already
have without the carried mark (a column once declared, since removed from the declaration,
with its declared type) is not carried either: declaring it again loads it.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from typing import Any

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention
from pyspark.sql.types import StringType, StructType

from lakehouse_glue import iceberg as ice
from lakehouse_glue.bronze import raw_columns
from lakehouse_glue.casting import typed_value
from lakehouse_glue.changes import CHANGE_SEQ, COMMITTED_AT, LINEAGE, TENANT_ID
from lakehouse_glue.history import history_columns
from lakehouse_glue.model import CARRIED_COMMENT, BronzeContract, Column, Entity
from lakehouse_glue.quality import QUARANTINE_META, RAW_PREFIX

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,127}$")
_UNPARSABLE = "unparsable_value"


def _reserved(entity: Entity, contract: BronzeContract) -> set[str]:
    """Lower-cased names a carried column may not take: the lakehouse's own and bronze's."""
    return {
        n.lower()
        for n in (
            *raw_columns(entity, contract),
            TENANT_ID,
            *LINEAGE,
            *history_columns(entity),
            *QUARANTINE_META,
        )
    }


def refusal(name: str, entity: Entity, contract: BronzeContract) -> str | None:
    """Why a header name that the declaration does not name cannot be carried (None: it can)."""
    if not _NAME.fullmatch(name):
        return (
            f"{name!r} is not a lower-case identifier ([a-z][a-z0-9_]*, at most 128 "
            "characters); declare the column under the name it should have"
        )
    if name.startswith(RAW_PREFIX) or name in _reserved(entity, contract):
        return f"{name!r} is a name the lakehouse uses for a column of its own"
    return None


def _is_carried(f: Any) -> bool:
    return isinstance(f.dataType, StringType) and f.metadata.get("comment") == CARRIED_COMMENT


@dataclass(frozen=True)
class Carried:
    """What a run does with the columns its files and tables have beyond the declaration."""

    entity: Entity  # the declared entity plus the carried columns (type string, ``carried``)
    names: tuple[str, ...] = ()  # carried columns, in the order first seen
    refused: dict[str, str] = field(default_factory=dict)  # header name -> why not carried

    def notices(self, table: str) -> dict[str, str]:
        """Per carried column, the notice for the report."""
        return {
            n: f"carried into {table} and its history as text (string); declare it in "
            "entities.json to give it a type"
            for n in self.names
        }


def plan(
    entity: Entity,
    contract: BronzeContract,
    headers: Iterable[tuple[str, ...]],
    tables: Iterable[StructType | None],
) -> Carried:
    """The columns to carry: those already carried in ``tables``, then new header names.

    Args:
        entity: the declared entity.
        contract: the bronze contract (its own columns are never carried).
        headers: the headers of the run's bronze files.
        tables: the current schemas of silver and history (``None``: no table, or a rebuild).
    """
    declared = set(raw_columns(entity, contract))
    names: list[str] = []
    typed: dict[str, str] = {}
    for schema in tables:
        for f in schema.fields if schema is not None else ():
            if f.name in declared or f.name in names:
                continue
            if _is_carried(f):
                names.append(f.name)
            elif f.name not in (*history_columns(entity), *LINEAGE):
                typed[f.name] = f.dataType.simpleString()
    refused: dict[str, str] = {}
    for header in headers:
        for name in header:
            if name in declared or name in names or name in refused:
                continue
            why = refusal(name, entity, contract)
            if why is None and name in typed:
                why = (
                    f"{name!r} is a {typed[name]} column of the silver tables that the "
                    "declaration no longer names; declare it again to load it"
                )
            if why is None:
                names.append(name)
            else:
                refused[name] = why
    carried = tuple(Column(n, "string", True, carried=True) for n in names)
    return Carried(
        dataclasses.replace(entity, columns=(*entity.columns, *carried)), tuple(names), refused
    )


def mark(df: DataFrame, entity: Entity) -> DataFrame:
    """``df`` with the carried columns commented, so a ``create or replace`` keeps the mark."""
    carried = {c.name for c in entity.columns if c.carried}
    if not carried:
        return df
    return df.select(
        *[
            F.col(f"`{c}`").alias(c, metadata={"comment": CARRIED_COMMENT})
            if c in carried
            else F.col(f"`{c}`")
            for c in df.columns
        ]
    )


def _quarantine(
    bad: DataFrame,
    problems: list[tuple[Column, SparkColumn]],
    entity: Entity,
    contract: BronzeContract,
    source: str,
    at: datetime,
) -> DataFrame:
    """Rows whose carried text did not parse, in the quarantine's shape (raw text columns)."""
    table_columns = set(bad.columns)
    lineage = {
        contract.timestamp_column_name: COMMITTED_AT,
        contract.change_seq_column: CHANGE_SEQ,
    }
    reasons = [
        F.when(
            ~ok,
            F.concat(
                F.lit(f"{c.name}: cannot parse "),
                F.coalesce(F.substring(F.col(c.name), 1, 120), F.lit("NULL")),
                F.lit(
                    f" as {c.type}; the column was carried as text before it was declared, "
                    f"and {source} keeps the row with {c.name} NULL"
                ),
            ),
        )
        for c, ok in problems
    ]
    raw: list[SparkColumn] = []
    for name in raw_columns(entity, contract):
        column = lineage.get(name, name)
        value = F.col(f"`{column}`").cast("string") if column in table_columns else F.lit(None)
        raw.append(value.cast("string").alias(name))
    return bad.select(
        *raw,
        F.lit(_UNPARSABLE).alias("quarantine_rule"),
        F.concat_ws("; ", *reasons).alias("quarantine_reason"),
        F.lit(source).alias("source_file"),
        F.lit(None).cast("string").alias("raw_record"),
        F.lit(at).cast("timestamp").alias("quarantined_at"),
    )


def type_declared(
    spark: SparkSession,
    table: ice.Table,
    entity: Entity,
    contract: BronzeContract,
    quarantine_path: str,
    at: datetime,
) -> list[dict[str, Any]]:
    """Give the carried columns that are now declared their declared type, in one commit.

    Reads the table at its current snapshot, writes the values that do not parse to quarantine
    (first, so that a run killed before the commit loses nothing: it types them again), then
    replaces the table with the typed columns. A column declared ``string`` only loses the
    comment. Returns, per column typed, the table, the column, its type and the values that
    did not parse.

    Args:
        spark: the session.
        table: ``silver.<entity>`` or its history.
        entity: the declared entity (plus any carried columns).
        contract: the bronze contract (the quarantine's raw columns).
        quarantine_path: the entity's quarantine folder.
        at: the run's start, the quarantine time.
    """
    if not ice.exists(spark, table):
        return []
    have = {f.name: f for f in ice.columns(spark, table).fields}
    declared = [
        c for c in entity.columns if not c.carried and c.name in have and _is_carried(have[c.name])
    ]
    if not declared:
        return []
    for c in declared:
        if c.type == "string":
            spark.sql(f"alter table {table.ident} alter column `{c.name}` comment ''")
    to_type = [c for c in declared if c.type != "string"]
    if not to_type:
        return []
    snapshot = ice.current_snapshot_id(spark, table)
    as_of = "" if snapshot is None else f" version as of {int(snapshot)}"
    pinned = spark.sql(f"select * from {table.ident}{as_of}")
    typed: dict[str, SparkColumn] = {}
    problems: list[tuple[Column, SparkColumn]] = []
    for c in to_type:
        value, ok = typed_value(F.col(f"`{c.name}`"), c)
        typed[c.name] = value.cast(c.spark_type).alias(c.name)
        problems.append((c, ok))
    counts = pinned.agg(
        *[F.count_if(~ok).alias(c.name) for c, ok in problems],
    ).first()
    assert counts is not None
    failed = {c.name: int(counts[c.name] or 0) for c in to_type}
    source = f"{table.namespace}.{table.name}"
    if any(failed.values()):
        bad = pinned.where(reduce(operator.or_, [~ok for _, ok in problems]))
        _quarantine(bad, problems, entity, contract, source, at).write.mode("append").parquet(
            quarantine_path
        )
    columns = [typed.get(name, F.col(f"`{name}`")) for name in pinned.columns]
    ice.replace(spark, table, pinned.select(*columns))
    return [
        {
            "table": source,
            "column": c.name,
            "type": c.type,
            "snapshot_before": snapshot,
            "values_quarantined": failed[c.name],
        }
        for c in to_type
    ]
