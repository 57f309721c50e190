"""The stand-in's Data Catalog: the local catalog of ``lakehouse crawl`` (``lakehouse.catalog``).

Reads resolve ``database.table`` to a location, a format and partition keys; catalog sinks
(``enableUpdateCatalog``) create or update a table and add its partitions, as a Glue ETL job
does (https://docs.aws.amazon.com/glue/latest/dg/update-from-job.html):
``updateBehavior="UPDATE_IN_DATABASE"`` (the default) replaces the table's columns with the
frame's, ``"LOG"`` keeps them and only adds partitions.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from lakehouse_glue.model import TENANT_COLUMN
from pyspark.sql import types as T  # noqa: N812

from awsglue import _local
from lakehouse.catalog.store import Catalog, CatalogColumn, CatalogTable, load_catalog

# Glue's catalog folds names to lower case; Athena then wants letters, digits and '_'
# (https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html). A name is
# also a file name here, so nothing else may pass.
_NAME = re.compile(r"[a-z0-9_]{1,255}")


class EntityNotFoundException(Exception):  # noqa: N818 - the Glue API's exception name
    """No such database or table in the local catalog."""


def check_name(kind: str, name: str) -> str:
    """``name`` lower-cased, or ``ValueError`` when it cannot be a catalog name."""
    lowered = str(name).lower()
    if not _NAME.fullmatch(lowered):
        raise ValueError(
            f"{kind} name {name!r} is not usable in the catalog: use letters, digits and '_' "
            "(at most 255)"
        )
    return lowered


def _catalog() -> Catalog:
    return load_catalog(_local.locations().catalog_uri)


def get_table(database: str, table_name: str) -> CatalogTable:
    """The catalog table ``database.table_name`` (``EntityNotFoundException`` if absent)."""
    db = check_name("database", database)
    name = check_name("table", table_name)
    table = _catalog().get(db, name)
    if table is None:
        raise EntityNotFoundException(
            f"table {db}.{name} is not in the local catalog "
            f"({_local.locations().catalog_uri}); run `lakehouse crawl`, or write it with a "
            "catalog sink (enableUpdateCatalog)"
        )
    return table


def athena_type(dtype: T.DataType) -> str:
    """The catalog (Hive DDL) type of a Spark type."""
    simple = {
        T.StringType: "string",
        T.BooleanType: "boolean",
        T.ByteType: "tinyint",
        T.ShortType: "smallint",
        T.IntegerType: "int",
        T.LongType: "bigint",
        T.FloatType: "float",
        T.DoubleType: "double",
        T.DateType: "date",
        T.TimestampType: "timestamp",
        T.TimestampNTZType: "timestamp",
        T.BinaryType: "binary",
    }
    for cls, name in simple.items():
        if isinstance(dtype, cls):
            return name
    if isinstance(dtype, T.DecimalType):
        return f"decimal({dtype.precision},{dtype.scale})"
    if isinstance(dtype, T.ArrayType):
        return f"array<{athena_type(dtype.elementType)}>"
    if isinstance(dtype, T.MapType):
        return f"map<{athena_type(dtype.keyType)},{athena_type(dtype.valueType)}>"
    if isinstance(dtype, T.StructType):
        inner = ",".join(f"{f.name}:{athena_type(f.dataType)}" for f in dtype.fields)
        return f"struct<{inner}>"
    return "string"


def update_table(
    database: str,
    table_name: str,
    *,
    location: str,
    fmt: str,
    schema: T.StructType,
    partition_keys: list[str],
    partitions: list[tuple[str, ...]],
    update_behavior: str,
) -> None:
    """Create or update a table and add ``partitions`` (values in partition key order).

    A partition is stored as its values joined by ``/`` (with one key: the value, as the
    crawler stores ``tenant_id`` partitions).
    """
    db = check_name("database", database)
    name = check_name("table", table_name)
    if update_behavior not in ("UPDATE_IN_DATABASE", "LOG"):
        raise ValueError(f"updateBehavior {update_behavior!r} is not UPDATE_IN_DATABASE or LOG")
    catalog = _catalog()
    existing = catalog.get(db, name)
    types = {f.name: athena_type(f.dataType) for f in schema.fields}
    columns = tuple(
        CatalogColumn(f.name, types[f.name]) for f in schema.fields if f.name not in partition_keys
    )
    keys = tuple(CatalogColumn(k, types.get(k, "string")) for k in partition_keys)
    values = {"/".join(p) for p in partitions}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if existing is None:
        table = CatalogTable(
            database=db,
            name=name,
            format=fmt,
            location=location,
            columns=columns,
            partition_keys=keys,
            partitions=tuple(sorted(values)),
            files=0,
            crawled_at=now,
            tenant_column=TENANT_COLUMN if partition_keys == [TENANT_COLUMN] else None,
        )
    else:
        if existing.partition_keys and [k.name for k in existing.partition_keys] != partition_keys:
            raise ValueError(
                f"{db}.{name} is partitioned by {[k.name for k in existing.partition_keys]}, "
                f"not {partition_keys}; write with the table's partition keys"
            )
        table = replace(
            existing,
            partitions=tuple(sorted(set(existing.partitions) | values)),
            crawled_at=now,
        )
        if update_behavior == "UPDATE_IN_DATABASE":
            table = replace(table, columns=columns, partition_keys=keys or existing.partition_keys)
    catalog.save(table)
