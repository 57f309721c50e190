"""What the operations view shows platform staff: replication, pipeline quality, reconcile
results, gold freshness, and every tenant side by side.

Each part is read from where the tools keep it (the replication slot and the bronze state, the
quality report, the last ``lakehouse reconcile``, the gold tables' snapshots or files, gold
itself); a part that cannot be read says why instead of failing the whole view.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.config import Settings
from lakehouse.errors import LakehouseError
from lakehouse.storage import LocalStorage

RECONCILE_FILE = "reconcile/latest.json"


def reconcile_report_path(settings: Settings) -> Path:
    """Where ``lakehouse reconcile`` keeps its last result (local lakes)."""
    return Path(settings.reports_uri) / RECONCILE_FILE


def save_reconcile(settings: Settings, results: list[Any]) -> None:
    """Keep the last reconcile's per-entity results for the operations view."""
    if settings.lake.startswith("s3://"):
        return
    doc = {
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "entities": [
            {
                "entity": r.entity,
                "tenants": r.tenants,
                "source_rows": r.source_rows,
                "silver_rows": r.silver_rows,
                "differences": len(r.differences),
            }
            for r in results
        ],
    }
    # A temporary name of its own, fsync'ed and renamed into place: two reconciles at once each
    # replace the whole file (the later one wins), and a reader sees one complete result.
    LocalStorage(settings.reports_uri).write_bytes(
        RECONCILE_FILE, (json.dumps(doc, indent=2) + "\n").encode("utf-8")
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return doc if isinstance(doc, dict) else None


def replication(settings: Settings) -> dict[str, Any]:
    import psycopg

    from lakehouse.replicate import ReplicationOptions
    from lakehouse.replicate.status import replication_status

    try:
        status = replication_status(ReplicationOptions.from_settings(settings))
    except (LakehouseError, OSError, psycopg.Error) as exc:
        return {"error": str(exc).splitlines()[0]}
    return status.as_dict()


def quality(settings: Settings) -> dict[str, Any] | None:
    from lakehouse_glue.report import summary_path

    return _read_json(Path(summary_path(settings.reports_uri)))


def gold_freshness(settings: Settings) -> list[dict[str, Any]]:
    """Each gold table's last change: its current Iceberg snapshot, or its newest file."""
    from lakehouse.catalog import iceberg
    from lakehouse.catalog.store import load_catalog

    out: list[dict[str, Any]] = []
    for table in load_catalog(settings.catalog_uri).in_database("gold"):
        folder = Path(table.location)
        changed: datetime | None = None
        if iceberg.is_iceberg_table(folder):
            snapshot = iceberg.load_table(folder).current_snapshot()
            changed = iceberg.snapshot_time(snapshot) if snapshot else None
        else:
            stamps = [p.stat().st_mtime for p in folder.rglob("*.parquet")]
            changed = datetime.fromtimestamp(max(stamps), UTC) if stamps else None
        age = (datetime.now(UTC) - changed).total_seconds() if changed else None
        out.append(
            {
                "table": table.name,
                "changed_at": changed.isoformat(timespec="seconds") if changed else None,
                "age_minutes": round(age / 60, 1) if age is not None else None,
            }
        )
    return out


def tenants(settings: Settings) -> dict[str, Any]:
    """The tenant performance dashboard over every tenant (platform staff only)."""
    from lakehouse.analytics.pages import page
    from lakehouse.athena.engines import open_engine

    try:
        engine = open_engine(settings, save_results=False)  # a view, not a query to keep
        try:
            (result,) = engine.execute(page("overview").sql)
        finally:
            engine.close()
    except LakehouseError as exc:
        return {"error": str(exc).splitlines()[0], "columns": [], "rows": []}
    return {"columns": list(result.columns), "rows": result.text_rows()}


def overview(settings: Settings) -> dict[str, Any]:
    """Everything the operations view shows."""
    report = quality(settings)
    entities = []
    for name, entry in ((report or {}).get("entities") or {}).items():
        run = entry.get("last_run") or {}
        entities.append(
            {
                "entity": name,
                "silver_rows": entry.get("silver_rows"),
                "run": run,
                "quarantined": int(run.get("rows_quarantined", 0) or 0),
                "reasons": {
                    rule: int(v.get("violations", 0))
                    for rule, v in (run.get("rules") or {}).items()
                    if int(v.get("violations", 0) or 0)
                },
                "bad_files": run.get("quarantined_files") or [],
            }
        )
    return {
        "replication": replication(settings),
        "quality": report,
        "entities": entities,
        "reconcile": _read_json(reconcile_report_path(settings)),
        "freshness": gold_freshness(settings),
        "tenants": tenants(settings),
    }
