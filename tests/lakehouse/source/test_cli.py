"""The seed and simulate commands as a user runs them: exit codes and messages."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from lakehouse.paths import DJANGO_DIR, REPO_ROOT
from lakehouse.source.seed import row_counts, seed
from tests.lakehouse.source.conftest import table_digests


def _run(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env={**os.environ, "DATABASE_URL": dsn, "PYTHONHASHSEED": "random"},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _lakehouse(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(dsn, sys.executable, "-m", "lakehouse.cli.main", *args)


def test_bad_scale_exits_2_with_a_message(source_db: str) -> None:
    for scale in ("0", "-3"):
        proc = _lakehouse(source_db, "seed", "--scale", scale)
        assert proc.returncode == 2, proc.stderr
        assert "scale" in proc.stderr
    proc = _lakehouse(source_db, "seed", "--scale", "lots")
    assert proc.returncode == 2
    proc = _run(
        source_db, sys.executable, str(DJANGO_DIR / "manage.py"), "seed_data", "--scale", "0"
    )
    assert proc.returncode == 2
    assert "scale must be positive" in proc.stderr


def test_seed_refuses_then_if_empty_skips_then_reset_replaces(
    make_source_db: Callable[[], str],
) -> None:
    source_db = make_source_db()
    first = _lakehouse(source_db, "seed", "--scale", "0.01", "--seed", "3")
    assert first.returncode == 0, first.stderr
    counts = row_counts(source_db)
    assert counts["orders"] == 512
    # Another process (other hash seed, fresh Faker) gives byte-identical tables.
    in_process = make_source_db()
    seed(in_process, scale=0.01, seed=3, reset=False)
    tables = list(counts)
    assert table_digests(in_process, tables) == table_digests(source_db, tables)

    refused = _lakehouse(source_db, "seed", "--scale", "0.01")
    assert refused.returncode == 1
    assert "--reset" in refused.stderr

    skipped = _lakehouse(source_db, "seed", "--scale", "0.02", "--if-empty")
    assert skipped.returncode == 0
    assert row_counts(source_db) == counts

    replaced = _run(
        source_db,
        sys.executable,
        str(DJANGO_DIR / "manage.py"),
        "seed_data",
        "--scale",
        "0.02",
        "--reset",
    )
    assert replaced.returncode == 0, replaced.stderr
    assert row_counts(source_db)["orders"] == 1024


def test_simulate_needs_a_length(source_db: str) -> None:
    proc = _lakehouse(source_db, "simulate", "--rate", "100")
    assert proc.returncode == 2
    assert "--changes" in proc.stderr


def test_simulate_from_the_cli_and_manage_py(source_db: str) -> None:
    seeded = _lakehouse(source_db, "seed", "--scale", "0.005")
    assert seeded.returncode == 0, seeded.stderr
    before = sum(row_counts(source_db).values())
    proc = _lakehouse(source_db, "simulate", "--changes", "300", "--seed", "5")
    assert proc.returncode == 0, proc.stderr
    assert "row changes in" in proc.stderr
    proc = _run(
        source_db,
        sys.executable,
        str(DJANGO_DIR / "manage.py"),
        "simulate_activity",
        "--changes",
        "200",
    )
    assert proc.returncode == 0, proc.stderr
    assert "row changes in" in proc.stdout
    assert sum(row_counts(source_db).values()) > before
