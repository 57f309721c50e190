"""Replicator benchmark: full load, streaming throughput, commit-to-visible-file latency.

Runs against a private PostgreSQL cluster on a free port (never the developer's), seeded with
``lakehouse.source.seed`` at ``--scale`` (default 1), into a temporary bronze folder:

- full load: rows/s of the snapshot copy (CSV by COPY, gzip, LOAD files);
- streaming: a backlog of changes made while the replicator is down, then the time of
  ``--once`` to decode, format and gzip all of it (changes/s);
- latency: a steady workload of about 1,000 changes/s (100 transactions of 10 rows each per
  second) with the default 1 s CDC interval; for each row, the time from its commit to the moment
  a poller first sees it in a complete file.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

from bench.common import percentile, report
from lakehouse.db.cluster import LocalCluster, free_port
from lakehouse.db.migrate import migrate
from lakehouse.replicate import ReplicationOptions, Replicator
from lakehouse.source.seed import seed
from lakehouse.storage import LocalStorage


def _options(dsn: str, target: Path, **kw: object) -> ReplicationOptions:
    from lakehouse.config import Settings

    return ReplicationOptions.from_settings(
        Settings(), target=str(target), dsn=dsn, slot_name="bench_slot", **kw
    )


def _make_backlog(dsn: str, changes: int) -> int:
    """About ``changes`` changes in 1,000-row transactions (inserts and updates)."""
    made = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        while made < changes:
            with conn.transaction():
                cur = conn.execute(
                    """
                    insert into events (id, tenant_id, customer_id, session_id, event_type,
                                        properties, occurred_at, created_at, updated_at)
                    select gen_random_uuid(), tenant_id, customer_id, 'backlog', event_type,
                           properties, occurred_at, now(), now()
                    from events where session_id is distinct from 'backlog' limit 500
                    """
                )
                made += cur.rowcount
                cur = conn.execute(
                    """
                    update customers set notes = md5(random()::text), updated_at = now()
                    where id in (select id from customers order by random() limit 500)
                    """
                )
                made += cur.rowcount
    return made


def _latency(dsn: str, target: Path, seconds: float, rate_per_s: int) -> dict[str, float]:
    stop = threading.Event()
    options = _options(dsn, target)
    replicator = Replicator(options)
    runner = threading.Thread(
        target=lambda: replicator.run(once=False, should_stop=stop.is_set), daemon=True
    )
    runner.start()
    time.sleep(2.0)
    commit_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    storage = LocalStorage(target)
    folder = "dms/public/events"
    known: set[str] = set(storage.list_files(folder))
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            for name in storage.list_files(folder):
                if name in known:
                    continue
                known.add(name)
                now = time.time()
                text = gzip.decompress(storage.read_bytes(f"{folder}/{name}")).decode()
                for marker in {m.split(",")[0] for m in text.split("lat-")[1:]}:
                    seen_at.setdefault(marker, now)
            time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    txn_rows = 10
    interval = txn_rows / rate_per_s
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("select tenant_id from customers limit 1").fetchone()
        assert row is not None
        tenant = row[0]
        start = time.monotonic()
        i = 0
        while time.monotonic() - start < seconds:
            marker = f"{i:08d}"
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    """
                        insert into events (id, tenant_id, session_id, event_type, properties,
                                            occurred_at, created_at, updated_at)
                        values (%s, %s, %s, 'page_view', '{}', now(), now(), now())
                        """,
                    [(uuid.uuid4(), tenant, f"lat-{marker}") for _ in range(txn_rows)],
                )
            commit_at[marker] = time.time()
            i += 1
            sleep = start + i * interval - time.monotonic()
            if sleep > 0:
                time.sleep(sleep)
        elapsed = time.monotonic() - start
    time.sleep(options.interval_seconds * 3)
    done.set()
    stop.set()
    poller.join()
    runner.join(timeout=30)
    lat = [seen_at[m] - t for m, t in commit_at.items() if m in seen_at]
    missing = len(commit_at) - len(lat)
    return {
        "latency_changes": len(commit_at) * txn_rows,
        "latency_rate_changes_per_s": round(len(commit_at) * txn_rows / elapsed),
        "latency_p50_s": round(percentile(lat, 50), 3),
        "latency_p99_s": round(percentile(lat, 99), 3),
        "latency_max_s": round(max(lat), 3),
        "latency_missing_txns": missing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--backlog", type=int, default=200_000)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    args = parser.parse_args()
    logging.getLogger("lakehouse.replicate").setLevel(logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="lakehouse-bench-repl-"))
    os.chmod(root, 0o755)
    cluster = LocalCluster(root / "pg", free_port(), db_name="bench")
    metrics: dict[str, float] = {}
    try:
        cluster.up()
        dsn = cluster.dsn("bench")
        migrate(dsn)
        counts = seed(dsn, scale=args.scale, seed=42, reset=True)
        rows = sum(counts.values())
        target = root / "bronze"

        t0 = time.perf_counter()
        summary = Replicator(_options(dsn, target)).run(once=True)
        full = time.perf_counter() - t0
        assert summary.full_load is not None
        loaded = sum(c.rows for c in summary.full_load)
        assert loaded == rows, (loaded, rows)
        metrics["full_load_rows"] = rows
        metrics["full_load_s"] = round(full, 2)
        metrics["full_load_rows_per_s"] = round(rows / full)
        metrics["full_load_gzip_mib"] = round(
            sum(c.bytes_written for c in summary.full_load) / 2**20, 1
        )

        made = _make_backlog(dsn, args.backlog)
        t0 = time.perf_counter()
        summary = Replicator(_options(dsn, target)).run(once=True)
        took = time.perf_counter() - t0
        assert summary.stats.changes == made, (summary.stats.changes, made)
        metrics["stream_changes"] = made
        metrics["stream_s"] = round(took, 2)
        metrics["stream_changes_per_s"] = round(made / took)

        metrics.update(_latency(dsn, target, args.latency_seconds, 1000))
    finally:
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)
    report(
        "replicate",
        {"scale": args.scale, "backlog": args.backlog, "interval_s": 1.0},
        metrics,
        {
            "full_load_s": "<= 15 s at scale 1 (580k+ rows)",
            "stream_changes_per_s": ">= 10,000",
            "latency_p50_s": "<= 1 s",
            "latency_p99_s": "<= 2 s",
        },
    )


if __name__ == "__main__":
    main()
