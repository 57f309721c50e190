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
the result lists the bronze files that still hold the tenant's rows. The work itself is
:func:`lakehouse_glue.tenants.offboard`, which the Glue job ``offboard_tenant`` runs on AWS.
"""

from __future__ import annotations

from collections.abc import Callable

from lakehouse_glue import tenants as lifecycle
from lakehouse_glue.tenants import BronzeFile, OffboardResult
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.errors import LakehouseError
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.storage.lock import writer_lock

__all__ = ["BronzeFile", "OffboardResult", "check_tenant_argument", "offboard"]

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
        LakehouseError: the argument names no tenant, or names several; the offboarded list
            cannot be read (nothing is erased then).
    """
    from lakehouse.pipeline.run import check_layout

    wanted = check_tenant_argument(tenant)
    check_layout(settings)
    # Nested in the CLI's own lock (a level more); taken here for every other caller.
    with writer_lock(settings, "tenants offboard"):
        catalog = register_lake_catalog(spark, settings)
        try:
            found = lifecycle.resolve(spark, catalog, settings.silver_uri, wanted)
        except (
            lifecycle.UnknownTenantError,
            lifecycle.TenantIdError,
            lifecycle.OffboardedListError,
        ) as exc:
            raise LakehouseError(str(exc)) from exc
        if found is None:
            raise LakehouseError(
                f"no tenant with slug or id {wanted!r} in silver.tenants of {settings.lake_uri}; "
                'list them with `lakehouse athena "select id, slug from silver.tenants"`'
            )
        tenant_id, slug = found
        try:
            return lifecycle.offboard(
                spark,
                catalog=catalog,
                bronze_path=settings.bronze_uri,
                silver_path=settings.silver_uri,
                gold_path=settings.gold_uri,
                tenant_id=tenant_id,
                slug=slug,
                expire_snapshots=expire_snapshots,
                on_step=on_step,
            )
        except lifecycle.OffboardedListError as exc:
            raise LakehouseError(str(exc)) from exc
