"""Tenant lifecycle in the lake: the offboarded tenants, kept out of silver and erased from it.

Onboarding needs nothing here: a new tenant's rows flow through bronze into silver and gold like
any other tenant's, in the buckets of ``bucket(N, tenant_id)`` that already exist, with no
deploy, no new partition to register and no new filter to create beyond the tenant's own
principal (Lake Formation's row filter names the tenant's id).

Offboarding erases a tenant's rows from every silver, history and gold table (one Iceberg
``delete`` commit per table) and records the tenant in the lake's **offboarded list**
(``<silver>/_offboarded_tenants.json``). Bronze keeps the tenant's rows (it is the replayable
history of the source), so every silver run, incremental or full refresh, drops the rows of
the listed tenants while it reads bronze: a later full refresh cannot bring the tenant back.
The list is written before anything is erased, so a run interrupted halfway leaves a tenant that
is filtered out and erased again by the next attempt, never one that comes back. It is written
whole or not at all (:func:`lakehouse_glue.fs.write_text`), and a list that cannot be read is an
error naming the file, never an empty list: an empty list would let a full refresh bring every
offboarded tenant back from bronze.

:func:`offboard` is the whole of offboarding; ``lakehouse tenants offboard`` (locally) and the
Glue job ``offboard_tenant`` (on AWS) are thin callers that hold the lake's writer lock around it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue import fs
from lakehouse_glue import iceberg as ice
from lakehouse_glue.bronze import SOURCE_FILE, inspect_headers, read_files, table_path
from lakehouse_glue.maintenance import lake_tables, sort_order_sql
from lakehouse_glue.model import Entity, load_bronze_contract, load_declaration
from lakehouse_glue.quality import Cleaner

OFFBOARDED_LIST = "_offboarded_tenants.json"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class TenantIdError(ValueError):
    """A tenant id that is not a lower-case UUID (never put into SQL)."""


class OffboardedListError(ValueError):
    """The offboarded list exists but is not one: damaged, never to be read as empty."""


def check_tenant_id(tenant_id: str) -> str:
    """``tenant_id`` if it is a lower-case UUID (the source's tenant ids), else an error."""
    if not _UUID.fullmatch(tenant_id):
        raise TenantIdError(f"a tenant id is a lower-case UUID, got {tenant_id!r}")
    return tenant_id


def offboarded_list_path(silver_path: str) -> str:
    return f"{silver_path.rstrip('/')}/{OFFBOARDED_LIST}"


@dataclass(frozen=True)
class Offboarded:
    """One entry of the offboarded list."""

    tenant_id: str
    slug: str
    offboarded_at: str  # ISO 8601, UTC


def offboarded(spark: SparkSession, silver_path: str) -> dict[str, Offboarded]:
    """The lake's offboarded tenants by id (empty when none was ever offboarded).

    Raises:
        OffboardedListError: the list is not what :func:`record_offboarded` writes (naming
            the file). An empty list instead would let silver take every offboarded tenant
            back from bronze.
    """
    path = offboarded_list_path(silver_path)
    try:
        text = fs.read_text(spark, path)  # a cut multi-byte character is a ValueError too
        if text is None:
            return {}
        raw: Any = json.loads(text)
        entries = [Offboarded(**e) for e in raw["tenants"]]
        out = {check_tenant_id(e.tenant_id): e for e in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise OffboardedListError(
            f"{path} is not a list of offboarded tenants ({exc}); restore it (on S3 from the "
            "object's earlier versions) before any silver run: read as empty it would let "
            "silver take the offboarded tenants back from bronze"
        ) from exc
    return out


def record_offboarded(spark: SparkSession, silver_path: str, tenant_id: str, slug: str) -> None:
    """Add a tenant to the offboarded list (kept if it is there already)."""
    known = offboarded(spark, silver_path)
    if check_tenant_id(tenant_id) not in known:
        known[tenant_id] = Offboarded(tenant_id, slug, datetime.now(UTC).isoformat())
    body = {"tenants": [vars(e) for e in sorted(known.values(), key=lambda e: e.tenant_id)]}
    fs.write_text(spark, offboarded_list_path(silver_path), json.dumps(body, indent=1))


def without_tenants(df: DataFrame, column: str, tenant_ids: Iterable[str]) -> DataFrame:
    """``df`` without the rows of ``tenant_ids`` (rows with no tenant are kept for the checks)."""
    ids = sorted(tenant_ids)
    if not ids:
        return df
    return df.where(F.col(column).isNull() | ~F.col(column).isin(ids))


def dropping_offboarded(
    clean: Cleaner | None, entity: Entity, tenant_ids: Iterable[str]
) -> Cleaner | None:
    """The silver job's cleaning step, preceded by dropping the offboarded tenants' rows."""
    ids = sorted(tenant_ids)
    if not ids:
        return clean

    def step(typed: DataFrame) -> DataFrame:
        kept = without_tenants(typed, entity.tenant_column, ids)
        return kept if clean is None else clean(kept)

    return step


def erase(spark: SparkSession, table: ice.Table, tenant_id: str) -> int:
    """Delete every row of ``tenant_id`` from ``table`` in one commit; returns the rows deleted.

    Copy-on-write: the files of the tenant's bucket that hold its rows are written again
    without them; other buckets' files are not touched. Older snapshots still reference the
    old files until they are expired.

    The silver ``MERGE`` writes merge-on-read: a version it replaced stays in its data file,
    hidden by a position delete. A file whose only rows of the tenant are such hidden ones
    matches no row of the ``delete``, so it would stay live holding them; the files of the
    tenant that have deletes are therefore first rewritten without their deleted rows (one
    ``rewrite_data_files`` commit, the rows visible before and after the same).
    """
    tenant = check_tenant_id(tenant_id)
    before = ice.current_snapshot_id(spark, table)
    if before is not None:
        name = f"{table.namespace}.{table.name}"
        spark.sql(
            f"call `{table.catalog}`.system.rewrite_data_files(table => '{name}', "
            f"strategy => 'sort', sort_order => '{sort_order_sql(table)}', "
            f"where => \"`{ice.TENANT_COLUMN}` = '{tenant}'\", "
            "options => map('delete-file-threshold', '1', 'remove-dangling-deletes', 'true'))"
        )
        before = ice.current_snapshot_id(spark, table)
    spark.sql(f"delete from {table.ident} where `{ice.TENANT_COLUMN}` = '{tenant}'")
    after = ice.current_snapshot_id(spark, table)
    if after == before:
        return 0
    return int(ice.snapshot_summary(spark, table, after).get("deleted-records", 0))


def expire_all_but_current(spark: SparkSession, table: ice.Table) -> int:
    """Expire every snapshot but the current one (and delete the files only they reference).

    Time travel then cannot reach an erased tenant's rows. Returns the data files deleted.
    """
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    name = f"{table.namespace}.{table.name}"
    row = spark.sql(
        f"call `{table.catalog}`.system.expire_snapshots(table => '{name}', "
        f"older_than => timestamp '{now}', retain_last => 1)"
    ).first()
    return 0 if row is None else int(row["deleted_data_files_count"])


class UnknownTenantError(LookupError):
    """The tenant to offboard is named by nothing in silver.tenants and the offboarded list, or
    its name fits several tenants."""


def resolve(
    spark: SparkSession, catalog: str, silver_path: str, wanted: str
) -> tuple[str, str] | None:
    """``(id, slug)`` of the tenant ``wanted`` names (its slug or id), from silver.tenants or the
    offboarded list; ``None`` when neither knows it.

    Raises:
        UnknownTenantError: ``wanted`` names several tenants (a slug that is another's id).
        TenantIdError: silver.tenants holds a bad id for the tenant.
    """
    table = ice.silver_table(catalog, silver_path, load_declaration().tenant_entity)
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
            for e in offboarded(spark, silver_path).values()
            if wanted in (e.slug, e.tenant_id) or wanted.lower() == e.tenant_id
        ]
    if not rows:
        return None
    if len(rows) > 1:
        raise UnknownTenantError(f"{wanted!r} names {len(rows)} tenants; give the tenant's id")
    tenant_id, slug = rows[0]
    return check_tenant_id(tenant_id.lower()), slug


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

    def as_json(self) -> dict[str, Any]:
        """The result as the Glue job logs and records it."""
        return {
            "tenant_id": self.tenant_id,
            "slug": self.slug,
            "deleted": self.deleted,
            "expired_files": self.expired_files,
            "bronze": [vars(f) for f in self.bronze],
        }


def bronze_holding(spark: SparkSession, bronze_path: str, tenant_id: str) -> list[BronzeFile]:
    """The bronze files that hold rows of ``tenant_id``, with its and all rows per file."""
    contract = load_bronze_contract()
    out: list[BronzeFile] = []
    for entity in load_declaration().entities:
        folder = table_path(bronze_path, entity, contract)
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
    spark: SparkSession,
    *,
    catalog: str,
    bronze_path: str,
    silver_path: str,
    gold_path: str,
    tenant_id: str,
    slug: str,
    expire_snapshots: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> OffboardResult:
    """Erase the tenant ``tenant_id`` from every silver, history and gold table, for good.

    In order: the tenant joins the offboarded list (before any row is deleted, so that every
    later silver run, a full refresh included, drops its rows from bronze); every table that
    exists loses the tenant's rows in one Iceberg ``delete`` commit (copy-on-write: only files
    of the tenant's bucket that hold its rows are rewritten, other tenants' rows unchanged);
    with ``expire_snapshots`` every snapshot but the current one is expired and the files only
    they referenced deleted, so time travel cannot reach the rows either (otherwise snapshot
    retention does it later). Bronze is read, never changed: the result lists the files that
    still hold the tenant's rows. The caller holds the lake's writer lock.
    """
    step = on_step or (lambda _: None)
    result = OffboardResult(check_tenant_id(tenant_id), slug)
    record_offboarded(spark, silver_path, tenant_id, slug)
    tables = lake_tables(spark, catalog, silver_path, gold_path)
    for table in tables:
        step(f"erasing from {table.namespace}.{table.name}")
        result.deleted[f"{table.namespace}.{table.name}"] = erase(spark, table, tenant_id)
    if expire_snapshots:
        result.expired_files = {}
        for table in tables:
            step(f"expiring snapshots of {table.namespace}.{table.name}")
            name = f"{table.namespace}.{table.name}"
            result.expired_files[name] = expire_all_but_current(spark, table)
    step("listing bronze")
    result.bronze = bronze_holding(spark, bronze_path, tenant_id)
    return result


def offboarding_report_path(reports_path: str, tenant_id: str) -> str:
    """Where the Glue job ``offboard_tenant`` records what it did for a tenant."""
    return f"{reports_path.rstrip('/')}/offboarding/{check_tenant_id(tenant_id)}.json"


def offboard_by_id(
    spark: SparkSession,
    *,
    catalog: str,
    bronze_path: str,
    silver_path: str,
    gold_path: str,
    reports_path: str,
    tenant_id: str,
    expire_snapshots: bool = False,
) -> OffboardResult:
    """The Glue job's offboarding: the tenant named by its id, the result recorded as JSON.

    Raises:
        TenantIdError: ``tenant_id`` is not a UUID (checked before anything is read).
        UnknownTenantError: neither silver.tenants nor the offboarded list knows the id (a
            mistyped id offboards nothing, rather than recording a tenant that never was).
    """
    wanted = check_tenant_id(tenant_id.strip().lower())
    found = resolve(spark, catalog, silver_path, wanted)
    if found is None:
        raise UnknownTenantError(
            f"no tenant with id {wanted!r} in silver.tenants of {silver_path} nor in its "
            "offboarded list; list the tenants with Athena: select id, slug from silver.tenants"
        )
    result = offboard(
        spark,
        catalog=catalog,
        bronze_path=bronze_path,
        silver_path=silver_path,
        gold_path=gold_path,
        tenant_id=found[0],
        slug=found[1],
        expire_snapshots=expire_snapshots,
    )
    fs.write_text(
        spark,
        offboarding_report_path(reports_path, result.tenant_id),
        json.dumps(
            {**result.as_json(), "finished_at": datetime.now(UTC).isoformat()},
            indent=1,
            sort_keys=True,
        ),
    )
    return result
