"""Applying changes: the last change per primary key wins, a delete removes the row.

Change order (docs/bronze-contract.md): full-load files before CDC files, then
``dms_change_seq``, then ``dms_timestamp``, then file name, then row position in the file. Rows
already in silver compete with the new changes through their lineage columns (change sequence
and commit time), as if they came from a CDC file named "" at position -1, so that an identical
replayed change replaces them and an older, late change loses to them.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue.bronze import FILE_RANK, ROW_ORDER, SOURCE_FILE
from lakehouse_glue.model import LINEAGE_COLUMNS, TENANT_COLUMN, Entity

OP = "Op"
COMMITTED_AT, CHANGE_SEQ, PROCESSED_AT = (name for name, _, _ in LINEAGE_COLUMNS)
TENANT_ID = TENANT_COLUMN
LINEAGE = (COMMITTED_AT, CHANGE_SEQ, PROCESSED_AT)


def silver_columns(entity: Entity) -> list[str]:
    """Silver column names in order: declared columns, tenant_id for tenants, lineage."""
    cols = entity.column_names
    if TENANT_ID not in cols:
        cols = [*cols, TENANT_ID]
    return [*cols, *LINEAGE]


def silver_ddl(entity: Entity) -> str:
    """Spark DDL schema of the silver table (tenant_id included)."""
    parts = [c.ddl for c in entity.columns]
    if TENANT_ID not in entity.column_names:
        parts.append(f"`{TENANT_ID}` string")
    parts += [
        f"`{COMMITTED_AT}` timestamp",
        f"`{CHANGE_SEQ}` string",
        f"`{PROCESSED_AT}` timestamp",
    ]
    return ", ".join(parts)


def latest_per_key(changes: DataFrame, entity: Entity) -> DataFrame:
    """Keep only the last change of every primary key (deletes included)."""
    # Keyed by (tenant_id, key): a row never changes tenant. The window's shuffle by both is
    # also the one a MERGE's join on them needs, so the MERGE does not shuffle its source again.
    order = Window.partitionBy(TENANT_ID, entity.primary_key).orderBy(
        F.col(FILE_RANK).desc(),
        F.col(CHANGE_SEQ).desc_nulls_last(),
        F.col(COMMITTED_AT).desc_nulls_last(),
        F.col(SOURCE_FILE).desc(),
        F.col(ROW_ORDER).desc(),
    )
    return (
        changes.withColumn("_rank", F.row_number().over(order))
        .where(F.col("_rank") == 1)
        .drop("_rank")
    )


def existing_as_changes(existing: DataFrame, entity: Entity) -> DataFrame:
    """Current silver rows shaped like changes, so they compete in :func:`latest_per_key`."""
    return existing.select(
        *[F.col(c) for c in silver_columns(entity)],
        F.lit("I").alias(OP),
        F.lit(1).alias(FILE_RANK),
        F.lit("").alias(SOURCE_FILE),
        F.lit(-1).cast("long").alias(ROW_ORDER),
    )


def to_change_rows(typed: DataFrame, entity: Entity, processed_at: datetime) -> DataFrame:
    """Typed, valid change rows -> the silver columns plus what ordering needs."""
    tenant = F.col(entity.tenant_column).alias(TENANT_ID)
    extra = [] if TENANT_ID in entity.column_names else [tenant]
    return typed.select(
        *[F.col(c) for c in entity.column_names],
        *extra,
        F.col(COMMITTED_AT),
        F.col(CHANGE_SEQ),
        F.lit(processed_at).cast("timestamp").alias(PROCESSED_AT),
        F.col(OP),
        F.col(FILE_RANK),
        F.col(SOURCE_FILE),
        F.col(ROW_ORDER),
    )


def apply_changes(changes: DataFrame, existing: DataFrame | None, entity: Entity) -> DataFrame:
    """The new current state: last change per key over existing rows and new changes.

    Args:
        changes: rows from :func:`to_change_rows`.
        existing: current silver rows of the affected tenants, or ``None`` (full refresh).
        entity: the declared entity.

    Returns:
        Silver rows (columns of :func:`silver_columns`), deletes removed.
    """
    candidates = changes
    if existing is not None:
        candidates = changes.unionByName(existing_as_changes(existing, entity))
    latest = latest_per_key(candidates, entity)
    return latest.where(F.col(OP) != F.lit("D")).select(*silver_columns(entity))


#: Key types whose values a :func:`key_filter` spells as SQL string literals.
_TEXT_KEYS = ("uuid", "string")


def filterable_key(entity: Entity) -> bool:
    """Whether :func:`key_filter` can name the entity's keys: a text primary key."""
    return entity.column(entity.primary_key).type in _TEXT_KEYS


def key_filter(entity: Entity, keys: list[str], alias: str | None = "t") -> str | None:
    """``<alias>.<key> in (...)``: the batch's keys as literals, for a ``MERGE``'s join.

    A ``MERGE`` joins its source with every row of the table (an outer join, which keeps
    every source row, so Spark cannot broadcast the source) and shuffles them all by key: for
    a few thousand changes, the whole table is shuffled to find a few thousand rows. With the
    keys named in the join's condition, Spark drops the other rows as it reads the table (the
    condition is on the table's side only), before the shuffle. ``None`` for a key type
    other than text (no filter; the result is the same).
    """
    if not filterable_key(entity):
        return None
    literals = ", ".join(
        "'" + k.replace("\\", "\\\\").replace("'", "\\'") + "'" for k in sorted(set(keys))
    )
    column = f"`{entity.primary_key}`" if alias is None else f"{alias}.`{entity.primary_key}`"
    return f"{column} in ({literals})"


def merge_statement(
    entity: Entity, table_columns: list[str], target_filter: str | None = None
) -> str:
    """``MERGE`` of the batch's last change per key into silver (``{target}``/``{source}``).

    The source is :func:`latest_per_key` of the batch. A change replaces or deletes a row only
    when it is newer: a CDC change (a full-load row never overrides a row silver already has)
    with a greater (change sequence, commit time), NULLs first, so that an identical replayed
    change or a late, older one changes nothing. Keys silver does not have are inserted unless
    their last change is a delete. Columns the table has but the declaration no longer names
    (schema evolution keeps them) are NULL in new rows. ``target_filter``, a condition on the
    table's rows (alias ``t``) that every row the batch's keys name meets, is added to the join
    (:func:`key_filter`).
    """
    key = entity.primary_key
    ours = silver_columns(entity)
    newer = (
        f"s.`{FILE_RANK}` = 1 and "
        f"named_struct('seq', s.`{CHANGE_SEQ}`, 'at', s.`{COMMITTED_AT}`) > "
        f"named_struct('seq', t.`{CHANGE_SEQ}`, 'at', t.`{COMMITTED_AT}`)"
    )
    sets = ", ".join(f"t.`{c}` = s.`{c}`" for c in ours)
    names = ", ".join(f"`{c}`" for c in table_columns)
    values = ", ".join(f"s.`{c}`" if c in ours else "null" for c in table_columns)
    return (
        "merge into {target} t using {source} s "
        f"on t.`{TENANT_ID}` = s.`{TENANT_ID}` and t.`{key}` = s.`{key}` "
        f"{f'and {target_filter} ' if target_filter else ''}"
        f"when matched and {newer} and s.`{OP}` = 'D' then delete "
        f"when matched and {newer} then update set {sets} "
        f"when not matched and s.`{OP}` != 'D' then insert ({names}) values ({values})"
    )
