"""The pipeline daemon (:mod:`lakehouse.cli.daemon`): hostile folders and clients first, then
real runs handed to it (in this process's Spark session, then as real processes, one of them
killed in the middle of its run)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
from click.testing import CliRunner
from pyspark.sql import SparkSession

from lakehouse.cli.daemon import (
    Daemon,
    DaemonError,
    Fingerprint,
    SocketFolderError,
    ask,
    process_alive,
    result_from_json,
    result_to_json,
    run_remote,
    runtime_dir,
    socket_path,
)
from lakehouse.cli.main import app
from lakehouse.cli.pipeline import _outgrown, daemon_runner
from lakehouse.config import Settings, get_settings
from lakehouse.glue.runner import JobRun, spark_sizing
from lakehouse.glue.sizing import SparkSizing
from lakehouse.paths import REPO_ROOT
from lakehouse.pipeline.run import PipelineResult
from lakehouse.source.seed import seed
from tests.support.lake import (
    drop_slot,
    entities,
    file_fingerprints,
    lake_environment,
    lake_settings,
    replicate_once,
    silver_frame,
    source_frame,
)
from tests.support.spark import assert_frames_equal


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This test's socket folder (``$XDG_RUNTIME_DIR/lakehouse-<uid>``), not yet created; its
    base is short, as a socket's path must be."""
    base = Path(tempfile.mkdtemp(prefix="lh-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(base))
    yield base / f"lakehouse-{os.getuid()}"
    shutil.rmtree(base, ignore_errors=True)


def _settings(tmp_path: Path, name: str = "lake") -> Settings:
    return Settings(lake=str(tmp_path / name), state_dir=tmp_path / f"{name}-state", _env_file=None)  # type: ignore[call-arg]


# --- the socket folder ------------------------------------------------------------------------


def test_the_socket_folder_is_created_private_by_a_daemon_only(
    runtime: Path, tmp_path: Path
) -> None:
    assert ask(_settings(tmp_path), "ping") is None  # a client: no folder, no daemon
    assert not os.path.lexists(runtime)
    assert runtime_dir() == runtime
    info = runtime.stat()
    assert (info.st_mode & 0o777, info.st_uid) == (0o700, os.getuid())


def test_a_socket_folder_others_can_enter_is_refused(runtime: Path) -> None:
    runtime.mkdir()
    runtime.chmod(0o755)
    with pytest.raises(SocketFolderError, match=rf"{re.escape(str(runtime))} has mode 0755"):
        runtime_dir()


def test_a_socket_folder_that_is_a_link_or_a_file_is_refused(runtime: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    runtime.symlink_to(elsewhere)
    with pytest.raises(SocketFolderError, match="is a symbolic link"):
        runtime_dir()
    runtime.unlink()
    runtime.write_text("")
    with pytest.raises(SocketFolderError, match="is not a directory"):
        runtime_dir()


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user needs root")
def test_a_socket_folder_of_another_user_is_refused(runtime: Path) -> None:
    runtime.mkdir(mode=0o700)
    os.chown(runtime, 65534, 65534)
    with pytest.raises(SocketFolderError, match="belongs to user id 65534"):
        runtime_dir()


@pytest.mark.slow
def test_pipeline_run_does_not_use_an_unsafe_folder_and_says_so(
    runtime: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder another user prepared must not stop a run: it runs in-process (here it finds
    nothing new before Spark), with a note."""
    runtime.mkdir()
    runtime.chmod(0o777)
    settings = _settings(tmp_path)
    monkeypatch.setenv("LAKEHOUSE_LAKE", settings.lake_uri)
    monkeypatch.setenv("LAKEHOUSE_STATE_DIR", str(settings.state_dir))
    get_settings.cache_clear()
    try:
        cli = CliRunner().invoke(app, ["pipeline", "run"])
    finally:
        get_settings.cache_clear()
    assert "has mode 0777, not 0700" in cli.output
    assert "running in this process" in cli.output
    assert "handed to the pipeline daemon" not in cli.output


def test_one_socket_per_state_directory(tmp_path: Path, runtime: Path) -> None:
    a, b = _settings(tmp_path, "a"), _settings(tmp_path, "b")
    assert socket_path(a) != socket_path(b)
    assert socket_path(a) == socket_path(a.replace(lake=str(tmp_path / "other")))
    assert socket_path(a).parent == runtime


def test_a_socket_path_too_long_for_a_socket_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    with pytest.raises(SocketFolderError, match="set XDG_RUNTIME_DIR to a shorter folder"):
        socket_path(_settings(tmp_path))


# --- hostile and awkward clients (no Spark: the runner is not reached, or stands in) -----------


def _never(*args: Any) -> PipelineResult:
    raise AssertionError("the daemon ran a request it should have refused")


@contextlib.contextmanager
def _serving(
    settings: Settings, runner: Callable[..., PipelineResult] = _never, **kw: Any
) -> Iterator[Daemon]:
    logs: list[str] = []
    daemon = Daemon(settings, cast(SparkSession, object()), runner, log=logs.append, **kw)
    daemon.claim()
    daemon.listen()
    ended: list[str] = []
    thread = threading.Thread(target=lambda: ended.append(daemon.serve()), daemon=True)
    thread.start()
    try:
        yield daemon
    finally:
        daemon.stop.set()
        thread.join(10)
        daemon.close()
    assert not thread.is_alive()


def _raw(daemon: Daemon, payload: bytes) -> list[dict[str, Any]]:
    """Send bytes as a client would; every event until the daemon closes the connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(20)
        sock.connect(str(daemon.path))
        sock.sendall(payload)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return [json.loads(line) for line in data.splitlines()]


def _run_request(settings: Settings, **changes: Any) -> dict[str, Any]:
    request = {
        "protocol": 1,
        "command": "run",
        "full_refresh": False,
        "wait": 0,
        "fingerprint": Fingerprint.of(settings).to_json(),
    }
    return {**request, **changes}


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"not json\n", "Expecting value"),
        (b"[1, 2]\n", "not a JSON object"),
        (b'{"protocol": 2, "command": "ping"}\n', "protocol 2, this daemon speaks 1"),
        (b'{"protocol": 1, "command": "shell", "argv": ["rm"]}\n', "unknown command 'shell'"),
        (b"x" * 70_000, "a request longer than 65536 bytes"),
        (b"x" * 70_000 + b"\n", "a request longer than 65536 bytes"),
    ],
)
def test_a_bad_request_gets_an_error_and_the_daemon_goes_on(
    tmp_path: Path, runtime: Path, payload: bytes, why: str
) -> None:
    with _serving(_settings(tmp_path)) as daemon:
        [event] = _raw(daemon, payload)
        assert event["event"] == "error"
        assert event["exit_code"] == 2
        assert event["message"].startswith("bad request: ")
        assert why in event["message"]
        assert _raw(daemon, b'{"protocol": 1, "command": "ping"}\n') == [
            {"event": "pong", "pid": os.getpid()}
        ]


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"full_refresh": "yes"}, "full_refresh must be true or false"),
        ({"wait": -1}, "wait must be a number of seconds"),
        ({"wait": True}, "wait must be a number of seconds"),
        ({"wait": "5"}, "wait must be a number of seconds"),
        ({"fingerprint": None}, "fingerprint is not an object"),
        ({"fingerprint": {"code": 1, "settings": {}, "env": {}, "cwd": ""}}, "wrong type"),
        ({"fingerprint": {"code": "", "settings": {"a": 1}, "env": {}, "cwd": ""}}, "wrong type"),
    ],
)
def test_a_run_request_with_bad_fields_is_refused(
    tmp_path: Path, runtime: Path, changes: dict[str, Any], why: str
) -> None:
    settings = _settings(tmp_path)
    with _serving(settings) as daemon:
        line = json.dumps(_run_request(settings, **changes)).encode() + b"\n"
        [event] = _raw(daemon, line)
        assert (event["event"], event["exit_code"]) == ("error", 2)
        assert why in event["message"]


