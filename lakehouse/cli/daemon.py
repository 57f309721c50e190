"""The pipeline daemon: a long-lived driver that ``lakehouse pipeline run`` hands its run to.

Why: a new ``pipeline run`` process pays for a cold JVM. After 5,000 source changes at scale 1
the same work takes about 30 s in a new process and 15-21 s in a Spark session that has run
the pipeline before (``glue-scripts/README.md``: class loading is in the class archive already;
what is left is Spark's planner, Iceberg and the generated code warming up). A scheduler that
starts ``pipeline run`` every few minutes would pay the cold price every time. Gradle and the
Kotlin compiler solve the same problem for the same reason with a daemon; so does this.

How it behaves:

- ``lakehouse pipeline daemon start`` starts one per state directory (``LAKEHOUSE_STATE_DIR``)
  in the background, with a Spark session; ``status`` and ``stop`` ask it over its socket.
  Before its first client it warms up (:mod:`lakehouse.pipeline.warmup`: the pipeline on a
  scratch sample of the lake's bronze, never the lake), so that the first run is a warm one
  too; a run asked for meanwhile waits for the warm-up, a stop does not.
  It stops by itself after ``--idle-timeout`` seconds without a run, when its code on disk
  changes, or when its Spark JVM dies.
- ``lakehouse pipeline run`` hands the run to a daemon of its state directory when there is one
  and it was started with the same code, settings and environment (compared as SHA-256 digests;
  a difference is named, never shown). Otherwise, or with ``--no-daemon``, or while the daemon
  runs for another client, it runs in its own process as before; the lake's writer lock then
  decides as it always did. The client prints what an in-process run prints and exits with the
  same code.
- The daemon takes the lake's writer lock for each run, in its own process, and lets it go
  after. While idle it holds nothing but memory.
- A client that goes away in the middle of a run (Ctrl-C, kill) takes the run with it: the
  daemon ends at once, as an in-process run would have. Every commit of the pipeline is atomic
  and every bookmark moves after its commit (the kill -9 tests), so nothing is lost; the next
  run starts over in a new process.

Security: the socket lives in a directory only this user may enter (``$XDG_RUNTIME_DIR`` or the
temporary directory, ``lakehouse-<uid>``, checked to be this user's with mode 0700, not a
symbolic link), and the daemon also checks the peer's user id (``SO_PEERCRED``). Requests are
single JSON lines of at most 64 KiB naming one of four commands with typed arguments; nothing a
client sends is a path, code or a setting.

Protocol (one request a connection, newline-delimited JSON): the client sends ``{"protocol": 1,
"command": "run" | "status" | "stop" | "ping", ...}``; the daemon answers with events
(``accepted``, ``declined``, ``message``, ``start``, ``finish``, ``result``, ``error``, ``status``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import socket
import stat
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config import Settings
    from lakehouse.pipeline.run import PipelineResult

PROTOCOL = 1
#: The longest request line a daemon reads; a longer one is refused.
MAX_REQUEST = 64 * 1024
#: Seconds a connected client has to send its request.
REQUEST_SECONDS = 10.0
#: Default idle timeout of ``pipeline daemon start`` / ``serve``, in seconds.
IDLE_TIMEOUT = 1800.0
#: Environment variables outside the settings that change what a run does.
ENV_PREFIXES = ("LAKEHOUSE_", "SPARK_", "PYSPARK_", "JAVA_", "HADOOP_", "AWS_")
ENV_NAMES = ("TZ", "DATABASE_URL")
COMMANDS = ("run", "status", "stop", "ping")


class DaemonError(LakehouseError):
    """The daemon cannot be reached, started or trusted; or a run it served failed."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class SocketFolderError(DaemonError):
    """No usable socket folder (not this user's alone, or its path too long for a socket):
    no daemon is used or started there."""


#: The longest path a Unix socket may have on Linux (``sun_path`` is 108 bytes with its NUL).
MAX_SOCKET_PATH = 107


# --- where ------------------------------------------------------------------------------------


