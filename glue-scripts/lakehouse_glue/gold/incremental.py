"""Incremental gold: what a mart was built from, and which tenants changed in silver since.

A gold commit records in its snapshot summary (:func:`lakehouse_glue.iceberg.
with_snapshot_properties`) the Iceberg snapshot id of every silver input it read and the code it
ran (:data:`INPUTS`, :data:`CODE`). The next run of the job compares that record with the
inputs' current snapshots:

- **up to date**: the same snapshots and code; nothing is written;
- **tenants**: every input's recorded snapshot is an ancestor of its current one: the tenants
  whose rows changed in between (:func:`changed_tenants`) are recomputed and replaced, no
  others (a mart declared ``per_tenant`` in ``gold.json`` only, larger than ``small_mart``);
- **full**: anything else (no record, new code, an input replaced or its snapshots expired, a
  mart that is not per tenant, ``--full_refresh``, a small mart): the whole mart is recomputed
  and replaced. The commit records why (:data:`REASON`).

**A small mart is rebuilt whole.** Gold marts are small next to their inputs (a row per tenant,
day or customer); finding the changed tenants, reading their silver rows and merging them into
the mart costs more than recomputing and overwriting a mart of a few thousand rows (more so
with thousands of tenants, each a few rows). So a mart whose current snapshot holds at most
``gold.json`` ``small_mart`` rows and bytes (the snapshot summary's ``total-records`` and
``total-files-size``, read from metadata) is rebuilt whole when an input changed; a larger mart
replaces just the changed tenants, keeping the work proportional to the change.

A record that lags behind the table (a commit whose record is older than its data cannot
happen: both are one commit) would only cost work: recomputing a tenant whose inputs did not
change writes the same rows again.

**Which tenants changed** is read from the silver table's own snapshots between the two ids,
never from its rows at large: each snapshot names the data and delete files it added and
removed. ``replace`` snapshots (compaction, rewriting delete files) change no row and are
skipped. A data file added or removed holds rows of the tenants between its lower and upper
bound of ``tenant_id`` (exact, ``write.metadata.metrics.column.tenant_id = full``); when the
bounds differ (a bucket holds several tenants), the file's ``tenant_id`` column is read. A
position delete file (merge-on-read) names (data file, row position) pairs; the tenant of each
deleted row is the data file's ``tenant_id`` at that position, read from the data file
(``_metadata.row_index``, the position Iceberg counts in). The answer is exact, deletes
included, and it costs the files a change touched, not the table.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue import iceberg as ice
from lakehouse_glue.gold.marts import SmallMart, mart, small_mart
from lakehouse_glue.iceberg import TENANT_COLUMN

#: Summary properties of a gold snapshot: the silver inputs it was built from (JSON object,
#: entity -> snapshot id or null for a table with no data), the code it ran, how it was built
#: (``full`` or ``tenants``) and, for ``tenants``, how many tenants it replaced.
INPUTS = "lakehouse.gold.inputs"
CODE = "lakehouse.gold.code"
MODE = "lakehouse.gold.mode"
TENANTS_REPLACED = "lakehouse.gold.tenants-replaced"
#: Why a ``full`` build was full (see :class:`Plan`).
REASON = "lakehouse.gold.reason"

#: How far back a gold table's history is searched for its last built snapshot (past commits
#: without a record: offboarding a tenant, compaction).
_RECORD_LOOKBACK = 50

UP_TO_DATE, TENANTS, FULL = "up_to_date", "tenants", "full"

#: Why a build is ``full``: asked for, no usable record, new code, a mart that is not per
#: tenant, an input whose history cannot say which tenants changed, a small mart, or a change
#: that touches every file of the mart anyway.
(
    ASKED,
    NO_RECORD,
    NEW_CODE,
    NOT_PER_TENANT,
    HISTORY,
    SMALL,
    EVERY_FILE,
) = ("full_refresh", "no_record", "new_code", "not_per_tenant", "history", "small", "every_file")


def _files(root: Traversable, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if not entry.name.startswith(("_", ".")):
                yield from _files(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith((".py", ".json")):
            yield f"{prefix}{entry.name}", entry.read_bytes()


def code_fingerprint(mart_name: str) -> str:
    """The code a mart is built with: the shared library (declarations included) and its name.

    Read through ``importlib.resources``, so it is the same from a folder and from the zip Glue
    ships the library in. Any change to the library rebuilds every mart once, in full.
    """
    digest = hashlib.sha256(mart_name.encode())
    for name, data in _files(resources.files("lakehouse_glue")):
        digest.update(f"{name} {hashlib.sha256(data).hexdigest()}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Plan:
    """How one run builds a mart: from which snapshots, and which tenants (None: all)."""

    mode: str
    #: Entity -> the snapshot id to read (None: the table does not exist or has no data).
    inputs: dict[str, int | None]
    code: str
    tenants: frozenset[str] | None = None
    #: Why a ``full`` plan is full (one of :data:`ASKED` ... :data:`EVERY_FILE`).
    reason: str | None = None

    def summary(self) -> dict[str, str]:
        """The snapshot properties the mart's commit records."""
        props = {INPUTS: json.dumps(self.inputs, sort_keys=True), CODE: self.code, MODE: self.mode}
        if self.tenants is not None:
            props[TENANTS_REPLACED] = str(len(self.tenants))
        if self.reason is not None:
            props[REASON] = self.reason
        return props


