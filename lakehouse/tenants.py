"""``lakehouse tenants offboard``: erase a tenant from silver, history and gold.

What it guarantees, in order:

1. The tenant is added to the lake's offboarded list (:mod:`lakehouse_glue.tenants`) before any
   row is deleted, so every later silver run, a ``--full-refresh`` included, drops its rows
   while reading bronze.
2. Every silver, history and gold table that exists loses the tenant's rows in one Iceberg
   ``delete`` commit per table (copy-on-write: only files of the tenant's bucket that hold its
   rows are rewritten). Other tenants' rows are unchanged.
3. With ``expire_snapshots``, every snapshot but the current one is expired and the files only
   they referenced are deleted, so time travel cannot reach the rows either. Without it the
   older snapshots keep the rows until ``lakehouse maintain`` expires them (7 days by default);
   on AWS the table optimizers' snapshot retention does the same.

It does not touch bronze (the replayable copy of the source, never expired on AWS: see
``terraform-infra/modules/storage``) or the source database (the application's to clean up);
:func:`bronze_holding` lists the bronze files that still hold the tenant's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lakehouse_glue import fs
from lakehouse_glue import iceberg as ice
from lakehouse_glue import tenants as lifecycle
from lakehouse_glue.bronze import SOURCE_FILE, inspect_headers, read_files, table_path
from lakehouse_glue.model import load_bronze_contract, load_declaration
from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse.config import Settings
from lakehouse.errors import LakehouseError
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.storage.lock import writer_lock

#: What ``--tenant`` may be before anything reads the lake: a UUID or a slug.
_MAX_TENANT_ARGUMENT = 100


def check_tenant_argument(tenant: str) -> str:
    """The ``--tenant`` value, stripped, if it can name a tenant (a slug or an id), else an error.

    A slug is letters, digits, ``-`` and ``_`` (Django's ``SlugField``); an id is a UUID. Nothing
    else is let through, so the value never needs quoting anywhere.
    """
    wanted = tenant.strip()
    if not wanted:
        raise LakehouseError(
            "--tenant is blank; give the slug or id of the tenant to offboard (a blank value "
            "never means every tenant)"
        )
    ok = all(c.isascii() and (c.isalnum() or c in "-_") for c in wanted)
    if not ok or len(wanted) > _MAX_TENANT_ARGUMENT:
        raise LakehouseError(
            f"--tenant {tenant[:60]!r} is neither a tenant slug (letters, digits, - and _) nor "
            "a tenant id (a UUID); list them with "
            '`lakehouse athena "select id, slug from silver.tenants"`'
        )
    return wanted


@dataclass(frozen=True)
class BronzeFile:
    """A bronze file that holds rows of the offboarded tenant."""

    uri: str
    tenant_rows: int
    rows: int


@dataclass
class OffboardResult:
    """What offboarding did: rows deleted per table, snapshots expired, bronze left."""

    tenant_id: str
    slug: str
    deleted: dict[str, int] = field(default_factory=dict)
    expired_files: dict[str, int] | None = None
    bronze: list[BronzeFile] = field(default_factory=list)


def _resolve(spark: SparkSession, catalog: str, settings: Settings, wanted: str) -> tuple[str, str]:
    """``(id, slug)`` of the tenant named by slug or id, from silver.tenants or the list."""
    table = ice.silver_table(catalog, settings.silver_uri, load_declaration().tenant_entity)
    rows: list[tuple[str, str]] = []
    if ice.exists(spark, table):
        found = (
            spark.table(table.ident)
            .where((F.col("slug") == F.lit(wanted)) | (F.col("id") == F.lit(wanted.lower())))
            .select("id", "slug")
            .distinct()
            .collect()
        )
        rows = [(str(r["id"]), str(r["slug"])) for r in found]
    if not rows:
        rows = [
            (e.tenant_id, e.slug)
            for e in lifecycle.offboarded(spark, settings.silver_uri).values()
            if wanted in (e.slug, e.tenant_id) or wanted.lower() == e.tenant_id
        ]
    if not rows:
        raise LakehouseError(
            f"no tenant with slug or id {wanted!r} in silver.tenants of {settings.lake_uri}; "
            'list them with `lakehouse athena "select id, slug from silver.tenants"`'
        )
    if len(rows) > 1:
        raise LakehouseError(f"{wanted!r} names {len(rows)} tenants; give the tenant's id")
    tenant_id, slug = rows[0]
    try:
        return lifecycle.check_tenant_id(tenant_id.lower()), slug
    except lifecycle.TenantIdError as exc:
        raise LakehouseError(f"tenant {slug!r} in silver.tenants has a bad id: {exc}") from exc


def lake_tables(spark: SparkSession, settings: Settings) -> list[ice.Table]:
    """Every silver, history and gold table of the lake that exists."""
    from lakehouse.maintain import lake_tables as existing

    return existing(spark, settings)


def bronze_holding(spark: SparkSession, settings: Settings, tenant_id: str) -> list[BronzeFile]:
    """The bronze files that hold rows of ``tenant_id``, with its and all rows per file."""
    contract = load_bronze_contract()
    out: list[BronzeFile] = []
    for entity in load_declaration().entities:
        folder = table_path(settings.bronze_uri, entity, contract)
        if not fs.exists(spark, folder):
            continue
        uris = [f.uri for f in fs.list_files(spark, folder) if f.uri.endswith(contract.file_suffix)]
        good = [f for f in inspect_headers(spark, uris, contract.file_suffix) if f.ok]
        batch = read_files(spark, good, entity, contract)
        if batch.rows is None:
            continue
        mine = F.col(entity.tenant_column) == F.lit(tenant_id)
        counted = (
            batch.rows.groupBy(SOURCE_FILE)
            .agg(F.sum(F.when(mine, 1).otherwise(0)).alias("mine"), F.count(F.lit(1)).alias("n"))
            .where(F.col("mine") > 0)
            .collect()
        )
        out += [BronzeFile(str(r[SOURCE_FILE]), int(r["mine"]), int(r["n"])) for r in counted]
    return sorted(out, key=lambda f: f.uri)


def offboard(
    settings: Settings,
    spark: SparkSession,
    tenant: str,
    *,
    expire_snapshots: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> OffboardResult:
    """Erase ``tenant`` (slug or id) from every silver, history and gold table.

    Raises:
        LakehouseError: the argument names no tenant, or names several.
    """
    from lakehouse.pipeline.run import check_layout

    wanted = check_tenant_argument(tenant)
    check_layout(settings)
    step = on_step or (lambda _: None)
    # Nested in the CLI's own lock (a level more); taken here for every other caller.
    with writer_lock(settings, "tenants offboard"):
        catalog = register_lake_catalog(spark, settings)
        tenant_id, slug = _resolve(spark, catalog, settings, wanted)
        result = OffboardResult(tenant_id, slug)
        lifecycle.record_offboarded(spark, settings.silver_uri, tenant_id, slug)
        tables = lake_tables(spark, settings)
        for table in tables:
            step(f"erasing from {table.namespace}.{table.name}")
            result.deleted[f"{table.namespace}.{table.name}"] = lifecycle.erase(
                spark, table, tenant_id
            )
        if expire_snapshots:
            result.expired_files = {}
            for table in tables:
                step(f"expiring snapshots of {table.namespace}.{table.name}")
                name = f"{table.namespace}.{table.name}"
                result.expired_files[name] = lifecycle.expire_all_but_current(spark, table)
        step("listing bronze")
        result.bronze = bronze_holding(spark, settings, tenant_id)
    return result
