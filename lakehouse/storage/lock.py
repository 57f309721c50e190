"""One writer per lake: an exclusive lock on the lake root, on a local folder or on S3.

Every command that writes the lake's tables (``pipeline run``, ``pipeline watch``, ``glue
start-job-run``, ``glue reset-job-bookmark``, ``crawl``, table maintenance) holds this lock for
as long as it writes; a second writer waits up to its ``--wait`` limit and then fails with
:class:`LakeLockedError`, whose message names the holder (command, process id, host, since
when) and whose exit code is :data:`EXIT_LOCKED`. Readers (queries, ``reconcile``) never take
it. The lock belongs to a process: a nested ``writer_lock`` in the process that holds it (the
pipeline's own crawl, the jobs it starts) only counts a level.

What each kind of lake guarantees:

* **Local folder**: ``fcntl.flock`` on ``<lake>/_lakehouse/writer.lock``, a file that is never
  deleted (deleting it would let a waiter lock the unlinked inode while a newcomer locks a new
  file: two holders). The kernel gives the lock to one open file at a time and drops it when
  the holder's process ends in any way, ``kill -9`` included, so a lock cannot outlive its
  process and there is nothing stale to break. The holder's description is written atomically
  beside it (``writer.json``) once the lock is taken and deleted on release, before unlocking:
  a description found by the next holder therefore comes from a process that died holding the
  lock, which is reported as a broken lock. The file descriptor is not inherited by child
  processes (PEP 446), so the Spark JVM does not keep the lock alive. For one machine: a lake
  on a network file system shared by several hosts should use ``s3://``.
* **S3** (``s3://bucket/prefix``): a lease object ``<prefix>/_lakehouse/writer.lock``. It is
  created with ``PutObject`` and ``If-None-Match: *``, which S3 applies atomically: of
  concurrent creators exactly one succeeds, the others get ``412 Precondition Failed`` (or
  ``409 ConditionalRequestConflict``, retried) [1]. The holder renews it every
  ``lease/4`` seconds with ``PutObject`` and ``If-Match: <its ETag>`` (a compare-and-swap) and
  releases it with ``DeleteObject`` and ``If-Match`` [2], so it never overwrites or deletes a
  lease that is no longer its own. A lease is stale when its process is gone (same host: the
  process id is not running, or runs a different process, told apart by its start time) or
  when it was not renewed for ``lease_seconds``, measured on S3's clock (the object's
  ``Last-Modified`` against the response's ``Date``), so clocks of different hosts never
  matter. A stale lease is taken over with ``If-Match: <the stale ETag>``: if its holder
  renewed it meanwhile, or another process took it over first, the ETag changed and the
  takeover fails. The guarantee: at most one live holder, provided a holder that is alive
  renews within its lease; a holder paused for longer (SIGSTOP, a suspended laptop) finds its
  lease taken at the next renewal and reports it (:meth:`LockHandle.ensure_held`).

[1] https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
[2] https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import psutil

from lakehouse.errors import EXIT_LOCKED as EXIT_LOCKED
from lakehouse.errors import LakehouseError
from lakehouse.storage import LocalStorage, S3Storage, StorageError, open_storage

if TYPE_CHECKING:
    from lakehouse.config import Settings


#: Where the lock lives, relative to the lake root.
LOCK_PATH = "_lakehouse/writer.lock"
#: The local holder's description (the S3 lease object holds its own).
HOLDER_PATH = "_lakehouse/writer.json"


class LakeLockedError(LakehouseError):
    """Another process holds the lake's writer lock."""

    exit_code = EXIT_LOCKED

    def __init__(self, message: str, holder: Holder | None) -> None:
        super().__init__(message)
        self.holder = holder


