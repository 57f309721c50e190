"""Every version of an entity's rows: ``silver.<entity>_history``, slowly changing type 2.

A version is what one insert or update made of a row. It is valid from its change's source
commit time until the next change of the same key (``valid_to``, with that change's sequence in
``valid_to_change_seq``); the key's last version is current unless a delete closed it. Deletes
make no version of their own: they only close one. Versions are ordered like silver's changes
(docs/bronze-contract.md): full load before CDC, then change sequence, commit time, file name
and row position, NULLs first.

Built incrementally: a batch's changes are first held against each key's last known change (the
current version's own, or the change that closed the latest version), and only strictly newer
ones are kept, so that replaying files changes nothing; the key's current version is then closed
by the first kept change and the kept changes become versions, in one ``MERGE``. A rebuild from
bronze (:func:`versions` over every change) gives the same rows. A change older than what
history already holds for its key (a late file) is not inserted in the middle: it also lost to
the newer row in silver.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention
from pyspark.sql.types import StringType, StructType, _parse_datatype_string
from pyspark.sql.window import WindowSpec

from lakehouse_glue.bronze import FILE_RANK, ROW_ORDER, SOURCE_FILE
from lakehouse_glue.changes import CHANGE_SEQ, COMMITTED_AT, OP, TENANT_ID
from lakehouse_glue.model import HISTORY_VERSION_COLUMNS, Entity

OPERATION, _, VALID_FROM, VALID_TO, VALID_TO_SEQ, IS_CURRENT = (
    name for name, _, _ in HISTORY_VERSION_COLUMNS
)
_ACTION = "_action"
_LAST = "_last_change"


def _entity_columns(entity: Entity) -> list[str]:
    cols = entity.column_names
    return cols if TENANT_ID in cols else [*cols, TENANT_ID]


def history_columns(entity: Entity) -> list[str]:
    """History column names in order: declared columns, tenant_id, then the version columns."""
    return [
        *_entity_columns(entity),
        OPERATION,
        CHANGE_SEQ,
        VALID_FROM,
        VALID_TO,
        VALID_TO_SEQ,
        IS_CURRENT,
    ]


def history_schema(entity: Entity) -> StructType:
    """Spark schema of the history table."""
    parts = [c.ddl for c in entity.columns]
    if TENANT_ID not in entity.column_names:
        parts.append(f"`{TENANT_ID}` string")
    parts += [
        f"`{OPERATION}` string",
        f"`{CHANGE_SEQ}` string",
        f"`{VALID_FROM}` timestamp",
        f"`{VALID_TO}` timestamp",
        f"`{VALID_TO_SEQ}` string",
        f"`{IS_CURRENT}` boolean",
    ]
    schema = _parse_datatype_string(", ".join(parts))
    assert isinstance(schema, StructType)
    return schema


def _order(entity: Entity, *cluster: str) -> WindowSpec:
    return Window.partitionBy(*cluster, TENANT_ID, entity.primary_key).orderBy(
        F.col(FILE_RANK).asc(),
        F.col(CHANGE_SEQ).asc_nulls_first(),
        F.col(COMMITTED_AT).asc_nulls_first(),
        F.col(SOURCE_FILE).asc(),
        F.col(ROW_ORDER).asc(),
    )


def versions(changes: DataFrame, entity: Entity, *cluster: str) -> DataFrame:
    """Changes (from :func:`lakehouse_glue.changes.to_change_rows`) -> history rows.

    Each insert or update is valid until the next change of its key; deletes only close.

    Args:
        changes: the change rows.
        entity: the declared entity.
        cluster: columns of ``changes``, functions of the tenant and key, kept in the result
            and put before them in the window's grouping: the table's bucket, which the changes
            are hash-partitioned on (:func:`lakehouse_glue.iceberg.with_bucket`), maybe after
            a sort prefix (:func:`lakehouse_glue.iceberg.uuid_sort_prefix`). The keys' windows
            then lie within those partitions, so Spark orders them where they are instead of
            shuffling every change by key first, and the write that follows (grouped and sorted
            by prefix, bucket, tenant and key) finds them in its shape. The versions are the
            same: these columns only group keys, never split one.
    """
    order = _order(entity, *cluster)
    chained = (
        changes.withColumn(VALID_TO, F.lead(COMMITTED_AT).over(order))
        .withColumn(VALID_TO_SEQ, F.lead(CHANGE_SEQ).over(order))
        .withColumn("_has_next", F.lead(F.lit(True)).over(order).isNotNull())
    )
    return chained.where(F.col(OP) != F.lit("D")).select(
        *[F.col(c) for c in _entity_columns(entity)],
        F.col(OP).alias(OPERATION),
        F.col(CHANGE_SEQ),
        F.col(COMMITTED_AT).alias(VALID_FROM),
        F.col(VALID_TO),
        F.col(VALID_TO_SEQ),
        (~F.col("_has_next")).alias(IS_CURRENT),
        *[F.col(c) for c in cluster],
    )


def _change_key(seq: Column | str, at: Column | str) -> Column:
    """What orders two changes of one key across batches (NULLs sort first in a struct)."""
    seq_col = F.col(seq) if isinstance(seq, str) else seq
    at_col = F.col(at) if isinstance(at, str) else at
    return F.struct(seq_col.alias("seq"), at_col.alias("at"))


def last_changes(history: DataFrame, entity: Entity) -> DataFrame:
    """Per key, the (sequence, commit time) of its last known change."""
    current = F.col(IS_CURRENT)
    key = _change_key(
        F.when(current, F.col(CHANGE_SEQ)).otherwise(F.col(VALID_TO_SEQ)),
        F.when(current, F.col(VALID_FROM)).otherwise(F.col(VALID_TO)),
    )
    return history.groupBy(TENANT_ID, entity.primary_key).agg(F.max(key).alias(_LAST))


def merge_source(changes: DataFrame, history: DataFrame, entity: Entity) -> DataFrame:
    """The rows of the history ``MERGE``: one closing row per key, then the new versions.

    One pass over the kept changes makes both: a single window per key (the change order)
    gives each change its successor and its rank, and each change becomes its version (unless
    it is a delete) and, for the key's first change, also the row that closes the current
    version. No union: the rows stay where the window put them, partitioned by tenant and key,
    which is how the ``MERGE`` joins them with the table.

    Args:
        changes: the batch's valid changes (:func:`lakehouse_glue.changes.to_change_rows`).
        history: the history rows of the batch's tenants (any superset of its keys).
        entity: the declared entity.
    """
    keys = list(dict.fromkeys([TENANT_ID, entity.primary_key]))
    last = last_changes(history, entity)
    joined = changes.join(last, keys, "left")
    fresh = joined.where(
        F.col(_LAST).isNull()
        | ((F.col(FILE_RANK) == 1) & (_change_key(CHANGE_SEQ, COMMITTED_AT) > F.col(_LAST)))
    ).drop(_LAST)
    order = _order(entity)
    chained = fresh.select(
        *keys,
        *[c for c in fresh.columns if c not in keys],
        F.lead(COMMITTED_AT).over(order).alias(VALID_TO),
        F.lead(CHANGE_SEQ).over(order).alias(VALID_TO_SEQ),
        F.lead(F.lit(True)).over(order).isNull().alias(IS_CURRENT),
        (F.row_number().over(order) == 1).alias("_first"),
    )
    types = {f.name: f.dataType for f in chained.schema.fields}
    # Every column but the key's, as (name, value in the version, value in the closing row).
    fields = [
        *[(c, F.col(c), None) for c in _entity_columns(entity) if c not in keys],
        (OPERATION, F.col(OP), None),
        (CHANGE_SEQ, F.col(CHANGE_SEQ), None),
        (VALID_FROM, F.col(COMMITTED_AT), None),
        (VALID_TO, F.col(VALID_TO), F.col(COMMITTED_AT)),
        (VALID_TO_SEQ, F.col(VALID_TO_SEQ), F.col(CHANGE_SEQ)),
        (IS_CURRENT, F.col(IS_CURRENT), None),
        (_ACTION, F.lit("insert"), F.lit("close")),
    ]
    kind = {**types, OPERATION: types[OP], VALID_FROM: types[COMMITTED_AT], _ACTION: StringType()}
    version = F.struct(*[v.alias(n) for n, v, _ in fields])
    closing = F.struct(
        *[(F.lit(None) if c is None else c).cast(kind[n]).alias(n) for n, _, c in fields]
    )
    made = F.array(F.when(F.col("_first"), closing), F.when(F.col(OP) != F.lit("D"), version))
    # The key's columns stay the window's own, so the rows keep its partitioning.
    rows = chained.select(*keys, F.explode(F.filter(made, lambda r: r.isNotNull())).alias("_r"))
    return rows.select(*keys, *[F.col("_r")[n].alias(n) for n, _, _ in fields])


def merge_statement(
    entity: Entity, table_columns: list[str], target_filter: str | None = None
) -> str:
    """``MERGE`` of :func:`merge_source` into the history table (``{target}``/``{source}``).

    A closing row matches the key's current version only; a new version never matches.
    ``target_filter`` (:func:`lakehouse_glue.changes.key_filter`) is added to the join.
    """
    key = entity.primary_key
    names = ", ".join(f"`{c}`" for c in table_columns)
    values = ", ".join(
        f"s.`{c}`" if c in history_columns(entity) else "null" for c in table_columns
    )
    return (
        "merge into {target} t using {source} s "
        f"on t.`{TENANT_ID}` = s.`{TENANT_ID}` and t.`{key}` = s.`{key}` "
        f"and s.`{_ACTION}` = 'close' and t.`{IS_CURRENT}` "
        f"{f'and {target_filter} ' if target_filter else ''}"
        f"when matched then update set t.`{VALID_TO}` = s.`{VALID_TO}`, "
        f"t.`{VALID_TO_SEQ}` = s.`{VALID_TO_SEQ}`, t.`{IS_CURRENT}` = false "
        f"when not matched and s.`{_ACTION}` = 'insert' then insert ({names}) values ({values})"
    )
