"""kill -9 at random moments during a workload: after a restart nothing is missing, and any
change written twice carries the same dms_change_seq (so silver applies it once)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict

import psycopg
import pytest
from lakehouse_glue.model import load_bronze_contract

from lakehouse.replicate.state import load_state
from tests.lakehouse.replicate.conftest import ReplEnv
from tests.lakehouse.replicate.reference import assert_reconstructs, read_files
from tests.lakehouse.replicate.workload import (
    big_text_sql,
    insert_customer,
    insert_event,
    insert_tenant,
)

CONTRACT = load_bronze_contract()


def _workload(dsn: str, tenant: str, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    customers: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            with conn.transaction():
                for _ in range(rng.randint(1, 8)):
                    op = rng.random()
                    if op < 0.45 or len(customers) < 5:
                        customers.append(
                            insert_customer(conn, tenant, notes=rng.choice([None, "", "n"]))
                        )
                    elif op < 0.75:
                        conn.execute(
                            "update customers set notes = %s, status = %s where id = %s",
                            (
                                str(rng.random()),
                                rng.choice(["active", "churned"]),
                                rng.choice(customers),
                            ),
                        )
                    elif op < 0.85:
                        victim = customers.pop(rng.randrange(len(customers)))
                        conn.execute("delete from events where customer_id = %s", (victim,))
                        conn.execute("delete from customers where id = %s", (victim,))
                    elif op < 0.95:
                        insert_event(conn, tenant, customer_id=rng.choice(customers))
                    else:
                        conn.execute(
                            "update tenants set settings = "
                            f"jsonb_build_object('x', {big_text_sql(4)}) "
                            "where id = %s",
                            (tenant,),
                        )
            time.sleep(rng.uniform(0, 0.01))


@pytest.mark.slow
def test_kill_9_during_workload_loses_nothing(repl: ReplEnv) -> None:
    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn)
        for _ in range(30):
            insert_customer(conn, tenant)
    env = {
        **os.environ,
        "DATABASE_URL": repl.dsn,
        "LAKEHOUSE_REPLICATOR_DATABASE_URL": repl.replicator_dsn,
        "LAKEHOUSE_SLOT": repl.slot,
        "LAKEHOUSE_CDC_INTERVAL": "0.1",
    }
    cmd = [
        sys.executable,
        "-m",
        "lakehouse.cli.main",
        "replicate",
        "--quiet",
        "--target",
        str(repl.target),
    ]
    stop = threading.Event()
    worker = threading.Thread(target=_workload, args=(repl.dsn, tenant, stop, 7), daemon=True)
    worker.start()
    rng = random.Random(11)
    try:
        for attempt in range(5):
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if attempt == 1:
                # Whatever the first kill hit, let one run finish its full load, so that the
                # later kills land in the stream.
                deadline = time.monotonic() + 120
                while not ((s := load_state(repl.storage)) and s.full_load_complete):
                    assert time.monotonic() < deadline, "the full load did not finish"
                    time.sleep(0.05)
            time.sleep(rng.uniform(0.5, 3.0))
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            proc.kill()
            proc.wait()
    finally:
        stop.set()
        worker.join(timeout=30)
    summary = repl.run_once()
    assert summary.full_load is None  # the full load finished in one of the killed runs

    assert_reconstructs(repl.storage, repl.dsn)
    for table in ("tenants", "customers", "events"):
        by_seq: dict[str, list[dict[str, str | None]]] = defaultdict(list)
        for f in read_files(repl.storage, table):
            if CONTRACT.is_full_load_file(f.name):
                continue
            for row in f.rows:
                by_seq[row[CONTRACT.change_seq_column] or ""].append(row)
        assert by_seq, table
        for seq, rows in by_seq.items():
            # A change delivered again after a crash is the very same row, same sequence.
            assert all(r == rows[0] for r in rows), (table, seq)


def test_redelivery_after_unconfirmed_files_repeats_the_same_seqs(
    repl: ReplEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files written, then a crash before the confirmation: the re-delivered changes are written
    again with identical rows and sequences, and applying both copies gives the source."""
    from lakehouse.replicate.stream import CdcWriter

    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn)
    repl.run_once()
    with psycopg.connect(repl.dsn) as conn:
        ids = [insert_customer(conn, tenant) for _ in range(3)]
    with psycopg.connect(repl.dsn) as conn:
        conn.execute("update customers set notes = 'x' where id = %s", (ids[0],))
        conn.execute("delete from customers where id = %s", (ids[1],))
    with monkeypatch.context() as m:
        # The process "dies" between writing the files and confirming them.
        m.setattr(CdcWriter, "confirmable_lsn", lambda self: 0)
        first = repl.run_once()
    assert first.stats.changes == 5
    second = repl.run_once()
    assert second.stats.changes == 5
    files = [f for f in read_files(repl.storage, "customers") if not f.name.startswith("LOAD")]
    assert len(files) == 2
    assert files[0].rows == files[1].rows
    assert_reconstructs(repl.storage, repl.dsn)
    third = repl.run_once()
    assert third.stats.changes == 0
