"""Readers never fail because of a writer: queries and reconcile while the pipeline writes.

A loop of readers - ``lakehouse athena`` over silver and gold, with and without a tenant scope,
and ``lakehouse reconcile`` - runs as separate processes while a real ``lakehouse pipeline run``
writes the lake: first a full refresh, then an incremental run. Before each run the source
changes and the changes are replicated, so the source stands still while the readers loop and
the run moves the lake from one known state to another. Both states are taken independently:
"before" is what the readers answer before the run starts, "after" what they answer once it
has ended.

Every answer taken during the run must be one of the two, and no reader may fail. A reader of
one table sees one Iceberg snapshot (before or after that table's commit); ``reconcile`` reads
eight tables, committed one after another, so each of its per-table answers is the before or
the after of that table (Athena reading several tables has the same per-table guarantee). The
test also checks that the readers did run while the lake was being written: some reader saw the
before state and, later in the same run, the after state.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import Any

import psycopg
import pytest

from lakehouse.config import Settings
from lakehouse.source.seed import seed
from lakehouse.source.simulate import simulate
from tests.support.lake import drop_slot, lake_settings, replicate_once
from tests.support.processes import finish, run, start

# Three pipeline runs in Spark processes and a few hundred reader processes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

RECONCILE = "reconcile"


def _readers(slug: str) -> dict[str, tuple[str, ...]]:
    """Reader name -> ``lakehouse`` arguments; each answer is printed as JSON."""
    athena = ("athena", "--format", "json")
    return {
        "silver orders per tenant": (
            *athena,
            "select tenant_id, count(*) as orders, sum(total) as total, "
            "max(updated_at) as latest from silver.orders group by tenant_id order by tenant_id",
        ),
        "silver customers, one tenant": (
            *athena,
            "--tenant",
            slug,
            "select count(*) as customers, max(updated_at) as latest, "
            "count_if(status = 'active') as active from silver.customers",
        ),
        "gold tenant summary": (*athena, "select * from gold.tenant_summary order by tenant_id"),
        "gold revenue, one tenant": (
            *athena,
            "--tenant",
            slug,
            "select count(*) as days, sum(orders_paid) as paid, sum(net_revenue) as net "
            "from gold.revenue_daily",
        ),
        RECONCILE: (RECONCILE, "--json"),
    }


@dataclass(frozen=True)
class Answer:
    """One reader run: what it answered (``None`` when it failed), when, and its output."""

    reader: str
    started: float
    ended: float
    value: Any
    failure: str | None


def _ask(settings: Settings, reader: str, args: tuple[str, ...]) -> Answer:
    started = time.monotonic()
    code, out, err = run(settings, *args, timeout=300)
    ended = time.monotonic()
    failure: str | None = None
    value: Any = None
    if "Traceback" in err:
        failure = f"exit {code}, a traceback: {err[-2000:]}"
    elif reader == RECONCILE:
        # Exit 1 with the differences listed is an answer (silver is behind the source).
        try:
            payload = json.loads(out)
        except ValueError:
            payload = None
        if code not in (0, 1) or payload is None or (code == 1) != bool(payload["differences"]):
            failure = f"exit {code}: {out[-1000:]} {err[-2000:]}"
        else:
            value = {e["entity"]: e for e in payload["entities"]}
    elif code != 0:
        failure = f"exit {code}: {err[-2000:]}"
    else:
        value = json.loads(out)
    return Answer(reader, started, ended, value, failure)


def _state(settings: Settings, readers: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Every reader's answer, asked one after the other while nothing writes."""
    answers = {name: _ask(settings, name, args) for name, args in readers.items()}
    failed = {name: a.failure for name, a in answers.items() if a.failure}
    assert not failed, failed
    return {name: a.value for name, a in answers.items()}


def _loop(
    settings: Settings, readers: dict[str, tuple[str, ...]], writer: Popen[str]
) -> list[Answer]:
    """Ask the readers round after round until the writer has ended; every answer."""
    answers: list[Answer] = []
    while writer.poll() is None:
        for name, args in readers.items():
            answers.append(_ask(settings, name, args))
            if writer.poll() is not None:
                break
    return answers


