"""The last reconcile's result, as the operations view reads it."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lakehouse.analytics.operations import reconcile_report_path, save_reconcile
from lakehouse.config import Settings
from lakehouse.reconcile import EntityResult

WRITERS = 4
ROUNDS = 40


def _results(n: int) -> list[EntityResult]:
    return [
        EntityResult(
            entity=f"entity_{n}_{i}",
            tenants=n,
            source_rows=10 * n + i,
            silver_rows=i,
            differences=[],
        )
        for i in range(3)
    ]


def _entities(n: int) -> list[dict[str, object]]:
    return [
        {
            "entity": r.entity,
            "tenants": r.tenants,
            "source_rows": r.source_rows,
            "silver_rows": r.silver_rows,
            "differences": 0,
        }
        for r in _results(n)
    ]


def test_concurrent_reconciles_each_replace_the_whole_file(tmp_path: Path) -> None:
    # Each writer had the same temporary name: one writer's rename took the other's file away
    # (FileNotFoundError) or renamed a file the other was still writing.
    settings = Settings(lake=str(tmp_path / "lake"), _env_file=None)  # type: ignore[call-arg]
    start = threading.Barrier(WRITERS)

    def write(n: int) -> None:
        start.wait()
        for _ in range(ROUNDS):
            save_reconcile(settings, _results(n))
            doc = json.loads(reconcile_report_path(settings).read_text(encoding="utf-8"))
            assert doc["entities"] in [_entities(k) for k in range(WRITERS)]

    with ThreadPoolExecutor(WRITERS) as pool:
        for future in [pool.submit(write, n) for n in range(WRITERS)]:
            future.result()  # re-raises a writer's error
    path = reconcile_report_path(settings)
    assert json.loads(path.read_text(encoding="utf-8"))["entities"] in [
        _entities(k) for k in range(WRITERS)
    ]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