def built_from(spark: SparkSession, table: ice.Table) -> dict[str, str] | None:
    """The record of the mart's last built snapshot (its summary); ``None`` without one."""
    if not ice.exists(spark, table):
        return None
    loaded = ice._loaded(spark, table)
    snapshot = loaded.currentSnapshot()
    for _ in range(_RECORD_LOOKBACK):
        if snapshot is None:
            return None
        summary = {str(k): str(v) for k, v in dict(snapshot.summary()).items()}
        if INPUTS in summary and CODE in summary:
            return summary
        parent = snapshot.parentId()
        snapshot = None if parent is None else loaded.snapshot(parent)
    return None


def plan(
    spark: SparkSession,
    catalog: str,
    silver_path: str,
    gold_path: str,
    mart_name: str,
    *,
    full_refresh: bool,
    small: SmallMart | None = None,
) -> Plan:
    """Decide how to build ``mart_name`` now (see the module docstring).

    Args:
        small: the size up to which a changed mart is rebuilt whole (default: the declared
            ``gold.json`` ``small_mart``).
    """
    declared = mart(mart_name)
    inputs = {
        e: ice.current_snapshot_id(spark, ice.silver_table(catalog, silver_path, e))
        for e in declared.depends_on
    }
    code = code_fingerprint(mart_name)
    gold = ice.gold_table(catalog, gold_path, mart_name)

    def full(reason: str) -> Plan:
        return Plan(FULL, inputs, code, reason=reason)

    if full_refresh:
        return full(ASKED)
    record = built_from(spark, gold)
    if record is None:
        return full(NO_RECORD)
    if record[CODE] != code:
        return full(NEW_CODE)
    before: dict[str, int | None] = json.loads(record[INPUTS])
    if before == inputs:
        return Plan(UP_TO_DATE, inputs, code)
    if not declared.per_tenant or set(before) != set(inputs):
        return full(NOT_PER_TENANT if not declared.per_tenant else NEW_CODE)
    if is_small(spark, gold, small if small is not None else small_mart()):
        return full(SMALL)
    tenants = _changed_tenants(spark, catalog, silver_path, gold, before, inputs)
    if isinstance(tenants, str):
        return full(tenants)
    return Plan(TENANTS, inputs, code, frozenset(tenants))


def _changed_tenants(
    spark: SparkSession,
    catalog: str,
    silver_path: str,
    gold: ice.Table,
    before: dict[str, int | None],
    inputs: dict[str, int | None],
) -> set[str] | str:
    """The tenants whose inputs changed from ``before`` to ``inputs``, or why the mart must
    be rebuilt whole instead (:data:`HISTORY`, :data:`EVERY_FILE`)."""
    walks: list[_Touched] = []
    for entity, now in inputs.items():
        walk = _walk(spark, ice.silver_table(catalog, silver_path, entity), before[entity], now)
        if walk is None:
            return HISTORY
        walks.append(walk)
    # Replacing the changed tenants may rewrite every file of the mart (with 8 tenants, a
    # change to all of them): a full rebuild then writes the same files with less work. Asked
    # first of the tenants the files' bounds name, before any file is read.
    known = set().union(*(w.tenants for w in walks))
    if known and _every_file_holds_one(spark, gold, known):
        return EVERY_FILE
    tenants: set[str] = set()
    for walk in walks:
        changed = _resolve(spark, walk)
        if changed is None:
            return HISTORY
        tenants |= changed
    if tenants != known and _every_file_holds_one(spark, gold, tenants):
        return EVERY_FILE
    return tenants


