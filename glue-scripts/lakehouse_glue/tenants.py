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
is filtered out and erased again by the next attempt, never one that comes back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue import fs
from lakehouse_glue import iceberg as ice
from lakehouse_glue.model import Entity
from lakehouse_glue.quality import Cleaner

OFFBOARDED_LIST = "_offboarded_tenants.json"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class TenantIdError(ValueError):
    """A tenant id that is not a lower-case UUID (never put into SQL)."""


def check_tenant_id(tenant_id: str) -> str:
    """``tenant_id`` if it is a lower-case UUID (the source's tenant ids), else an error."""
    if not _UUID.match(tenant_id):
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
        ValueError: the list is not what :func:`record_offboarded` writes (naming the file).
    """
    path = offboarded_list_path(silver_path)
    text = fs.read_text(spark, path)
    if text is None:
        return {}
    try:
        raw: Any = json.loads(text)
        entries = [Offboarded(**e) for e in raw["tenants"]]
        out = {check_tenant_id(e.tenant_id): e for e in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{path} is not a list of offboarded tenants ({exc}); restore it from the bucket's "
            "versions: silver would otherwise take offboarded tenants back from bronze"
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
    """
    before = ice.current_snapshot_id(spark, table)
    spark.sql(
        f"delete from {table.ident} where `{ice.TENANT_COLUMN}` = '{check_tenant_id(tenant_id)}'"
    )
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