class LockLostError(LakehouseError):
    """This process's S3 lease was taken over by another writer while it held it."""

    exit_code = EXIT_LOCKED


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) the lock."""

    command: str
    pid: int
    host: str
    process_started: float  # the process's start time (epoch seconds): guards pid reuse
    acquired_at: str  # ISO 8601, UTC
    token: str
    lease_seconds: float | None = None  # S3 only

    @classmethod
    def of_this_process(cls, command: str, lease_seconds: float | None = None) -> Holder:
        return cls(
            command=command,
            pid=os.getpid(),
            host=socket.gethostname(),
            process_started=_process_start(os.getpid()) or 0.0,
            acquired_at=datetime.now(UTC).isoformat(timespec="seconds"),
            token=uuid.uuid4().hex,
            lease_seconds=lease_seconds,
        )

    def to_json(self, **extra: Any) -> bytes:
        return json.dumps({**asdict(self), **extra}, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Holder | None:
        """The holder a record describes; ``None`` for a record that is not one."""
        try:
            raw = json.loads(data)
            return cls(
                command=str(raw["command"]),
                pid=int(raw["pid"]),
                host=str(raw["host"]),
                process_started=float(raw["process_started"]),
                acquired_at=str(raw["acquired_at"]),
                token=str(raw["token"]),
                lease_seconds=None
                if raw.get("lease_seconds") is None
                else float(raw["lease_seconds"]),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def is_on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    def process_is_gone(self) -> bool:
        """On this host: its process id is free or now names another process."""
        started = _process_start(self.pid)
        return started is None or abs(started - self.process_started) > 1.0

    def describe(self) -> str:
        since = self.acquired_at
        with contextlib.suppress(ValueError):
            taken = datetime.fromisoformat(self.acquired_at)
            ago = int((datetime.now(UTC) - taken).total_seconds())
            since = f"{taken:%Y-%m-%d %H:%M:%S} UTC, {_duration(ago)} ago"
        return f"'lakehouse {self.command}' (pid {self.pid} on {self.host}, since {since})"


def _duration(seconds: int) -> str:
    seconds = max(seconds, 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _process_start(pid: int) -> float | None:
    """When the process ``pid`` of this host started, or ``None`` if there is none."""
    try:
        return round(float(psutil.Process(pid).create_time()), 2)
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:
        # It exists (another user's process): that is all we need to know.
        return float("nan")


@dataclass
class LockHandle:
    """A held lock; ``broken`` is the dead holder whose lock this one replaced, if any."""

    lake_uri: str
    holder: Holder
    broken: Holder | None = None
    _backend: _Backend | None = None

    def ensure_held(self) -> None:
        """Raise :class:`LockLostError` if the lease was taken over (S3; never locally)."""
        if self._backend is not None:
            self._backend.ensure_held()


class _Backend:
    """One way of holding the lock: try once, check, release."""

    def try_acquire(self, me: Holder) -> tuple[bool, Holder | None]:
        """``(True, broken holder or None)`` when taken, ``(False, current holder)`` if not."""
        raise NotImplementedError

    def ensure_held(self) -> None:
        return None

    def release(self) -> None:
        raise NotImplementedError


class _LocalBackend(_Backend):
    def __init__(self, storage: LocalStorage) -> None:
        self.storage = storage
        self._fd: int | None = None

    def _holder(self) -> Holder | None:
        try:
            return Holder.from_json(self.storage.read_bytes(HOLDER_PATH))
        except FileNotFoundError:
            return None

    def _live_holder(self) -> Holder | None:
        """The holder's description; ``None`` if it does not say within half a second."""
        for _ in range(10):
            holder = self._holder()
            # A holder writes its description right after locking: until then the file is
            # absent or still describes a dead holder.
            if holder is not None and not (holder.is_on_this_host() and holder.process_is_gone()):
                return holder
            time.sleep(0.05)
        return None

    def try_acquire(self, me: Holder) -> tuple[bool, Holder | None]:
        path = self.storage.uri_of(LOCK_PATH)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False, self._live_holder()
        except OSError as exc:
            os.close(fd)
            raise StorageError(
                f"cannot lock {path}: {exc.strerror}; the lake folder must be on a local file "
                "system that supports flock (use an s3:// lake for a shared one)"
            ) from exc
        self._fd = fd
        # Whoever described itself here and did not clean up died holding the lock.
        broken = self._holder()
        self.storage.write_bytes(HOLDER_PATH, me.to_json())
        return True, broken

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            # The description goes first: one found later always means a dead holder.
            self.storage.delete(HOLDER_PATH)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