def is_small(spark: SparkSession, table: ice.Table, limits: SmallMart) -> bool:
    """Whether the mart's current snapshot is within ``limits``, from its summary alone.

    ``total-records`` and ``total-files-size`` are kept by Iceberg in every snapshot's summary
    (the table's live rows and data bytes after that commit); a snapshot without them is not
    known to be small.
    """
    summary = ice.snapshot_summary(spark, table, ice.current_snapshot_id(spark, table))
    rows, size = summary.get("total-records"), summary.get("total-files-size")
    if rows is None or size is None:
        return False
    return limits.holds(int(rows), int(size))


def _every_file_holds_one(spark: SparkSession, table: ice.Table, tenants: set[str]) -> bool:
    """Whether every data file of the mart may hold a row of ``tenants``: a file of the bucket
    spec holds only its bucket's tenants, and only those between its bounds."""
    loaded = ice._loaded(spark, table)
    snapshot = loaded.currentSnapshot()
    if snapshot is None:
        return True
    bounds = _Bounds(spark, loaded)
    jvm = bounds.jvm
    buckets = ice.LAYOUT.tenant_buckets
    by_bucket: dict[int, list[str]] = {}
    for tenant in tenants:
        # Iceberg's bucket transform: murmur3 of the UTF-8 string, sign bit cleared, modulo N.
        bucket = (int(jvm.org.apache.iceberg.util.BucketUtil.hash(tenant)) & 0x7FFFFFFF) % buckets
        by_bucket.setdefault(bucket, []).append(tenant)
    for held in by_bucket.values():
        held.sort()
    bucket_spec = ice.has_tenant_buckets(loaded)
    spec_id = int(loaded.spec().specId())
    integer = jvm.java.lang.Class.forName("java.lang.Integer")
    # A scan drops the files' column stats unless asked to keep them.
    scan = loaded.newScan().useSnapshot(snapshot.snapshotId()).includeColumnStats()
    for task in _iterate(scan.planFiles()):
        data_file = task.file()
        candidates = sorted(tenants)
        if bucket_spec and int(data_file.specId()) == spec_id:
            candidates = by_bucket.get(int(data_file.partition().get(0, integer)), [])
        lower, upper = bounds.range(data_file)
        if lower is None or upper is None:
            if not candidates:
                return False
            continue  # bounds unknown: the file may hold any tenant of its bucket
        at = bisect.bisect_left(candidates, lower)
        if at == len(candidates) or candidates[at] > upper:
            return False
    return True


def _iterate(java_iterable: Any) -> Iterator[Any]:
    iterator = java_iterable.iterator()
    while iterator.hasNext():
        yield iterator.next()


class _Bounds:
    """The exact ``tenant_id`` of a file whose rows all belong to one tenant, read from its
    lower and upper bounds."""

    def __init__(self, spark: SparkSession, loaded: Any) -> None:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        self.jvm = jvm
        self.field_id = int(loaded.schema().findField(TENANT_COLUMN).fieldId())
        self.string = jvm.org.apache.iceberg.types.Types.StringType.get()

    def _bound(self, bounds: Any) -> str | None:
        buffer = None if bounds is None else bounds.get(self.field_id)
        if buffer is None:
            return None
        conversions = self.jvm.org.apache.iceberg.types.Conversions
        return str(conversions.fromByteBuffer(self.string, buffer).toString())

    def range(self, content_file: Any) -> tuple[str | None, str | None]:
        """The lowest and highest tenant of the file (None: not known)."""
        return self._bound(content_file.lowerBounds()), self._bound(content_file.upperBounds())

    def single_tenant(self, content_file: Any) -> str | None:
        nulls = content_file.nullValueCounts()
        if nulls is not None and int(nulls.getOrDefault(self.field_id, 0)) > 0:
            return None
        lower, upper = self.range(content_file)
        if lower is None or lower != upper:
            return None
        return lower


def _ancestry(loaded: Any, since: int | None, until: int) -> list[Any] | None:
    """The snapshots after ``since`` up to ``until``; None when ``since`` is not an ancestor."""
    chain: list[Any] = []
    snapshot = loaded.snapshot(until)
    while snapshot is not None and (since is None or int(snapshot.snapshotId()) != since):
        chain.append(snapshot)
        parent = snapshot.parentId()
        snapshot = None if parent is None else loaded.snapshot(parent)
    if snapshot is None and since is not None:
        return None  # since was replaced away (a full rebuild) or its snapshots expired
    return chain


