"""The seeded app database and simulated activity round-trip through bronze, all 8 entities."""

from __future__ import annotations

import pytest

from lakehouse.source.seed import seed
from lakehouse.source.simulate import simulate
from tests.lakehouse.replicate.conftest import ReplEnv
from tests.lakehouse.replicate.reference import assert_reconstructs


@pytest.mark.slow
def test_seed_and_simulated_activity_reconstruct(repl: ReplEnv) -> None:
    """The simulator commits with synchronous_commit=off: --once must still see its last
    transactions (they reach the WAL flush position only a moment after the commit)."""
    counts = seed(repl.dsn, scale=0.02, seed=3, reset=False)
    first = repl.run_once()
    assert first.full_load is not None
    assert {c.table: c.rows for c in first.full_load} == counts
    stats = simulate(repl.dsn, changes=3000, seconds=None, rate=None, seed=5)
    second = repl.run_once()
    assert_reconstructs(repl.storage, repl.dsn)
    assert second.stats.changes == stats.changes, (second.stats, stats)