def _is_before_or_after(answer: Answer, before: dict[str, Any], after: dict[str, Any]) -> bool:
    name = answer.reader
    if name != RECONCILE:
        return answer.value in (before[name], after[name])
    # Per table: reconcile reads the tables one after another while they are committed.
    return answer.value.keys() == after[name].keys() and all(
        answer.value[entity] in (before[name][entity], after[name][entity])
        for entity in answer.value
    )


def _during_a_run(
    settings: Settings,
    readers: dict[str, tuple[str, ...]],
    processes: list[Popen[str]],
    *run_args: str,
) -> tuple[dict[str, Any], dict[str, Any], list[Answer], float, float]:
    """Before, after and the readers' answers while ``pipeline run <run_args>`` ran."""
    before = _state(settings, readers)
    answers: list[Answer] = []
    writer = start(settings, "pipeline", "run", *run_args)
    processes.append(writer)
    started = time.monotonic()
    loop = threading.Thread(target=lambda: answers.extend(_loop(settings, readers, writer)))
    loop.start()
    try:
        out, err = finish(writer, 1800)
    finally:
        loop.join(timeout=900)
    ended = time.monotonic()
    assert writer.returncode == 0, out + err[-3000:]
    assert "pipeline finished" in out
    after = _state(settings, readers)
    return before, after, answers, started, ended


def _assert_readers_saw_before_or_after(
    before: dict[str, Any],
    after: dict[str, Any],
    answers: list[Answer],
    started: float,
    ended: float,
) -> None:
    failures = [(a.reader, a.failure) for a in answers if a.failure]
    assert failures == []
    # The source had changed before the run: the run moves silver, gold and reconcile.
    assert before["silver orders per tenant"] != after["silver orders per tenant"]
    assert before["gold tenant summary"] != after["gold tenant summary"]
    assert after[RECONCILE]
    assert all(not e["differences"] for e in after[RECONCILE].values())
    assert any(e["differences"] for e in before[RECONCILE].values())

    mixed = [a for a in answers if not _is_before_or_after(a, before, after)]
    assert mixed == []

    during = [a for a in answers if started < a.started and a.ended < ended]
    assert len(during) >= len(before), f"only {len(during)} answers during the run"
    # Some reader answered "before" and, later in the same run, "after": the answers above were
    # taken while the lake was being written, not only before or after it.
    saw_the_write = {
        a.reader
        for a in during
        if a.value != after[a.reader]
        and any(b.reader == a.reader and b.started > a.ended and b.value != a.value for b in during)
    }
    assert saw_the_write, [(a.reader, a.value == before[a.reader]) for a in during]


def _slug(dsn: str) -> str:
    """The slug of the tenant with the most orders."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select t.slug from tenants t join orders o on o.tenant_id = t.id "
            "group by t.slug order by count(*) desc, t.slug limit 1"
        ).fetchone()
    assert row is not None
    return str(row[0])


def _change(dsn: str, seed_: int) -> None:
    """Business activity in the source, then an order whose total is known to move."""
    stats = simulate(dsn, changes=400, seconds=None, rate=None, seed=seed_)
    assert stats.changes >= 400
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "update orders set shipping = shipping + 1.01, total = total + 1.01, "
            "updated_at = now() "
            "where id = (select id from orders order by id limit 1)"
        )


def test_queries_and_reconcile_during_a_full_refresh_and_an_incremental_run_see_before_or_after(
    make_source_db: Callable[[], str],
    tmp_path: Path,
    processes: list[Popen[str]],
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.005, seed=11, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    readers = _readers(_slug(dsn))
    try:
        replicate_once(settings)
        code, out, err = run(settings, "pipeline", "run", timeout=1800)
        assert code == 0, out + err[-3000:]

        _change(dsn, seed_=1)
        replicate_once(settings)
        _assert_readers_saw_before_or_after(
            *_during_a_run(settings, readers, processes, "--full-refresh")
        )

        _change(dsn, seed_=2)
        replicate_once(settings)
        _assert_readers_saw_before_or_after(*_during_a_run(settings, readers, processes))
    finally:
        drop_slot(dsn, settings.slot_name)