@dataclass
class _Touched:
    """What the snapshots of a range touched: tenants known from bounds, files to read."""

    tenants: set[str]
    #: Data files holding several tenants: their tenant column is read.
    whole: set[str]
    #: Position delete files, the data files they reference, and how many rows they delete.
    deletes: set[str]
    referenced: set[str]
    positions: int = 0

    def add_data_file(self, bounds: _Bounds, data_file: Any) -> None:
        tenant = bounds.single_tenant(data_file)
        if tenant is None:
            self.whole.add(str(data_file.location()))
        else:
            self.tenants.add(tenant)

    def add_delete_file(self, util: Any, delete_file: Any) -> bool:
        """False when the file cannot be read for tenants (the range needs a full rebuild)."""
        if str(delete_file.content().toString()) != "POSITION_DELETES":
            return False  # equality deletes: no writer of this lake makes them
        target = util.referencedDataFileLocation(delete_file)
        if target is None:
            return False  # a delete file spanning data files (partition-scoped)
        location = str(delete_file.location())
        if location not in self.deletes:
            self.deletes.add(location)
            self.positions += int(delete_file.recordCount())
            self.referenced.add(str(target))
        return True


def changed_tenants(
    spark: SparkSession, table: ice.Table, since: int | None, until: int | None
) -> set[str] | None:
    """The tenants with a row added, changed or deleted in ``table`` after ``since`` up to
    ``until`` (snapshot ids; None: no data); None when that cannot be read from the table's
    history, which the caller answers with a full rebuild."""
    walk = _walk(spark, table, since, until)
    return None if walk is None else _resolve(spark, walk)


def _walk(
    spark: SparkSession, table: ice.Table, since: int | None, until: int | None
) -> _Touched | None:
    """What the snapshots after ``since`` up to ``until`` touched, from their metadata alone."""
    touched = _Touched(set(), set(), set(), set())
    if since == until:
        return touched
    if until is None:
        return None  # the table lost its data (dropped): no history to read
    loaded = ice._loaded(spark, table)
    chain = _ancestry(loaded, since, until)
    if chain is None:
        return None
    io = loaded.io()
    bounds = _Bounds(spark, loaded)
    util = bounds.jvm.org.apache.iceberg.util.ContentFileUtil
    for snapshot in chain:
        if str(snapshot.operation()) == "replace":
            continue  # compaction and rewritten deletes: the same rows in other files
        for data_file in (
            *_iterate(snapshot.addedDataFiles(io)),
            *_iterate(snapshot.removedDataFiles(io)),
        ):
            touched.add_data_file(bounds, data_file)
        delete_files = (
            *_iterate(snapshot.addedDeleteFiles(io)),
            *_iterate(snapshot.removedDeleteFiles(io)),
        )
        if not all(touched.add_delete_file(util, f) for f in delete_files):
            return None
    return touched


def _resolve(spark: SparkSession, touched: _Touched) -> set[str] | None:
    """The tenants of a walk: those its files' bounds name, and those read from its files."""
    if not touched.whole and not touched.deletes:
        return set(touched.tenants)
    read, deleted_rows = _read_tenants(
        spark, sorted(touched.whole), sorted(touched.deletes), sorted(touched.referenced)
    )
    if deleted_rows != touched.positions:
        # Every position must find its row: a path spelled differently by Spark and Iceberg,
        # or a data file gone, would otherwise hide a deleted row's tenant.
        return None
    if None in read:
        return None  # a row without a tenant: only a full rebuild places it
    return touched.tenants | {t for t in read if t is not None}


def _read_tenants(
    spark: SparkSession, whole: list[str], deletes: list[str], referenced: list[str]
) -> tuple[set[str | None], int]:
    """The tenants of every row of ``whole`` and of the rows ``deletes`` delete, and how many
    deleted rows were found."""
    frames: list[DataFrame] = []
    if whole:
        frames.append(spark.read.parquet(*whole).select(TENANT_COLUMN, F.lit(0).alias("_deleted")))
    if deletes:
        positions = spark.read.parquet(*deletes).select(
            F.col("file_path").alias("_file"), F.col("pos").alias("_pos")
        )
        rows = spark.read.parquet(*referenced).select(
            TENANT_COLUMN,
            F.col("_metadata.file_path").alias("_file"),
            F.col("_metadata.row_index").alias("_pos"),
        )
        joined = rows.join(positions, ["_file", "_pos"])
        frames.append(joined.select(TENANT_COLUMN, F.lit(1).alias("_deleted")))
    if not frames:
        return set(), 0
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    found = union.groupBy(TENANT_COLUMN).agg(F.sum("_deleted").alias("n")).collect()
    return {row[0] for row in found}, sum(int(row[1]) for row in found)
