"""The lake's writer lock, local and on S3 (moto server): one holder, named; dead holders broken.

Holders are real processes (``lock_holder.py``), killed with real signals; the S3 lease is
exercised through the conditional requests of a moto server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
import psutil
import pytest

from lakehouse.paths import REPO_ROOT
from lakehouse.storage import open_storage
from lakehouse.storage.lock import (
    EXIT_LOCKED,
    HOLDER_PATH,
    LOCK_PATH,
    Holder,
    LakeLockedError,
    LockLostError,
    lake_lock,
)
from tests.support.moto import MotoS3

HOST = socket.gethostname()


@dataclass
class Lake:
    uri: str
    env: dict[str, str]
    kind: str


@pytest.fixture(params=["local", "s3"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Lake:
    if request.param == "local":
        return Lake(str(tmp_path / "lake"), dict(os.environ), "local")
    s3: MotoS3 = request.getfixturevalue("s3_env")
    return Lake(f"s3://{s3.new_bucket()}/lake", dict(os.environ), "s3")


def _holder_cmd(lake: Lake, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.lakehouse.storage.lock_holder", lake.uri, *args]


def _start_holder(lake: Lake, *args: str) -> subprocess.Popen[str]:
    """A process holding the lock until its stdin closes (the lock is held when this returns)."""
    proc = subprocess.Popen(
        _holder_cmd(lake, *args),
        cwd=REPO_ROOT,
        env=lake.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.communicate(timeout=30)[1]
    assert json.loads(line)["pid"] == proc.pid
    return proc


@pytest.fixture
def holders() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _release(proc: subprocess.Popen[str]) -> None:
    _out, err = proc.communicate(input="", timeout=30)
    assert proc.returncode == 0, err


def _lock_is_free(lake: Lake) -> bool:
    storage = open_storage(lake.uri)
    if lake.kind == "s3":
        return not storage.exists(LOCK_PATH)
    # The lock file stays (deleting it would open a race); the holder's description goes.
    return storage.exists(LOCK_PATH) and not storage.exists(HOLDER_PATH)


def test_a_second_writer_is_refused_with_the_holder_named(
    lake: Lake, holders: list[subprocess.Popen[str]]
) -> None:
    holder = _start_holder(lake, "--command", "pipeline watch")
    holders.append(holder)
    with pytest.raises(LakeLockedError) as refused, lake_lock(lake.uri, "pipeline run"):
        pytest.fail("a second writer got the lock")
    message = str(refused.value)
    assert refused.value.exit_code == EXIT_LOCKED == 75
    assert f"'lakehouse pipeline watch' (pid {holder.pid} on {HOST}, since " in message
    assert lake.uri in message
    assert "--wait" in message
    assert refused.value.holder is not None
    assert refused.value.holder.pid == holder.pid

    t0 = time.monotonic()
    with (
        pytest.raises(LakeLockedError, match="after waiting 1 s"),
        lake_lock(lake.uri, "pipeline run", wait=1.0, poll_seconds=0.1),
    ):
        pytest.fail("a second writer got the lock")
    assert time.monotonic() - t0 >= 1.0

    _release(holder)
    assert _lock_is_free(lake)
    with lake_lock(lake.uri, "pipeline run") as held:
        assert held.broken is None  # released cleanly: nothing to break
    assert _lock_is_free(lake)


def test_a_waiting_writer_runs_when_the_holder_finishes(
    lake: Lake, holders: list[subprocess.Popen[str]]
) -> None:
    first = _start_holder(lake)
    holders.append(first)
    second = subprocess.Popen(
        _holder_cmd(lake, "--wait", "60"),
        cwd=REPO_ROOT,
        env=lake.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    holders.append(second)
    time.sleep(1.5)
    assert second.poll() is None  # still waiting
    _release(first)
    out, err = second.communicate(input="", timeout=60)
    assert second.returncode == 0, err
    assert json.loads(out.splitlines()[0]) == {"pid": second.pid, "broken": None}
    assert _lock_is_free(lake)


def test_a_lock_left_by_kill_9_is_broken_by_the_next_writer(
    lake: Lake, holders: list[subprocess.Popen[str]]
) -> None:
    victim = _start_holder(lake, "--command", "pipeline run")
    holders.append(victim)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    # Locally the kernel dropped the lock; on S3 the lease (60 s) is still there, but its
    # process is gone on this host: both are taken over at once, and the dead holder named.
    t0 = time.monotonic()
    with lake_lock(lake.uri, "pipeline run") as held:
        assert held.broken is not None
        assert (held.broken.pid, held.broken.command, held.broken.host) == (
            victim.pid,
            "pipeline run",
            HOST,
        )
    assert time.monotonic() - t0 < 10
    assert _lock_is_free(lake)


def test_writers_started_together_never_overlap(lake: Lake, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    procs = [
        subprocess.Popen(
            _holder_cmd(lake, "--wait", "120", "--log", str(log), "--hold", "0.3"),
            cwd=REPO_ROOT,
            env=lake.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    lines = log.read_text().split()
    events = list(zip(lines[0::2], lines[1::2], strict=True))
    # Every start is followed by the end of the same process: no two holders at once.
    assert [e[0] for e in events] == ["start", "end"] * 4
    pairs = list(zip(events[0::2], events[1::2], strict=True))
    assert all(start[1] == end[1] for start, end in pairs)
    assert sorted(int(start[1]) for start, _ in pairs) == sorted(p.pid for p in procs)
    assert _lock_is_free(lake)


def test_a_nested_lock_in_the_holding_process_counts_a_level(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"), dict(os.environ), "local")

    def other_process_gets_it() -> bool:
        proc = subprocess.run(
            _holder_cmd(lake), cwd=REPO_ROOT, env=lake.env, input="", capture_output=True
        )
        assert proc.returncode in (0, EXIT_LOCKED), proc.stderr
        return proc.returncode == 0

    with lake_lock(lake.uri, "pipeline run") as outer:
        with lake_lock(lake.uri, "glue start-job-run") as inner:
            assert inner is outer
        assert not other_process_gets_it()  # still held by the outer level
    assert other_process_gets_it()


def test_crawl_refuses_while_another_command_writes(
    tmp_path: Path, holders: list[subprocess.Popen[str]]
) -> None:
    lake = Lake(str(tmp_path / "lake"), dict(os.environ), "local")
    holder = _start_holder(lake, "--command", "pipeline run")
    holders.append(holder)
    env = {**lake.env, "LAKEHOUSE_LAKE": lake.uri}
    cli = [sys.executable, "-m", "lakehouse.cli.main", "crawl"]
    refused = subprocess.run(cli, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert refused.returncode == EXIT_LOCKED, refused.stderr
    assert f"'lakehouse pipeline run' (pid {holder.pid} on {HOST}" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "lake" / "_catalog").exists()  # it wrote nothing

    waiting = subprocess.Popen(
        [*cli, "--wait", "60"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    holders.append(waiting)
    assert waiting.stderr is not None
    said = waiting.stderr.readline()  # blocks until it waits (or fails)
    assert "waiting up to 60 s for 'lakehouse pipeline run'" in said, said
    _release(holder)
    _out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, said + err


# --- S3 leases ---------------------------------------------------------------------------------


def _s3(moto: MotoS3) -> object:
    return boto3.client(
        "s3",
        endpoint_url=moto.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


def _put_lease(client: object, uri: str, holder: Holder) -> None:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    client.put_object(Bucket=bucket, Key=f"{prefix}/{LOCK_PATH}", Body=holder.to_json())  # type: ignore[attr-defined]


def _lease(client: object, uri: str) -> dict[str, object]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    obj = client.get_object(Bucket=bucket, Key=f"{prefix}/{LOCK_PATH}")  # type: ignore[attr-defined]
    return {"etag": obj["ETag"], "body": json.loads(obj["Body"].read())}


def _someone(host: str, pid: int, started: float, lease: float = 60.0) -> Holder:
    return Holder(
        command="pipeline run",
        pid=pid,
        host=host,
        process_started=started,
        acquired_at=datetime.now(UTC).isoformat(timespec="seconds"),
        token="someone-else",
        lease_seconds=lease,
    )


def test_s3_lease_of_another_host_is_broken_only_once_expired(s3_env: MotoS3) -> None:
    uri = f"s3://{s3_env.new_bucket()}/lake"
    client = _s3(s3_env)
    # Another host's process cannot be looked at: only the lease's age (S3's clock) counts.
    _put_lease(client, uri, _someone("elsewhere.example", 4242, 1.0, lease=1.0))
    with (
        pytest.raises(LakeLockedError, match=re.escape("pid 4242 on elsewhere.example")),
        lake_lock(uri, "pipeline run"),
    ):
        pytest.fail("a live lease was broken")
    time.sleep(3.5)  # lease 1 s, plus 1 s for the one-second resolution of S3's times
    with lake_lock(uri, "pipeline run") as held:
        assert held.broken is not None
        assert held.broken.host == "elsewhere.example"
        assert _lease(client, uri)["body"]["token"] == held.holder.token  # type: ignore[index]
    assert not open_storage(uri).exists(LOCK_PATH)


def test_s3_lease_on_this_host_is_broken_when_its_pid_was_reused(s3_env: MotoS3) -> None:
    uri = f"s3://{s3_env.new_bucket()}/lake"
    client = _s3(s3_env)
    parent = os.getppid()
    started = round(psutil.Process(parent).create_time(), 2)
    # The parent is alive and is the process the lease names: held.
    _put_lease(client, uri, _someone(HOST, parent, started))
    with (
        pytest.raises(LakeLockedError, match=re.escape(f"pid {parent} on {HOST}")),
        lake_lock(uri, "pipeline run"),
    ):
        pytest.fail("a live holder's lease was broken")
    # Same pid, another start time: the holder died and its pid now names another process.
    _put_lease(client, uri, _someone(HOST, parent, started - 1000))
    with lake_lock(uri, "pipeline run") as held:
        assert held.broken is not None
        assert held.broken.process_started == started - 1000


def test_s3_lease_is_renewed_while_held(s3_env: MotoS3) -> None:
    uri = f"s3://{s3_env.new_bucket()}/lake"
    client = _s3(s3_env)
    with lake_lock(uri, "pipeline watch", lease_seconds=1.0) as held:
        first = _lease(client, uri)
        time.sleep(1.2)
        later = _lease(client, uri)
        held.ensure_held()
    assert first["etag"] != later["etag"]
    assert first["body"]["renewed_at"] < later["body"]["renewed_at"]  # type: ignore[index,operator]
    assert first["body"]["token"] == later["body"]["token"] == held.holder.token  # type: ignore[index]


def test_s3_lease_taken_over_is_reported_and_left_alone(s3_env: MotoS3) -> None:
    uri = f"s3://{s3_env.new_bucket()}/lake"
    client = _s3(s3_env)
    with lake_lock(uri, "pipeline watch", lease_seconds=0.4) as held:
        # Another writer took the lease over (as after a pause longer than the lease).
        _put_lease(client, uri, _someone("elsewhere.example", 7, 1.0))
        time.sleep(0.6)
        with pytest.raises(LockLostError, match="taken over by another writer"):
            held.ensure_held()
    # Our release did not delete the other writer's lease.
    assert _lease(client, uri)["body"]["token"] == "someone-else"  # type: ignore[index]