def runtime_dir(*, create: bool = True) -> Path:
    """This user's private folder for daemon sockets (created 0700 by a daemon, checked every
    time it is used; a client does not create it: without it there is no daemon)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    folder = Path(base) / f"lakehouse-{os.getuid()}"
    if create:
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    elif not os.path.lexists(folder):
        return folder
    check_private(folder)
    return folder


def check_private(folder: Path) -> None:
    """Refuse a socket folder another user could enter, replace or point elsewhere.

    Raises:
        DaemonError: naming the folder and what to do.
    """
    info = os.lstat(folder)
    why = None
    if stat.S_ISLNK(info.st_mode):
        why = "is a symbolic link"
    elif not stat.S_ISDIR(info.st_mode):
        why = "is not a directory"
    elif info.st_uid != os.getuid():
        why = f"belongs to user id {info.st_uid}, not {os.getuid()}"
    elif info.st_mode & 0o077:
        why = f"has mode {stat.S_IMODE(info.st_mode):04o}, not 0700"
    if why:
        raise SocketFolderError(
            f"the pipeline daemon's socket folder {folder} {why}: remove it (a new one is "
            "created private), or set XDG_RUNTIME_DIR to a folder only you can enter"
        )


def socket_path(settings: Settings, *, create: bool = True) -> Path:
    """The socket of the daemon of ``settings``' state directory (one per state directory).

    Raises:
        SocketFolderError: the folder is not private, or the path too long for a socket.
    """
    key = hashlib.sha256(str(settings.state_dir.resolve()).encode()).hexdigest()[:24]
    path = runtime_dir(create=create) / f"pipeline-{key}.sock"
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise SocketFolderError(
            f"the pipeline daemon's socket {path} is longer than a Unix socket's path may be "
            f"({MAX_SOCKET_PATH} bytes): set XDG_RUNTIME_DIR to a shorter folder"
        )
    return path


def log_path(settings: Settings) -> Path:
    """Where a daemon started in the background writes its output (Spark's log included)."""
    return settings.state_dir.resolve() / "pipeline-daemon.log"


# --- what must match ----------------------------------------------------------------------------


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def code_digest() -> str:
    """The code a run executes: every file of this package and of the Glue scripts and library
    (the Java and log settings the JVM gets too), the interpreter and the releases of PySpark
    and pyiceberg."""
    from lakehouse.paths import GLUE_SCRIPTS_DIR

    h = hashlib.sha256()
    for root in (Path(__file__).resolve().parents[1], GLUE_SCRIPTS_DIR):
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    versions = []
    for dist in ("pyspark", "pyiceberg"):
        try:
            versions.append(f"{dist}={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{dist}=none")
    return _digest(h.hexdigest(), sys.executable, sys.version, *versions)


@dataclass(frozen=True)
class Fingerprint:
    """Digests of what a run depends on besides the lake; values are never sent, only digests."""

    code: str
    settings: dict[str, str]
    env: dict[str, str]
    #: Relative settings (the default ``./lake``) mean another lake in another folder.
    cwd: str = ""

    @classmethod
    def of(cls, settings: Settings) -> Fingerprint:
        values = settings.as_dict()
        env = {
            name: _digest(value)
            for name, value in os.environ.items()
            if name.startswith(ENV_PREFIXES) or name in ENV_NAMES
        }
        return cls(
            code=code_digest(),
            settings={k: _digest(json.dumps(v, default=str)) for k, v in values.items()},
            env=env,
            cwd=_digest(os.getcwd()),
        )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Fingerprint:
        if not isinstance(data, dict):
            raise ValueError("fingerprint is not an object")
        code, settings, env = data.get("code"), data.get("settings"), data.get("env")
        cwd = data.get("cwd")
        if not (isinstance(code, str) and isinstance(cwd, str)):
            raise ValueError("fingerprint fields of the wrong type")
        if not (isinstance(settings, dict) and isinstance(env, dict)):
            raise ValueError("fingerprint fields of the wrong type")
        if not (_str_map(settings) and _str_map(env)):
            raise ValueError("fingerprint fields of the wrong type")
        return cls(code=code, settings=dict(settings), env=dict(env), cwd=cwd)

    def differences(self, other: Fingerprint) -> list[str]:
        """What differs, by name: ``code``, ``setting <name>``, ``environment variable <NAME>``."""
        out = ["code"] if self.code != other.code else []
        if self.cwd != other.cwd:
            out.append("working directory")
        for kind, mine, theirs in (
            ("setting", self.settings, other.settings),
            ("environment variable", self.env, other.env),
        ):
            for name in sorted(set(mine) | set(theirs)):
                if mine.get(name) != theirs.get(name):
                    out.append(f"{kind} {name}")
        return out


def _str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


# --- results on the wire ----------------------------------------------------------------------


def result_to_json(result: PipelineResult) -> dict[str, Any]:
    """What the client needs to print a run's outcome as an in-process run does."""
    return {
        "runs": [dataclasses.asdict(r) for r in result.runs],
        "skipped": [list(s) for s in result.skipped],
        "up_to_date": list(result.up_to_date),
        "seconds": result.seconds,
        "crawl_error": result.crawl_error,
        "fatal": result.fatal,
        "nothing_new": result.nothing_new,
        "timings": dict(result.timings),
        "written": list(result.written),
    }


def result_from_json(data: dict[str, Any]) -> PipelineResult:
    from lakehouse.glue.runner import JobRun
    from lakehouse.pipeline.run import PipelineResult

    return PipelineResult(
        runs=[JobRun(**r) for r in data["runs"]],
        skipped=[(str(j), str(w)) for j, w in data["skipped"]],
        up_to_date=[str(j) for j in data["up_to_date"]],
        seconds=float(data["seconds"]),
        crawl_error=data["crawl_error"],
        fatal=data["fatal"],
        nothing_new=bool(data["nothing_new"]),
        timings={str(k): float(v) for k, v in data["timings"].items()},
        written=[str(e) for e in data["written"]],
    )


# --- the wire ----------------------------------------------------------------------------------


def _send(conn: socket.socket, event: str, **fields: Any) -> None:
    conn.sendall(json.dumps({"event": event, **fields}, default=str).encode() + b"\n")


def _read_line(conn: socket.socket, limit: int = MAX_REQUEST) -> bytes:
    """One line from ``conn`` (without its newline); b"" when the peer closed first.

    Raises:
        ValueError: the line is longer than ``limit``.
    """
    data = bytearray()
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            return b""
        data += chunk
        end = data.find(b"\n")
        if end >= 0:
            if end > limit:
                raise ValueError(f"a request longer than {limit} bytes")
            return bytes(data[:end])
        if len(data) > limit:
            raise ValueError(f"a request longer than {limit} bytes")


def _finish(conn: socket.socket, seconds: float = 1.0, limit: int = 1 << 20) -> None:
    """End the answer, then read what the client still sends (briefly, boundedly): closing a
    socket with unread input resets it, and the client would lose the answer."""
    conn.shutdown(socket.SHUT_WR)
    conn.settimeout(seconds)
    with contextlib.suppress(OSError):
        while limit > 0 and (chunk := conn.recv(65536)):
            limit -= len(chunk)


def peer_uid(conn: socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket (``SO_PEERCRED``)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


def _gone(conn: socket.socket) -> bool:
    """Whether the client closed its end (it sends nothing after its request)."""
    try:
        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


# --- the daemon -------------------------------------------------------------------------------


Emit = Callable[[str, dict[str, Any]], None]
Runner = Callable[["Settings", "SparkSession", bool, float, Emit], "PipelineResult"]


class Daemon:
    """Serves ``pipeline run`` requests from one warm Spark session, one run at a time.

    Args:
        settings: the daemon's settings (a client's must match).
        spark: the session runs use (set before :meth:`listen` when None here).
        runner: runs the pipeline under the lake's writer lock (the CLI's own run function):
            ``runner(settings, spark, full_refresh, wait, emit)``.
        idle_timeout: seconds without a run after which the daemon ends.
        on_abandon: called when a client goes away mid-run; ends the process by default.
        fits: asked before each run; a reason when the daemon's session does not fit the run
            (the client then runs it itself), else None.
        warm_up: run once in the background when the daemon starts serving (the pipeline on a
            scratch sample: :mod:`lakehouse.pipeline.warmup`); returns what it did, for the
            log. A run asked for meanwhile waits for it; a failure is logged, never raised.
    """

    def __init__(
        self,
        settings: Settings,
        spark: SparkSession | None,
        runner: Runner,
        *,
        idle_timeout: float = IDLE_TIMEOUT,
        on_abandon: Callable[[], None] | None = None,
        log: Callable[[str], None] | None = None,
        fits: Callable[[], str | None] | None = None,
        warm_up: Callable[[], str] | None = None,
    ) -> None:
        self.settings = settings
        self.spark = spark
        self.runner = runner
        self.idle_timeout = idle_timeout
        self.on_abandon = on_abandon or _end_now
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.fits = fits or (lambda: None)
        self.fingerprint = Fingerprint.of(settings)
        self.path = socket_path(settings)
        self.started = time.time()
        self.last_activity = time.monotonic()
        self.runs = 0
        self.stop = threading.Event()
        self.why_stopped = ""
        self._busy = threading.Lock()
        self._running: str | None = None
        self._flock: int | None = None
        self._inode: int | None = None
        self._sock: socket.socket | None = None
        self.request_seconds = REQUEST_SECONDS
        self._abandoning = threading.Lock()
        self._abandoned = False
        self.warm_up = warm_up
        self.warmed = threading.Event()
        self.warm_up_state = "on its way" if warm_up else "off"
        if warm_up is None:
            self.warmed.set()

    # lifecycle

    def claim(self) -> None:
        """Take this state directory's daemon slot (before Spark starts: a second daemon fails
        at once).

        Raises:
            DaemonError: another daemon of this state directory runs (or is starting).
        """
        import fcntl

        lock_file = self.path.with_suffix(".lock")
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DaemonError(
                f"a pipeline daemon of {self.settings.state_dir} is already running or "
                "starting: see `lakehouse pipeline daemon status`"
            ) from None
        self._flock = fd

    def listen(self) -> None:
        """Listen on the socket (the slot is ours: a socket file there is a dead daemon's)."""
        assert self._flock is not None, "claim() first"
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a socket left by a daemon that died: we hold the slot
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        sock.listen(8)
        sock.settimeout(0.5)
        self._sock = sock
        self._inode = os.stat(self.path).st_ino

    def _close_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            with contextlib.suppress(OSError):
                if os.stat(self.path).st_ino == self._inode:
                    self.path.unlink()

    def close(self) -> None:
        """Stop listening and give up the state directory's slot."""
        self._close_socket()
        if self._flock is not None:
            os.close(self._flock)
            self._flock = None

    def serve(self) -> str:
        """Accept clients until stopped, idle or stale; returns why it stopped.

        On a stop during a run, new clients find no daemon at once (they run in their own
        process and meet the lake's lock), and the run under way ends before this returns.
        """
        assert self._sock is not None, "listen() first"
        if not self.warmed.is_set():
            threading.Thread(target=self._warm_up, name="warm-up", daemon=True).start()
        try:
            while not self.stop.is_set():
                why = self._should_end()
                if why:
                    self.why_stopped = why
                    break
                try:
                    conn, _ = self._sock.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
            self._close_socket()
            with self._busy:  # the run under way, if any, holds it
                pass
        finally:
            self.close()
        return self.why_stopped or "stopped"

    def _warm_up(self) -> None:
        """The warm-up, in its own thread: a stop does not wait for it (it writes nothing but
        its scratch folder, which the next warm-up clears)."""
        assert self.warm_up is not None
        self.warm_up_state = "running"
        self.log(f"pipeline daemon {os.getpid()}: warming up")
        try:
            self.warm_up_state = self.warm_up()
        except Exception as exc:  # best effort: a run after a failed warm-up is only slower
            self.warm_up_state = f"failed: {type(exc).__name__}: {exc}"
        finally:
            self.last_activity = time.monotonic()
            self.warmed.set()
        self.log(f"pipeline daemon {os.getpid()}: warm-up {self.warm_up_state}")

    def _should_end(self) -> str | None:
        idle = time.monotonic() - self.last_activity
        if self._running is None and self.warmed.is_set() and idle > self.idle_timeout:
            return f"idle for {self.idle_timeout:g} s"
        try:
            if os.stat(self.path).st_ino != self._inode:
                return "its socket was replaced"
        except FileNotFoundError:
            return "its socket was removed"
        return None

    # one client

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                self._answer(conn)
                _finish(conn)
            except OSError as exc:  # the client went away while we answered
                self.log(f"client connection ended: {exc}")
            except Exception as exc:
                self.log(f"internal error answering a client: {type(exc).__name__}: {exc}")
                with contextlib.suppress(OSError):
                    _send(conn, "error", message=f"internal error: {exc}", exit_code=1)

    def _answer(self, conn: socket.socket) -> None:
        if peer_uid(conn) != os.getuid():
            _send(conn, "error", message="the daemon serves its own user only", exit_code=1)
            return
        conn.settimeout(self.request_seconds)
        try:
            line = _read_line(conn)
            request = json.loads(line) if line else None
        except (ValueError, TimeoutError) as exc:
            _send(conn, "error", message=f"bad request: {exc}", exit_code=2)
            return
        conn.settimeout(None)
        problem = _check_request(request)
        if problem or not isinstance(request, dict):
            _send(conn, "error", message=f"bad request: {problem}", exit_code=2)
            return
        command = request["command"]
        if command == "ping":
            _send(conn, "pong", pid=os.getpid())
        elif command == "status":
            _send(conn, "status", **self.status())
        elif command == "stop":
            self.why_stopped = "asked to stop"
            self.stop.set()
            _send(conn, "stopping", pid=os.getpid(), after_run=self._running is not None)
        else:
            self._serve_run(conn, request)

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "state_dir": str(self.settings.state_dir.resolve()),
            "lake": self.settings.lake_uri,
            "started": self.started,
            "runs": self.runs,
            "running": self._running,
            "idle_seconds": round(time.monotonic() - self.last_activity, 1),
            "idle_timeout": self.idle_timeout,
            "warm": self.warmed.is_set(),
            "warm_up": self.warm_up_state,
            "log": str(log_path(self.settings)),
        }

    def _serve_run(self, conn: socket.socket, request: dict[str, Any]) -> None:
        theirs = Fingerprint.from_json(request["fingerprint"])
        differs = self.fingerprint.differences(theirs)
        if differs:
            _send(conn, "declined", why=f"it was started with another {', '.join(differs)}")
            if "code" in differs:  # the code on disk changed: this daemon is stale for good
                self.why_stopped = "its code changed on disk"
                self.stop.set()
            return
        if not self._wait_for_warm_up(conn):
            return
        if self.stop.is_set():
            _send(conn, "declined", why="it is stopping")
            return
        if not self._busy.acquire(blocking=False):
            _send(conn, "declined", why="it is running another client's run")
            return
        try:
            misfit = self.fits()
            if misfit:
                _send(conn, "declined", why=misfit)
                return
            self.runs += 1
            self._running = f"run {self.runs}"
            _send(conn, "accepted", pid=os.getpid(), run=self.runs)
            self._run(conn, request)
        finally:
            self._running = None
            self.last_activity = time.monotonic()
            self._busy.release()

    def _wait_for_warm_up(self, conn: socket.socket) -> bool:
        """Hold a run until the warm-up is over; False when the client left meanwhile."""
        if self.warmed.is_set():
            return True
        _send(
            conn,
            "message",
            text="the pipeline daemon is warming up: the run starts when it is done",
        )
        while not self.warmed.wait(0.2):
            if self.stop.is_set():
                return True  # declined below
            if _gone(conn):
                return False
        return True

    def _run(self, conn: socket.socket, request: dict[str, Any]) -> None:
        sending = threading.Lock()  # jobs run side by side: one line at a time

        def emit(event: str, fields: dict[str, Any]) -> None:
            with sending:
                try:
                    _send(conn, event, **fields)
                except OSError:  # the client is gone: so is its run
                    self._abandon()

        assert self.spark is not None, "a daemon listens once its session is up"
        watcher = _Watcher(conn, self._abandon)
        watcher.start()
        try:
            result = self.runner(
                self.settings,
                self.spark,
                bool(request["full_refresh"]),
                float(request["wait"]),
                emit,
            )
        except LakehouseError as exc:
            watcher.done()
            _send(conn, "error", message=str(exc), exit_code=exc.exit_code)
            return
        finally:
            watcher.done()  # before the connection closes, whatever happened
        _send(conn, "result", result=result_to_json(result))
        if result.fatal:  # the session is gone: the next run needs a new process
            self.why_stopped = f"its Spark JVM ended: {result.fatal}"
            self.stop.set()

    def _abandon(self) -> None:
        with self._abandoning:
            if self._abandoned:
                return
            self._abandoned = True
        self.log("the client went away in the middle of its run: ending, as its process would")
        self.on_abandon()


def _end_now() -> None:
    """End this process and its Spark JVM at once, as a killed ``pipeline run`` ends: no
    commit of the run is half made (each is atomic), no bookmark moved past what committed."""
    from pyspark import SparkContext

    proc = getattr(SparkContext._gateway, "proc", None)
    with contextlib.suppress(Exception):
        if proc is not None:
            proc.kill()  # the JVM would end once our end of its pipe closes; no later commit
    os._exit(70)


class _Watcher(threading.Thread):
    """Watches a client's connection during its run; calls ``gone`` if the client leaves."""

    def __init__(self, conn: socket.socket, gone: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.conn = conn
        self.gone = gone
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.2):
            if _gone(self.conn):
                if not self._done.is_set():
                    self.gone()
                return

    def done(self) -> None:
        self._done.set()


def _check_request(request: Any) -> str | None:
    """What is wrong with a request, or None."""
    if not isinstance(request, dict):
        return "not a JSON object"
    if request.get("protocol") != PROTOCOL:
        return f"protocol {request.get('protocol')!r}, this daemon speaks {PROTOCOL}"
    command = request.get("command")
    if command not in COMMANDS:
        return f"unknown command {command!r} (one of {', '.join(COMMANDS)})"
    if command == "run":
        if not isinstance(request.get("full_refresh"), bool):
            return "full_refresh must be true or false"
        wait = request.get("wait")
        if not isinstance(wait, int | float) or isinstance(wait, bool) or not 0 <= wait < 1e9:
            return "wait must be a number of seconds, 0 or more"
        try:
            Fingerprint.from_json(request.get("fingerprint"))
        except ValueError as exc:
            return str(exc)
    return None


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs: a zombie (ended, not yet reaped by a parent that
    never waits, as a container's first process may not) has ended."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process has the pid now
        return False
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS): the signal said it exists
        return True
    return stat_line.rsplit(") ", 1)[1][:1] != "Z"


# --- the client --------------------------------------------------------------------------------


@contextlib.contextmanager
def _connect(settings: Settings, timeout: float = 5.0) -> Iterator[socket.socket | None]:
    """A connection to the daemon of ``settings``, or None when none listens."""
    path = socket_path(settings, create=False)
    if not path.exists():
        yield None
        return
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):  # a socket left by a dead daemon
        sock.close()
        yield None
        return
    with sock:
        yield sock