_PRECONDITION = ("PreconditionFailed", "412")
_CONFLICT = ("ConditionalRequestConflict", "409")
_MISSING = ("NoSuchKey", "404", "NotFound")


class _S3Backend(_Backend):
    def __init__(self, storage: S3Storage, lease_seconds: float) -> None:
        self.storage = storage
        self.lease_seconds = lease_seconds
        self.key = storage.uri_of(LOCK_PATH).removeprefix(f"s3://{storage.bucket}/")
        self._etag: str | None = None
        self._me: Holder | None = None
        self._lost: str | None = None
        self._etag_lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _put(self, me: Holder, **condition: str) -> str | None:
        """Write the lease under a condition; its new ETag, or ``None`` if the condition failed."""
        body = me.to_json(renewed_at=datetime.now(UTC).isoformat(timespec="milliseconds"))
        try:
            response = self.storage.client.put_object(
                Bucket=self.storage.bucket,
                Key=self.key,
                Body=body,
                ContentType="application/json",
                **condition,  # type: ignore[arg-type]
            )
        except Exception as exc:  # botocore raises ClientError subclasses per code
            code = _error_code(exc)
            if code in _PRECONDITION or code in _CONFLICT or code in _MISSING:
                return None
            raise self.storage.error(
                f"cannot write the lake lock {self.storage.uri_of(LOCK_PATH)}", exc
            ) from exc
        return str(response["ETag"])

    def _read(self) -> tuple[Holder | None, str, float] | None:
        """The lease's holder, ETag and age in seconds on S3's clock; ``None`` when absent."""
        try:
            obj = self.storage.client.get_object(Bucket=self.storage.bucket, Key=self.key)
        except Exception as exc:  # botocore: a missing key is one of several classes
            if _error_code(exc) in _MISSING:
                return None
            raise self.storage.error(
                f"cannot read the lake lock {self.storage.uri_of(LOCK_PATH)}", exc
            ) from exc
        body = obj["Body"].read()
        date = obj["ResponseMetadata"].get("HTTPHeaders", {}).get("date")
        if not date:
            raise StorageError(
                f"the S3 API at {self.storage.uri} sent no Date header: the lake lock measures "
                "lease ages on the server's clock and cannot tell a stale lease without it"
            )
        age = (parsedate_to_datetime(date) - obj["LastModified"]).total_seconds()
        return Holder.from_json(body), str(obj["ETag"]), age

    def _stale(self, holder: Holder | None, age: float) -> bool:
        lease = self.lease_seconds
        if holder is None:
            # Not a lease this code wrote (a torn manual edit): stale after one lease.
            return age > lease
        if holder.is_on_this_host() and holder.process_is_gone():
            return True
        # One second of slack: Last-Modified and Date have a resolution of one second.
        return age > (holder.lease_seconds or lease) + 1.0

    def try_acquire(self, me: Holder) -> tuple[bool, Holder | None]:
        for _ in range(5):  # 409 conflicts and races with a releasing holder: try again
            etag = self._put(me, IfNoneMatch="*")
            if etag is not None:
                self._start(me, etag)
                return True, None
            current = self._read()
            if current is None:
                continue  # released between our write and our read
            holder, stale_etag, age = current
            if not self._stale(holder, age):
                return False, holder
            etag = self._put(me, IfMatch=stale_etag)
            if etag is not None:
                self._start(me, etag)
                return True, holder
        current = self._read()
        return False, current[0] if current else None

    def _start(self, me: Holder, etag: str) -> None:
        self._me, self._etag, self._lost = me, etag, None
        self._stop.clear()
        self._renewer = threading.Thread(
            target=self._renew_loop, name="lake-lock-renewal", daemon=True
        )
        self._renewer.start()

    def _renew_loop(self) -> None:
        assert self._me is not None
        interval = max(self.lease_seconds / 4, 0.05)
        while not self._stop.wait(interval):
            with self._etag_lock:
                if self._etag is None:
                    return
                try:
                    etag = self._put(self._me, IfMatch=self._etag)
                except StorageError:
                    continue  # S3 unreachable for a moment: the next renewal tries again
                if etag is None:
                    self._lost = (
                        f"the lake lock {self.storage.uri_of(LOCK_PATH)} was taken over by "
                        "another writer: this process did not renew it within its lease "
                        f"({self.lease_seconds:g} s)"
                    )
                    self._etag = None
                    return
                self._etag = etag

    def ensure_held(self) -> None:
        if self._lost:
            raise LockLostError(self._lost)

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        with self._etag_lock:
            etag, self._etag = self._etag, None
        if etag is None:
            return  # lost: the lease is someone else's now
        try:
            self.storage.client.delete_object(
                Bucket=self.storage.bucket, Key=self.key, IfMatch=etag
            )
        except Exception as exc:  # botocore: 412 when the lease is no longer ours
            if _error_code(exc) in _PRECONDITION or _error_code(exc) in _MISSING:
                return
            raise self.storage.error(
                f"cannot release the lake lock {self.storage.uri_of(LOCK_PATH)}", exc
            ) from exc


