"""The command line: a continuous run stopped with Ctrl-C, and the status command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest
from lakehouse_glue.model import load_bronze_contract

from lakehouse.replicate import pgoutput
from lakehouse.replicate.source import slot_info
from lakehouse.replicate.state import STATE_PATH, load_state
from tests.lakehouse.replicate.conftest import ReplEnv
from tests.lakehouse.replicate.reference import assert_reconstructs
from tests.lakehouse.replicate.workload import insert_customer, insert_tenant


def _wait_for(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_signal_ends_cleanly_and_status_reports(
    repl: ReplEnv, stop_signal: signal.Signals
) -> None:
    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn)
    env = {
        **os.environ,
        "DATABASE_URL": repl.dsn,
        "LAKEHOUSE_REPLICATOR_DATABASE_URL": repl.replicator_dsn,
        "LAKEHOUSE_SLOT": repl.slot,
        "LAKEHOUSE_CDC_INTERVAL": "0.2",
    }
    base = [sys.executable, "-m", "lakehouse.cli.main", "replicate"]
    target = ["--target", str(repl.target)]
    proc = subprocess.Popen(
        [*base, *target], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for(lambda: (s := load_state(repl.storage)) is not None and s.full_load_complete)
        with psycopg.connect(repl.dsn) as conn:
            customer = insert_customer(conn, tenant)
        _wait_for(lambda: repl.storage.list_files("dms/public/customers"))
        proc.send_signal(stop_signal)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"{stop_signal.name}: stopping - writing what is buffered" in err
    # One JSON log line per written file.
    events = [
        json.loads(line.split(" INFO ", 1)[1]) for line in err.splitlines() if " INFO {" in line
    ]
    files = [e for e in events if e["event"] == "cdc_file"]
    assert files[0]["table"] == "public.customers"
    assert files[0]["rows"] == 1
    assert files[0]["lag_seconds"] >= 0
    assert_reconstructs(repl.storage, repl.dsn)
    with psycopg.connect(repl.dsn, autocommit=True) as conn:
        info = slot_info(conn, repl.slot)
    assert info is not None
    assert not info.active

    status = subprocess.run(
        [*base, "status", *target, "--json"], env=env, capture_output=True, text=True, check=True
    )
    st = json.loads(status.stdout)
    assert st["slot_exists"] is True
    assert st["full_load"] == "complete"
    assert st["last_files"]["public.customers"] == files[0]["file"]
    assert st["last_files"]["public.tenants"] == "LOAD00000001.csv.gz"
    assert st["last_files"]["public.orders"] is None
    assert st["wal_retained_bytes"] >= 0
    assert st["confirmed_lsn"]
    assert customer


def test_idle_slot_does_not_pin_wal(repl: ReplEnv) -> None:
    """WAL written for tables outside the publication is released while the replicator idles."""
    import threading

    from lakehouse.replicate import Replicator

    repl.run_once()
    stop = threading.Event()
    runner = threading.Thread(
        target=lambda: Replicator(repl.options()).run(once=False, should_stop=stop.is_set)
    )
    runner.start()
    try:
        with psycopg.connect(repl.dsn, autocommit=True) as conn:
            conn.execute("create table scratch (n int)")
            conn.execute("insert into scratch select generate_series(1, 20000)")
            row = conn.execute("select pg_current_wal_flush_lsn()::text").fetchone()
            assert row is not None
            target = pgoutput.parse_lsn(str(row[0]))

            def released() -> bool:
                info = slot_info(conn, repl.slot)
                assert info is not None
                return (info.confirmed_flush_lsn or 0) >= target

            _wait_for(released, timeout=30)
    finally:
        stop.set()
        runner.join(timeout=30)


CLI = (sys.executable, "-m", "lakehouse.cli.main")


def _replicate_once(repl: ReplEnv) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": repl.dsn,
        "LAKEHOUSE_REPLICATOR_DATABASE_URL": repl.replicator_dsn,
        "LAKEHOUSE_SLOT": repl.slot,
        "LAKEHOUSE_CDC_INTERVAL": "0.2",
    }
    return subprocess.run(
        [*CLI, "replicate", "--once", "--target", str(repl.target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_text_equal_to_the_null_marker_is_named_and_old_bronze_is_refused(
    repl: ReplEnv,
) -> None:
    marker = load_bronze_contract().csv_null_value
    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn)
        customer = insert_customer(conn, tenant, notes=marker)
    done = _replicate_once(repl)
    assert done.returncode == 0, done.stderr
    assert "1 source value(s) equal the bronze NULL marker '<NULL>'" in done.stderr
    assert f"public.customers.notes (id={customer}, full load)" in done.stderr

    # A target written before NULL had a marker (its state names none): appending is refused,
    # with what to run, and nothing is written.
    state = json.loads((repl.target / STATE_PATH).read_text())
    del state["csv_null_value"]
    (repl.target / STATE_PATH).write_text(json.dumps(state))
    files = sorted(p.name for p in repl.target.rglob("*.csv.gz"))
    with psycopg.connect(repl.dsn) as conn:
        insert_customer(conn, tenant)
    refused = _replicate_once(repl)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    assert "written with NULL as an empty field" in refused.stderr
    assert "'lakehouse replicate --resync'" in refused.stderr
    assert "'lakehouse pipeline run --full-refresh'" in refused.stderr
    assert sorted(p.name for p in repl.target.rglob("*.csv.gz")) == files