def _events(sock: socket.socket) -> Iterator[dict[str, Any]]:
    """The daemon's events until it closes the connection (or the connection breaks)."""
    buffer = bytearray()
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return
        if not chunk:
            return
        buffer += chunk
        while (end := buffer.find(b"\n")) >= 0:
            line, buffer = bytes(buffer[:end]), buffer[end + 1 :]
            yield json.loads(line)


def ask(settings: Settings, command: str) -> dict[str, Any] | None:
    """Send ``status``, ``stop`` or ``ping``; the daemon's answer, or None when none runs.

    Raises:
        DaemonError: the daemon answered with an error.
    """
    with _connect(settings) as sock:
        if sock is None:
            return None
        sock.sendall(json.dumps({"protocol": PROTOCOL, "command": command}).encode() + b"\n")
        for event in _events(sock):
            if event.get("event") == "error":
                raise DaemonError(f"pipeline daemon: {event.get('message')}")
            return event
    return None


@dataclass
class Handed:
    """A run the daemon took: its outcome, or why it declined."""

    result: PipelineResult | None = None
    declined: str | None = None
    pid: int | None = None
    run: int | None = None


def run_remote(
    settings: Settings,
    *,
    full_refresh: bool,
    wait: float,
    on_event: Callable[[dict[str, Any]], None],
) -> Handed | None:
    """Hand a ``pipeline run`` to the daemon; None when no daemon listens.

    Events other than the outcome (``message``, ``sizing``, ``start``, ``finish``, ``accepted``)
    go to ``on_event`` as they come.

    Raises:
        DaemonError: the run failed in the daemon with a :class:`LakehouseError` (its message
            and exit code), or the daemon ended in the middle of the run.
    """
    with _connect(settings) as sock:
        if sock is None:
            return None
        request = {  # the digests are made only when a daemon listens: not on every run
            "protocol": PROTOCOL,
            "command": "run",
            "full_refresh": full_refresh,
            "wait": wait,
            "fingerprint": Fingerprint.of(settings).to_json(),
        }
        try:
            sock.sendall(json.dumps(request).encode() + b"\n")
        except (ConnectionResetError, BrokenPipeError):  # it was closing: no daemon
            return None
        sock.settimeout(None)  # a run takes as long as it takes
        handed = Handed()
        for event in _events(sock):
            kind = event.get("event")
            if kind == "declined":
                return Handed(declined=str(event.get("why")))
            if kind == "error":
                raise DaemonError(str(event.get("message")), int(event.get("exit_code", 1)))
            if kind == "result":
                handed.result = result_from_json(event["result"])
                return handed
            if kind == "accepted":
                handed.pid, handed.run = event.get("pid"), event.get("run")
            on_event(event)
    if handed.pid is None:  # it closed before taking the run (it was stopping): no daemon
        return None
    raise DaemonError(
        f"the pipeline daemon ended in the middle of the run: see {log_path(settings)}. "
        "Everything it committed is whole; run `lakehouse pipeline run` again."
    )