def test_a_wait_of_nan_is_refused(tmp_path: Path, runtime: Path) -> None:
    """JSON from Python may carry NaN; no comparison holds for it, so it must be refused."""
    settings = _settings(tmp_path)
    with _serving(settings) as daemon:
        line = json.dumps(_run_request(settings, wait=float("nan"))).encode() + b"\n"
        assert b"NaN" in line
        [event] = _raw(daemon, line)
        assert "wait must be a number of seconds" in event["message"]


def test_a_client_that_sends_nothing_is_dropped(tmp_path: Path, runtime: Path) -> None:
    with _serving(_settings(tmp_path)) as daemon:
        daemon.request_seconds = 0.3
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(daemon.path))
            [event] = [json.loads(line) for line in sock.recv(65536).splitlines()]
        assert event["event"] == "error"
        assert "timed out" in event["message"]
        assert ask(daemon.settings, "ping") == {"event": "pong", "pid": os.getpid()}


def test_another_environment_or_setting_is_declined_by_name_never_by_value(
    tmp_path: Path, runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    with _serving(settings) as daemon:
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2-not-for-logs")
        handed = run_remote(settings, full_refresh=False, wait=0, on_event=lambda e: None)
        assert handed is not None
        assert handed.declined == (
            "it was started with another environment variable AWS_SECRET_ACCESS_KEY"
        )
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        other = settings.replace(spark_shuffle_partitions=7)
        handed = run_remote(other, full_refresh=False, wait=0, on_event=lambda e: None)
        assert handed is not None
        assert handed.declined == "it was started with another setting spark_shuffle_partitions"
        monkeypatch.chdir(tmp_path)
        handed = run_remote(settings, full_refresh=False, wait=0, on_event=lambda e: None)
        assert handed is not None
        assert handed.declined == "it was started with another working directory"
        assert daemon.runs == 0
        assert not daemon.stop.is_set()


def test_changed_code_is_declined_and_stops_the_daemon(tmp_path: Path, runtime: Path) -> None:
    settings = _settings(tmp_path)
    with _serving(settings) as daemon:
        stale = Fingerprint.of(settings).to_json() | {"code": "0" * 64}
        [event] = _raw(
            daemon, json.dumps(_run_request(settings, fingerprint=stale)).encode() + b"\n"
        )
        assert event == {"event": "declined", "why": "it was started with another code"}
        assert daemon.stop.wait(5)
        assert daemon.why_stopped == "its code changed on disk"


def _result() -> PipelineResult:
    run = JobRun(
        job_name="transform_orders_bronze_to_silver",
        run_id="jr_1",
        state="FAILED",
        started_at="2026-12-05T00:00:00+00:00",
        seconds=1.5,
        arguments={"--JOB_NAME": "transform_orders_bronze_to_silver"},
        error="boom",
        report={"rows_in": 3, "rows_quarantined": 2, "files": {"processed": 1}},
    )
    return PipelineResult(
        runs=[run],
        skipped=[("create_gold_revenue_daily", "its input failed")],
        up_to_date=["transform_tenants_bronze_to_silver"],
        seconds=2.25,
        crawl_error="crawler: bad",
        timings={"start": 0.5},
        written=["orders"],
    )


def test_a_process_that_ended_is_not_alive_even_unreaped() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert not process_alive(child.pid)  # a zombie: ended, not yet reaped
    child.wait()
    assert not process_alive(child.pid)
    assert process_alive(os.getpid())


def test_a_result_crosses_the_wire_whole() -> None:
    result = _result()
    back = result_from_json(json.loads(json.dumps(result_to_json(result))))
    assert back == result
    assert (back.exit_code, back.quarantined) == (1, 2)


def _client(
    settings: Settings,
    *,
    full_refresh: bool = False,
    wait: float = 0,
    on_event: Callable[[dict[str, Any]], None] = lambda e: None,
) -> tuple[threading.Thread, list[Any]]:
    """A client's ``run_remote`` in a thread of its own, started; its outcome lands in the
    list when it ends."""
    outcome: list[Any] = []

    def hand() -> None:
        outcome.append(
            run_remote(settings, full_refresh=full_refresh, wait=wait, on_event=on_event)
        )

    thread = threading.Thread(target=hand)
    thread.start()
    return thread, outcome


def test_one_run_at_a_time_and_the_second_client_runs_itself(tmp_path: Path, runtime: Path) -> None:
    settings = _settings(tmp_path)
    release = threading.Event()
    calls: list[tuple[bool, float]] = []

    def runner(
        settings: Settings, spark: Any, full_refresh: bool, wait: float, emit: Any
    ) -> PipelineResult:
        calls.append((full_refresh, wait))
        emit("message", {"text": "waiting up to 2 s for another command to finish writing"})
        assert release.wait(20)
        return _result()

    with _serving(settings, runner):
        events: list[dict[str, Any]] = []
        thread, first = _client(settings, full_refresh=True, wait=2.0, on_event=events.append)
        deadline = time.monotonic() + 20
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
        second = run_remote(settings, full_refresh=False, wait=0, on_event=lambda e: None)
        assert second is not None
        assert second.declined == "it is running another client's run"
        assert ask(settings, "status")["running"] == "run 1"  # type: ignore[index]
        release.set()
        thread.join(20)
        [handed] = first
        assert handed.result == _result()
        assert (handed.pid, handed.run) == (os.getpid(), 1)
        assert calls == [(True, 2.0)]
        assert [e["event"] for e in events] == ["accepted", "message"]
        assert ask(settings, "status")["runs"] == 1  # type: ignore[index]


def test_a_failed_run_reaches_the_client_with_its_exit_code_and_the_daemon_goes_on(
    tmp_path: Path, runtime: Path
) -> None:
    """A :class:`LakehouseError` (here the lake lock's exit 75) is the client's error, with
    its code; a bug is an error with exit 1; neither ends the daemon."""
    from lakehouse.errors import EXIT_LOCKED, LakehouseError

    class LockedError(LakehouseError):
        exit_code = EXIT_LOCKED

    settings = _settings(tmp_path)
    abandoned = threading.Event()
    failures: list[Exception] = [LockedError("the lake is locked by another writer"), KeyError("x")]

    def runner(*args: Any) -> PipelineResult:
        raise failures.pop(0)

    with _serving(settings, runner, on_abandon=abandoned.set) as daemon:
        with pytest.raises(DaemonError, match="the lake is locked by another writer") as locked:
            run_remote(settings, full_refresh=False, wait=0, on_event=lambda e: None)
        assert locked.value.exit_code == EXIT_LOCKED
        with pytest.raises(DaemonError, match="internal error") as bug:
            run_remote(settings, full_refresh=False, wait=0, on_event=lambda e: None)
        assert bug.value.exit_code == 1
        time.sleep(0.5)  # the connection watcher's period: it must not take the close for a leave
        assert not abandoned.is_set()
        assert ask(settings, "status")["runs"] == 2  # type: ignore[index]
        assert not daemon.stop.is_set()


def test_a_stop_during_a_run_turns_new_clients_away_and_finishes_the_run(
    tmp_path: Path, runtime: Path
) -> None:
    settings = _settings(tmp_path)
    release = threading.Event()
    running = threading.Event()

    def runner(*args: Any) -> PipelineResult:
        running.set()
        assert release.wait(20)
        return PipelineResult(seconds=1.0)

    with _serving(settings, runner) as daemon:
        thread, first = _client(settings)
        assert running.wait(20)
        assert ask(settings, "stop") == {"event": "stopping", "pid": os.getpid(), "after_run": True}
        deadline = time.monotonic() + 10
        while daemon.path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        # No daemon for a new client now: it runs in its own process (and meets the lock).
        assert run_remote(settings, full_refresh=False, wait=0, on_event=lambda e: None) is None
        release.set()
        thread.join(20)
        [handed] = first
        assert handed.result == PipelineResult(seconds=1.0)


def _until(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_run_asked_for_during_the_warm_up_waits_for_it(tmp_path: Path, runtime: Path) -> None:
    """The warm-up runs once the daemon serves; status says so; a run asked for meanwhile is
    told, waits, and runs after it (never beside it)."""
    settings = _settings(tmp_path)
    release, warming = threading.Event(), threading.Event()
    order: list[str] = []

    def warm_up() -> str:
        warming.set()
        assert release.wait(20)
        order.append("warm-up")
        return "done in 1.0 s"

    def runner(*args: Any) -> PipelineResult:
        order.append("run")
        return PipelineResult(seconds=1.0)

    with _serving(settings, runner, warm_up=warm_up) as daemon:
        assert warming.wait(20)
        status = ask(settings, "status")
        assert status is not None
        assert (status["warm"], status["warm_up"]) == (False, "running")
        events: list[dict[str, Any]] = []
        client, handed = _client(settings, on_event=events.append)
        _until(lambda: bool(events))
        assert events[0] == {
            "event": "message",
            "text": "the pipeline daemon is warming up: the run starts when it is done",
        }
        assert daemon.runs == 0
        assert order == []
        release.set()
        client.join(20)
        assert handed[0].result == PipelineResult(seconds=1.0)
        assert order == ["warm-up", "run"]
        status = ask(settings, "status")
        assert status is not None
        assert (status["warm"], status["warm_up"], status["runs"]) == (True, "done in 1.0 s", 1)


def test_a_failed_warm_up_is_logged_and_runs_are_served(tmp_path: Path, runtime: Path) -> None:
    settings = _settings(tmp_path)

    def warm_up() -> str:
        raise RuntimeError("no sample")

    with _serving(settings, lambda *a: PipelineResult(seconds=2.0), warm_up=warm_up):
        _until(lambda: (ask(settings, "status") or {}).get("warm") is True)
        assert ask(settings, "status")["warm_up"] == "failed: RuntimeError: no sample"  # type: ignore[index]
        handed = run_remote(settings, full_refresh=False, wait=0, on_event=lambda e: None)
        assert handed is not None
        assert handed.result == PipelineResult(seconds=2.0)


def test_a_stop_or_a_client_leaving_during_the_warm_up_waits_for_nothing(
    tmp_path: Path, runtime: Path
) -> None:
    """A client that leaves while its run waits for the warm-up has no run; a stop ends the
    daemon without waiting for the warm-up (it writes nothing but its scratch folder)."""
    settings = _settings(tmp_path)
    release = threading.Event()
    with _serving(settings, _never, warm_up=lambda: str(release.wait(60))) as daemon:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(20)
            sock.connect(str(daemon.path))
            sock.sendall(json.dumps(_run_request(settings)).encode() + b"\n")
            assert b"warming up" in sock.recv(65536)
        time.sleep(0.5)  # the daemon notices the client left
        assert ask(settings, "stop") == {
            "event": "stopping",
            "pid": os.getpid(),
            "after_run": False,
        }
        _until(lambda: not daemon.path.exists(), 10)
        assert daemon.runs == 0
    release.set()


def test_a_client_gone_mid_run_ends_the_run(tmp_path: Path, runtime: Path) -> None:
    """The daemon ends (here: calls ``on_abandon``, once) when its client leaves during a run,
    whether the connection's watcher or the run's next message finds out first."""
    settings = _settings(tmp_path)
    abandoned: list[float] = []
    release = threading.Event()
    left = threading.Event()

    def runner(*args: Any) -> PipelineResult:
        emit = args[-1]
        assert left.wait(20)
        while not release.is_set():  # messages to a client that is gone must not raise
            emit("message", {"text": "still running"})
            time.sleep(0.01)
        return PipelineResult()

    with _serving(settings, runner, on_abandon=lambda: abandoned.append(time.monotonic())):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(settings_path := socket_path(settings)))
            sock.sendall(json.dumps(_run_request(settings)).encode() + b"\n")
            assert json.loads(sock.makefile().readline())["event"] == "accepted"
        assert settings_path.exists()
        left.set()
        deadline = time.monotonic() + 10
        while not abandoned and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        release.set()
    assert len(abandoned) == 1


def test_a_run_the_session_does_not_fit_is_declined_with_the_reason(
    tmp_path: Path, runtime: Path
) -> None:
    settings = _settings(tmp_path)
    with _serving(settings, fits=lambda: "its driver has 1024m of memory") as daemon:
        handed = run_remote(settings, full_refresh=False, wait=0, on_event=lambda e: None)
        assert handed is not None
        assert handed.declined == "its driver has 1024m of memory"
        assert daemon.runs == 0
        assert ask(settings, "status")["running"] is None  # type: ignore[index]


def test_a_lake_grown_past_the_daemons_driver_memory_is_named() -> None:
    def sized(mib: int) -> SparkSizing:
        return SparkSizing(
            driver_memory_mib=mib, shuffle_partitions=5, max_partition_bytes=1, basis="test"
        )

    assert _outgrown(None, sized(4096)) is None  # no session of this process's own
    assert _outgrown(sized(2048), sized(2048)) is None
    assert _outgrown(sized(4096), sized(2048)) is None
    # Bronze grows a little with every round of changes, and the sizing with it: a few MiB,
    # up to a quarter more, is served (every handed run of a growing lake was declined).
    assert _outgrown(sized(2289), sized(2293)) is None
    assert _outgrown(sized(2048), sized(2560)) is None
    assert _outgrown(sized(2048), sized(2561)) is not None
    why = _outgrown(sized(2048), sized(4096))
    assert why is not None
    assert why.startswith("its driver has 2048m of memory and this run is sized for 4096m")
    assert "`lakehouse pipeline daemon stop` and `start`" in why


def test_a_second_daemon_of_a_state_directory_is_refused(tmp_path: Path, runtime: Path) -> None:
    settings = _settings(tmp_path)
    with _serving(settings):
        second = Daemon(settings, None, _never)
        with pytest.raises(DaemonError, match="already running or starting"):
            second.claim()


def test_a_dead_daemons_socket_is_no_daemon(tmp_path: Path, runtime: Path) -> None:
    settings = _settings(tmp_path)
    path = socket_path(settings)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # the file stays, nobody listens
    assert path.exists()
    assert ask(settings, "ping") is None
    assert run_remote(settings, full_refresh=False, wait=0, on_event=lambda e: None) is None
    with _serving(settings):  # a new daemon takes its place
        assert ask(settings, "ping") is not None


def test_stop_and_status(tmp_path: Path, runtime: Path) -> None:
    settings = _settings(tmp_path)
    with _serving(settings, idle_timeout=600) as daemon:
        status = ask(settings, "status")
        assert status is not None
        assert (status["pid"], status["runs"], status["running"]) == (os.getpid(), 0, None)
        assert status["state_dir"] == str(settings.state_dir.resolve())
        assert ask(settings, "stop") == {
            "event": "stopping",
            "pid": os.getpid(),
            "after_run": False,
        }
        deadline = time.monotonic() + 10
        while daemon.path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not daemon.path.exists()
    assert ask(settings, "ping") is None


def test_an_idle_daemon_ends(tmp_path: Path, runtime: Path) -> None:
    with _serving(_settings(tmp_path), idle_timeout=0.5) as daemon:
        assert daemon.stop.wait(0.1) is False
        deadline = time.monotonic() + 10
        while daemon.path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert daemon.why_stopped == "idle for 0.5 s"


@pytest.mark.skipif(os.getuid() != 0, reason="connecting as another user needs root")
def test_another_user_cannot_reach_the_socket(tmp_path: Path, runtime: Path) -> None:
    settings = _settings(tmp_path)
    with _serving(settings) as daemon:
        code = (
            "import socket, sys\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "try:\n    s.connect(sys.argv[1])\nexcept PermissionError:\n    sys.exit(13)\n"
        )
        other = subprocess.run(
            ["/usr/bin/python3", "-c", code, str(daemon.path)], user=65534, check=False
        )
        assert other.returncode == 13
        assert daemon.runs == 0


# --- real runs ---------------------------------------------------------------------------------


def _silver_is_the_source(spark: SparkSession, settings: Settings, dsn: str) -> None:
    for entity in entities():
        assert_frames_equal(silver_frame(spark, settings, entity), source_frame(spark, dsn, entity))


def _change_the_source(dsn: str, mark: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "update customers set notes = coalesce(notes, '') || %s, updated_at = now() "
            "where id in (select id from customers order by id limit 7)",
            [mark],
        )
        conn.execute("delete from events where id in (select id from events order by id limit 3)")


@pytest.mark.slow
def test_pipeline_run_is_handed_to_the_daemon_and_ends_as_it_would_here(
    spark: SparkSession,
    make_source_db: Callable[[], str],
    tmp_path: Path,
    runtime: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``lakehouse pipeline run`` with a daemon of its state directory: the daemon runs it (in
    this process's session, on its own thread), the client prints the run's table and exits
    as an in-process run; silver equals the source; ``--json`` and "nothing new" come through;
    ``--no-daemon`` runs here."""
    dsn = make_source_db()
    seed(dsn, scale=0.005, seed=5, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    for name, value in lake_environment(settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    cli = CliRunner()
    # The daemon sizes this session for each run: the other tests get it back as it was.
    sized = ("spark.sql.shuffle.partitions", "spark.sql.files.maxPartitionBytes")
    before = {key: spark.conf.get(key) for key in sized}
    spark.conf.set("spark.sql.files.maxPartitionBytes", "1234567")  # no sizing gives this
    try:
        replicate_once(settings)
        with _serving(get_settings(), daemon_runner, on_abandon=lambda: None) as daemon:
            daemon.spark = spark
            first = cli.invoke(app, ["pipeline", "run"])
            assert first.exit_code == 0, first.output
            assert f"handed to the pipeline daemon (pid {os.getpid()}, its run 1)" in first.output
            assert re.search(r"\| transform_orders_bronze_to_silver +\| SUCCEEDED", first.output)
            assert "pipeline finished in" in first.output
            # The daemon gave the session the run's read split.
            assert spark.conf.get("spark.sql.files.maxPartitionBytes") == str(
                spark_sizing(get_settings()).max_partition_bytes
            )
            _silver_is_the_source(spark, settings, dsn)

            _change_the_source(dsn, "handed")
            replicate_once(settings)
            second = cli.invoke(app, ["pipeline", "run", "--json"])
            assert second.exit_code == 0, second.output
            document = json.loads(second.stdout)
            states = {j["job"]: j["state"] for j in document["jobs"]}
            assert states["transform_customers_bronze_to_silver"] == "SUCCEEDED"
            assert states["transform_events_bronze_to_silver"] == "SUCCEEDED"
            assert states["transform_tenants_bronze_to_silver"] == "UP_TO_DATE"
            customers = [j for j in document["jobs"] if j["job"].startswith("transform_customers")]
            assert customers[0]["rows_in"] == 7
            _silver_is_the_source(spark, settings, dsn)

            third = cli.invoke(app, ["pipeline", "run"])
            assert third.exit_code == 0, third.output
            assert "handed to the pipeline daemon" in third.output
            assert "nothing new" in third.output
            assert daemon.runs == 3

            _change_the_source(dsn, "here")
            replicate_once(settings)
            here = cli.invoke(app, ["pipeline", "run", "--no-daemon"])
            assert here.exit_code == 0, here.output
            assert "handed to the pipeline daemon" not in here.output
            assert daemon.runs == 3
            _silver_is_the_source(spark, settings, dsn)
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)
        get_settings.cache_clear()
        drop_slot(dsn, settings.slot_name)


def _lakehouse(env: dict[str, str], *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        **kw,
    )


def _lake_files(settings: Settings) -> dict[str, tuple[int, int, str]]:
    """The lake's files as :func:`file_fingerprints` sees them, but for the state folder the
    tests keep in it (the daemon's log and socket lock)."""
    state = settings.state_dir.resolve().relative_to(Path(settings.lake).resolve())
    files = file_fingerprints(Path(settings.lake))
    return {k: v for k, v in files.items() if not Path(k).is_relative_to(state)}


def _kill_a_client_mid_run(env: dict[str, str], settings: Settings, pid: int) -> None:
    """SIGKILL a ``pipeline run`` once the daemon took it; the daemon must end with it."""
    client = subprocess.Popen(
        [sys.executable, "-m", "lakehouse", "pipeline", "run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert client.stdout is not None
    for line in client.stdout:
        if "handed to the pipeline daemon" in line:
            break
    client.send_signal(signal.SIGKILL)
    client.wait(30)
    deadline = time.monotonic() + 60
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not process_alive(pid), "the daemon went on after its client was killed"
    assert (
        "the client went away in the middle of its run"
        in Path(settings.state_dir, "pipeline-daemon.log").read_text()
    )


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_daemon_process_serves_runs_and_a_client_killed_mid_run_loses_nothing(
    spark: SparkSession,
    make_source_db: Callable[[], str],
    tmp_path: Path,
    runtime: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Real processes: ``daemon start`` puts a daemon in the background, ``pipeline run``
    hands its run to it, ``status`` counts it. A client killed (SIGKILL) in the middle of its
    run takes the daemon with it, as a killed in-process run would end; the next run (in this
    process) finds the lake whole and brings silver to the source."""
    dsn = make_source_db()
    seed(dsn, scale=0.005, seed=6, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    env = {**os.environ, **lake_environment(settings)}
    try:
        replicate_once(settings)
        lake = _lake_files(settings)
        started = _lakehouse(env, "pipeline", "daemon", "start", "--idle-timeout", "900")
        assert started.returncode == 0, started.stdout + started.stderr
        assert "pipeline daemon started (pid " in started.stdout
        # It returned warm, having run the pipeline on a sample, and wrote nothing of the lake.
        assert "warming up on a sample of the lake's bronze" in started.stdout
        assert re.search(r"warm-up done in [\d.]+ s \(\d+ job\(s\) on the sample\)", started.stdout)
        assert _lake_files(settings) == lake
        pid = int(re.search(r"\(pid (\d+)", started.stdout)[1])  # type: ignore[index]
        again = _lakehouse(env, "pipeline", "daemon", "start")
        assert f"a pipeline daemon already runs (pid {pid})" in again.stdout

        handed = _lakehouse(env, "pipeline", "run")
        assert handed.returncode == 0, handed.stdout[-3000:] + handed.stderr[-3000:]
        assert f"handed to the pipeline daemon (pid {pid}, its run 1)" in handed.stdout
        _silver_is_the_source(spark, settings, dsn)
        status = _lakehouse(env, "pipeline", "daemon", "status")
        assert status.returncode == 0
        assert f"pid: {pid}" in status.stdout
        assert "runs: 1" in status.stdout
        assert "warm_up: done in" in status.stdout

        _change_the_source(dsn, "killed")
        replicate_once(settings)
        _kill_a_client_mid_run(env, settings, pid)
        gone = _lakehouse(env, "pipeline", "daemon", "status")
        assert gone.returncode == 3
        assert "no pipeline daemon runs for" in gone.stdout

        for name, value in lake_environment(settings).items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            after = CliRunner().invoke(app, ["pipeline", "run"])
        finally:
            get_settings.cache_clear()
        assert after.exit_code == 0, after.output
        _silver_is_the_source(spark, settings, dsn)
    finally:
        _lakehouse(env, "pipeline", "daemon", "stop")
        drop_slot(dsn, settings.slot_name)
