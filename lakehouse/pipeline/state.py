"""What the pipeline has already done, read from the lake without starting Spark.

A ``pipeline run`` with nothing new should cost what it takes to look, not a JVM: this module
decides from files alone whether every job would find nothing to do.

- **Silver**: every bronze file is in its job's bookmark with the same modification time (the
  local Glue stand-in hands out exactly the files the bookmark lacks, ``awsglue/context.py``).
- **Gold**: each mart's record in ``gold_inputs.json`` names the Iceberg snapshot of every
  silver input it was built from and the code it was built with; the snapshots are read from
  the tables' current metadata file (:func:`lakehouse.catalog.iceberg.current_metadata_file`,
  the Hadoop layout's rules), whose ``current-snapshot-id`` is the table's state.
- **Quality report and crawl**: the last run finished, and its report read the same snapshots
  (a compaction since moves the report's record to the compacted snapshot, as it does gold's).

Only a local lake is looked at; for any other, or anything unexpected, the answer is "there may
be work", which is never wrong, only slower.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from lakehouse_glue.bronze import table_path
from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.iceberg import HISTORY_SUFFIX
from lakehouse_glue.model import load_bronze_contract, load_declaration
from lakehouse_glue.report import summary_path

from lakehouse.catalog import iceberg
from lakehouse.config import Settings

#: Files of the state folder (``<lake>/_glue``) the pipeline keeps.
GOLD_STATE = "pipeline/gold_inputs.json"
SILVER_STATE = "pipeline/silver_inputs.json"
LAST_RUN = "pipeline/last_run.json"


def _local(uri: str) -> Path | None:
    """The local path of a lake URI; ``None`` for an object store."""
    if uri.startswith("file:"):
        return Path("/" + uri.removeprefix("file:").lstrip("/"))
    return None if "://" in uri else Path(uri)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _hidden(name: str) -> bool:
    # The rule of lakehouse_glue.fs.list_files (Spark's and Glue's): _x and .x are skipped.
    return name.startswith(("_", "."))


def bronze_files(folder: Path) -> dict[str, int]:
    """Visible files below ``folder``: ``file:`` URI (as Hadoop spells it) -> mtime in ms."""
    found: dict[str, int] = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not _hidden(d)]
        for name in files:
            if not _hidden(name):
                path = Path(root) / name
                found[f"file:{path}"] = path.stat().st_mtime_ns // 1_000_000
    return found


def has_new_bronze(settings: Settings) -> bool:
    """Whether some silver job's next run would be handed a bronze file."""
    fresh = entities_with_new_bronze(settings)
    return fresh is None or bool(fresh)


def entities_with_new_bronze(settings: Settings) -> set[str] | None:
    """The entities whose silver job's next run would be handed a bronze file.

    Asked of the Glue stand-in's own bookmark rule (``awsglue.job.select_new``: the high
    timestamp and the band of recent files), so this decision and the job cannot disagree.
    ``None`` when the lake is not local (it cannot be told without the job).
    """
    lake = _local(settings.lake_uri)
    if lake is None:
        return None
    from lakehouse.glue.runner import ensure_stubs_on_path

    ensure_stubs_on_path()
    from awsglue.job import DEFAULT_MAX_BAND_MS, SourceState, select_new

    contract = load_bronze_contract()
    state = Path(settings.glue_state_uri)
    now_ms = int(time.time() * 1000)
    fresh: set[str] = set()
    for entity in load_declaration().entities:
        folder = Path(table_path(settings.bronze_uri, entity, contract))
        if not folder.exists():
            continue
        bookmark = _read_json(state / "bookmarks" / f"{entity.silver_job_name}.json") or {}
        doc = bookmark.get("sources", {}).get(f"{entity.name}_bronze_source")
        seen = None if doc is None else SourceState.from_json(doc)
        new, _ = select_new(bronze_files(folder), seen, now_ms, DEFAULT_MAX_BAND_MS)
        if new:
            fresh.add(entity.name)
    return fresh


