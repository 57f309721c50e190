"""Every command given hostile arguments: a clear error, a nonzero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.lake import Lake


def lakehouse(lake_root: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAKEHOUSE_LAKE": lake_root}
    return subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def assert_refused(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "Traceback" not in output, output
    for needle in needles:
        assert needle in output, output


def test_reset_job_bookmark_never_leaves_the_bookmark_folder(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    victim = lake / "x.json"
    victim.parent.mkdir(parents=True)
    victim.write_text("{}", "utf-8")
    bookmarks = lake / "_glue" / "bookmarks"
    bookmarks.mkdir(parents=True)
    for name in ("../../x", "../x", "/etc/passwd", "", "transform_orders_bronze_to_silver/../x"):
        proc = lakehouse(str(lake), tmp_path, "glue", "reset-job-bookmark", "--job-name", name)
        assert_refused(proc, "job name")
        assert victim.read_text("utf-8") == "{}"


@pytest.mark.parametrize("name", ["../../x", "x; rm -rf /", ""])
def test_start_job_run_knows_its_jobs(tmp_path: Path, name: str) -> None:
    proc = lakehouse(str(tmp_path), tmp_path, "glue", "start-job-run", "--job-name", name)
    assert_refused(proc, "job name")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--seconds", "nan"), "--seconds"),
        (("--seconds", "inf"), "--seconds"),
        (("--seconds", "-1"), "--seconds"),
        (("--seconds", "0"), "--seconds"),
        (("--changes", "-5"), "--changes"),
        (("--rate", "nan", "--seconds", "1"), "--rate"),
        (("--seconds", "abc"), "--seconds"),
    ],
)
def test_simulate_refuses_nonsense_durations(
    tmp_path: Path, args: tuple[str, ...], needle: str
) -> None:
    assert_refused(lakehouse(str(tmp_path), tmp_path, "simulate", *args), needle)


def test_athena_refuses_hostile_input_without_a_traceback(
    athena_lake: Lake, tmp_path: Path
) -> None:
    root = athena_lake.settings.lake_uri
    latin1 = tmp_path / "latin1.sql"
    latin1.write_bytes("select 'caf\u00e9'".encode("latin-1"))
    nul = tmp_path / "nul.sql"
    nul.write_bytes(b"select 1\x00")
    big = tmp_path / "big.sql"
    big.write_text("select 1 /*" + "x" * 300_000 + "*/", "utf-8")
    cases: list[tuple[tuple[str, ...], str]] = [
        (("--tenant", "", "select 1"), "the tenant is blank"),
        (("--tenant", " ", "select 1"), "the tenant is blank"),
        (("--tenant", "nobody", "select 1"), "no tenant with slug or id"),
        (("-f", "/dev/zero"), "not a regular file"),
        (("-f", str(tmp_path)), "not a regular file"),
        (("-f", str(tmp_path / "missing.sql")), "cannot read SQL file"),
        (("-f", str(latin1)), "not UTF-8 text"),
        (("-f", str(nul)), "NUL"),
        (("-f", str(big)), "at most 262144 bytes"),
        (("--timeout", "nan", "select 1"), "--timeout"),
        (("--timeout", "0", "select 1"), "--timeout"),
        (("--timeout", "-3", "select 1"), "--timeout"),
        (("select " + "(" * 3000 + "1" + ")" * 3000,), "SYNTAX_ERROR"),
        (("select " + " + ".join(["1"] * 3000),), "SYNTAX_ERROR"),
        (("select * from (with d as (select 1 as a) select 1) s, d",), "TABLE_NOT_FOUND"),
        (("select current_setting('threads')",), "FUNCTION_NOT_FOUND"),
        (
            (
                "--timeout",
                "0.5",
                "select count(*) from unnest(sequence(1, 100000)) as a(x) "
                "cross join unnest(sequence(1, 100000)) as b(y)",
            ),
            "EXCEEDED_TIME_LIMIT",
        ),
    ]
    for args, needle in cases:
        proc = lakehouse(root, tmp_path, "athena", *args)
        assert_refused(proc, needle)
        assert proc.returncode == 1, (args, proc.returncode)


def test_athena_reads_a_malformed_bronze_file_as_an_athena_error(
    athena_lake: Lake, tmp_path: Path
) -> None:
    import shutil

    root = tmp_path / "lake"
    shutil.copytree(athena_lake.settings.lake_uri, root)
    crawl = lakehouse(str(root), tmp_path, "crawl")
    assert crawl.returncode == 0, crawl.stderr
    (root / "bronze" / "dms" / "public" / "orders" / "LOAD99999999.csv.gz").write_bytes(b"junk")
    proc = lakehouse(str(root), tmp_path, "athena", "select count(*) from bronze.orders")
    assert_refused(proc, "HIVE_BAD_DATA", "bronze.orders")
    assert proc.returncode == 1


@pytest.mark.parametrize(
    ("tenant", "needle"),
    [
        ("", "--tenant is blank"),
        ("x' or '1'='1", "neither a tenant slug"),
        ("../../etc/passwd", "neither a tenant slug"),
        ("caf\u00e9", "neither a tenant slug"),
        ("a" * 500, "neither a tenant slug"),
    ],
)
def test_tenants_offboard_refuses_what_cannot_name_a_tenant(
    tmp_path: Path, tenant: str, needle: str
) -> None:
    lake = tmp_path / "lake"
    proc = lakehouse(str(lake), tmp_path, "tenants", "offboard", "--tenant", tenant, "--yes")
    assert_refused(proc, needle)
    assert not lake.exists()  # refused before anything touched the lake


def test_tenants_offboard_never_deletes_without_a_confirmation(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    proc = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.main", "tenants", "offboard", "--tenant", "acme"],
        cwd=tmp_path,
        env={**os.environ, "LAKEHOUSE_LAKE": str(lake)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert_refused(proc, "confirm with --yes")
    assert not lake.exists()