@dataclass
class _Held:
    handle: LockHandle
    backend: _Backend
    depth: int


_held: dict[str, _Held] = {}
_held_lock = threading.Lock()


def _backend_for(lake_uri: str, lease_seconds: float) -> _Backend:
    storage = open_storage(lake_uri)
    if isinstance(storage, S3Storage):
        return _S3Backend(storage, lease_seconds)
    assert isinstance(storage, LocalStorage)
    return _LocalBackend(storage)


@contextlib.contextmanager
def lake_lock(
    lake_uri: str,
    command: str,
    *,
    wait: float = 0.0,
    lease_seconds: float = 60.0,
    poll_seconds: float | None = None,
    on_wait: Callable[[Holder | None], None] | None = None,
) -> Iterator[LockHandle]:
    """Hold the lake's writer lock for the block.

    Args:
        lake_uri: the lake root (a folder or ``s3://bucket/prefix``).
        command: what this process is doing, as the holder's description shows it
            (e.g. ``"pipeline run"``).
        wait: seconds to wait for another holder before giving up; 0 tries once.
        lease_seconds: S3 only: how long a lease lasts without renewal.
        poll_seconds: how often to try again while waiting.
        on_wait: called once, with the holder, when this process starts waiting.

    Raises:
        LakeLockedError: another process held the lock for all of ``wait``.
    """
    with _held_lock:
        held = _held.get(lake_uri)
        if held is not None:
            held.depth += 1
    if held is not None:
        try:
            yield held.handle
        finally:
            with _held_lock:
                held.depth -= 1
        return

    backend = _backend_for(lake_uri, lease_seconds)
    me = Holder.of_this_process(command, lease_seconds if isinstance(backend, _S3Backend) else None)
    poll = (
        poll_seconds
        if poll_seconds is not None
        else (1.0 if isinstance(backend, _S3Backend) else 0.2)
    )
    deadline = time.monotonic() + wait
    waited = False
    while True:
        taken, other = backend.try_acquire(me)
        if taken:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            who = other.describe() if other else "a process that is starting"
            waited_for = f" after waiting {wait:g} s" if wait > 0 else ""
            raise LakeLockedError(
                f"the lake {lake_uri} is locked by another writer{waited_for}: {who}. Only one "
                "command writes a lake at a time: let it finish (or stop it), or pass "
                "--wait SECONDS to wait for it",
                other,
            )
        if not waited and on_wait is not None:
            on_wait(other)
        waited = True
        time.sleep(min(poll, remaining))

    handle = LockHandle(lake_uri, me, broken=other, _backend=backend)
    with _held_lock:
        _held[lake_uri] = _Held(handle, backend, 1)
    try:
        yield handle
    finally:
        with _held_lock:
            _held.pop(lake_uri, None)
        backend.release()


def writer_lock(
    settings: Settings,
    command: str,
    *,
    wait: float = 0.0,
    on_wait: Callable[[Holder | None], None] | None = None,
) -> contextlib.AbstractContextManager[LockHandle]:
    """:func:`lake_lock` on the settings' lake, with the settings' lease.

    Wrap every command that writes the lake's tables in it::

        with writer_lock(settings, "maintain", wait=wait):
            ...
    """
    return lake_lock(
        settings.lake_uri,
        command,
        wait=wait,
        lease_seconds=settings.lock_lease_seconds,
        on_wait=on_wait,
    )