def entities_to_rebuild(settings: Settings) -> set[str] | None:
    """The entities whose silver job would build its tables from every bronze file.

    A silver job does that when neither its table nor its history has data (a first run, or
    tables dropped since), whatever its bookmark says: such a job has work without a new file.
    ``None`` when the lake is not local.
    """
    if _local(settings.lake_uri) is None:
        return None
    contract = load_bronze_contract()
    silver = Path(settings.silver_uri)
    out: set[str] = set()
    for entity in load_declaration().entities:
        if not Path(table_path(settings.bronze_uri, entity, contract)).exists():
            continue
        names = (entity.name, f"{entity.name}{HISTORY_SUFFIX}")
        if all(snapshot_id(silver / name) is None for name in names):
            out.add(entity.name)
    return out


def snapshot_id(table_folder: Path) -> int | None:
    """The current snapshot id of a Hadoop-layout Iceberg table; ``None`` without one."""
    if not iceberg.is_iceberg_table(table_folder):
        return None
    doc = _read_json(iceberg.current_metadata_file(table_folder))
    current = (doc or {}).get("current-snapshot-id")
    return None if current in (None, -1) else int(current)


def silver_snapshots(settings: Settings) -> dict[str, int | None]:
    """Entity -> the current snapshot id of its silver table (``None``: no table or no data)."""
    silver = Path(settings.silver_uri)
    return {e.name: snapshot_id(silver / e.name) for e in load_declaration().entities}


def nothing_to_do(
    settings: Settings, gold_fingerprints: dict[str, dict[str, Any]], *, quality: bool = True
) -> bool:
    """Whether an incremental run would find nothing new anywhere (decided without Spark).

    Args:
        settings: the lake.
        gold_fingerprints: job name -> the fingerprint its mart would need now (``code`` and
            ``inputs``), as :func:`lakehouse.pipeline.run.gold_fingerprint` makes it.
        quality: whether the run includes the quality report (a ``pipeline watch`` batch
            leaves it for the pause after the batch), so that it must be current too.
    """
    if _local(settings.lake_uri) is None:
        return False
    state = Path(settings.glue_state_uri)
    last = _read_json(state / LAST_RUN) or {}
    if not last.get("complete") or has_new_bronze(settings):
        return False
    built = _read_json(state / GOLD_STATE) or {}
    gold = Path(settings.gold_uri)
    for mart in load_marts():
        wanted = gold_fingerprints[mart.job_name]
        if built.get(mart.job_name) != wanted or not iceberg.is_iceberg_table(gold / mart.name):
            return False
    return not quality or quality_report_current(settings)


def quality_report_current(settings: Settings) -> bool:
    """Whether the last quality report read every silver table at its current snapshot
    (``False`` when unknown: no report, or a lake that is not local)."""
    if _local(settings.lake_uri) is None:
        return False
    report = _read_json(Path(summary_path(settings.reports_uri))) or {}
    current = {e: s for e, s in silver_snapshots(settings).items() if s is not None}
    recorded = {e: s for e, s in (report.get("silver_snapshots") or {}).items() if s is not None}
    return bool(report) and recorded == current


def plain_parquet_tables(settings: Settings) -> list[str]:
    """``silver/<t>`` and ``gold/<t>`` folders in an earlier version's plain Parquet layout.

    Such a folder has ``tenant_id=`` partition folders and no Iceberg ``metadata/``.
    """
    found: list[str] = []
    for layer, uri in (("silver", settings.silver_uri), ("gold", settings.gold_uri)):
        root = _local(uri)
        if root is None or not root.is_dir():
            continue
        for table in sorted(p for p in root.iterdir() if p.is_dir()):
            names = {p.name for p in table.iterdir()}
            if "metadata" not in names and any(n.startswith("tenant_id=") for n in names):
                found.append(f"{layer}/{table.name}")
    return found
