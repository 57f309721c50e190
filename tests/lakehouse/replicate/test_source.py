"""What the replicator asks the source outside a stream: whether a change waits in the slot.

``has_changes_waiting`` peeks at one row of the slot's pgoutput stream. Its answer is exact on
PostgreSQL 15, which sends nothing for a transaction with no change to publish: a change
committed behind such transactions is still seen, and the peek does not move the slot.
"""

from __future__ import annotations

import psycopg

from lakehouse.replicate.source import connect, has_changes_waiting
from tests.lakehouse.replicate.conftest import ReplEnv
from tests.lakehouse.replicate.workload import insert_customer, insert_tenant


def _waiting(repl: ReplEnv) -> bool:
    with connect(repl.replicator_dsn) as conn:
        return has_changes_waiting(conn, repl.slot, repl.publication)


def test_a_change_behind_transactions_that_publish_nothing_is_seen(repl: ReplEnv) -> None:
    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn)
        insert_customer(conn, tenant, email="first@example.com")
    repl.run_once()  # the slot is created and the full load taken: nothing waits
    assert not _waiting(repl)
    # Transactions that change no published table (a table outside the publication, a
    # logical message pgoutput is not asked for): nothing to stream, so nothing waits.
    with psycopg.connect(repl.admin_dsn, autocommit=True) as admin:
        admin.execute("create table scratch_not_published (x int)")
        for i in range(3):
            admin.execute("insert into scratch_not_published values (%s)", (i,))
        admin.execute("select pg_logical_emit_message(true, 'test', 'not a row change')")
    assert not _waiting(repl)
    # A change to a published table committed behind them is seen, however often asked.
    with psycopg.connect(repl.dsn) as conn:
        insert_customer(conn, tenant, email="second@example.com")
    assert _waiting(repl)
    assert _waiting(repl)  # the peek did not move the slot
    summary = repl.run_once()
    assert summary.stats.changes == 1, summary.stats
    assert not _waiting(repl)
