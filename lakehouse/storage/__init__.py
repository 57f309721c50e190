"""Lake file targets: a local folder or an S3 prefix, with atomic visibility of written files.

A file written through :meth:`Storage.open_atomic` becomes visible only when it is complete
and durable: locally it is written under a temporary name in the same folder, fsync'ed, renamed
into place and the folder fsync'ed; on S3 it is one completed PUT (a multipart upload for large
files, which S3 makes visible only on completion). Readers never see half a file.

Paths passed to a storage are relative to its root and use ``/``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Protocol, Self

from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Temporary files carry this prefix so that listings (and lake readers) can skip them.
TEMP_PREFIX = ".tmp-"


class StorageError(LakehouseError):
    """A lake target cannot be read or written."""


class AtomicWriter(Protocol):
    """A file being written; visible only after :meth:`commit`."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...

    def __enter__(self) -> AtomicWriter: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class Storage(Protocol):
    """A lake root: a local folder or ``s3://bucket/prefix``."""

    @property
    def uri(self) -> str: ...

    def uri_of(self, path: str) -> str:
        """The full URI (local path or ``s3://``) of a relative path."""
        ...

    def open_atomic(self, path: str) -> AtomicWriter: ...

    def write_bytes(self, path: str, data: bytes) -> None: ...

    def read_bytes(self, path: str) -> bytes:
        """The file's bytes; :class:`FileNotFoundError` when it does not exist."""
        ...

    def read_head(self, path: str, size: int) -> bytes:
        """The file's first ``size`` bytes (all of it when shorter), without reading the rest;
        :class:`FileNotFoundError` when it does not exist."""
        ...

    def exists(self, path: str) -> bool: ...

    def list_files(self, folder: str) -> list[str]:
        """Names (not paths) of the complete files directly in ``folder``, sorted."""
        ...

    def list_folders(self, folder: str) -> list[str]:
        """Names of the sub-folders directly in ``folder``, sorted."""
        ...

    def delete(self, path: str) -> None: ...

    def total_bytes(self, folder: str) -> int:
        """Bytes of every complete file below ``folder``, at any depth; 0 when it is missing."""
        ...

    def check_writable(self) -> None:
        """Raise :class:`StorageError` unless a file can be written and deleted here."""
        ...


class _Writer:
    """What both writers share: the open handle (``None`` once committed or aborted), and a
    ``with`` block that commits when it ends cleanly and aborts when it raises."""

    _fh: IO[bytes] | None

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self._fh is not None:
            self.commit()
        else:
            self.abort()


class _LocalWriter(_Writer):
    def __init__(self, final: Path) -> None:
        self._final = final
        final.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = final.parent / f"{TEMP_PREFIX}{final.name}.{uuid.uuid4().hex[:8]}"
        # "x": a name no other writer holds (never truncate another writer's file).
        self._fh: IO[bytes] | None = open(self._tmp, "xb")  # noqa: SIM115 - closed in commit/abort

    def write(self, data: bytes) -> None:
        if self._fh is None:
            raise StorageError(f"{self._final}: write after commit/abort")
        self._fh.write(data)

    def commit(self) -> None:
        if self._fh is None:
            raise StorageError(f"{self._final}: committed twice")
        fh, self._fh = self._fh, None
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(self._tmp, self._final)
        # The rename is durable only once the folder entry is on disk.
        dir_fd = os.open(self._final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()


class LocalStorage:
    """A folder on the local file system."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    @property
    def uri(self) -> str:
        return str(self.root)

    def _path(self, path: str) -> Path:
        p = (self.root / path.strip("/")).resolve()
        if p != self.root and self.root not in p.parents:
            raise StorageError(f"{path!r} leaves the lake folder {self.root}")
        return p

    def uri_of(self, path: str) -> str:
        return str(self._path(path))

    def open_atomic(self, path: str) -> AtomicWriter:
        try:
            return _LocalWriter(self._path(path))
        except OSError as exc:
            raise StorageError(
                f"cannot write {self._path(path)}: {exc.strerror}; check that the folder "
                "exists and is writable, or choose another lake location (LAKEHOUSE_LAKE)"
            ) from exc

    def write_bytes(self, path: str, data: bytes) -> None:
        with self.open_atomic(path) as w:
            w.write(data)

    def read_bytes(self, path: str) -> bytes:
        return self._path(path).read_bytes()

    def read_head(self, path: str, size: int) -> bytes:
        with self._path(path).open("rb") as fh:
            return fh.read(size)

    def exists(self, path: str) -> bool:
        return self._path(path).is_file()

    def list_files(self, folder: str) -> list[str]:
        d = self._path(folder)
        if not d.is_dir():
            return []
        return sorted(
            e.name for e in os.scandir(d) if e.is_file() and not e.name.startswith(TEMP_PREFIX)
        )

    def list_folders(self, folder: str) -> list[str]:
        d = self._path(folder)
        if not d.is_dir():
            return []
        return sorted(e.name for e in os.scandir(d) if e.is_dir())

    def delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(path).unlink()

    def total_bytes(self, folder: str) -> int:
        total = 0
        for dirpath, _dirs, names in os.walk(self._path(folder)):
            for name in names:
                if not name.startswith(TEMP_PREFIX):
                    with contextlib.suppress(FileNotFoundError):  # deleted while we walk
                        total += os.stat(os.path.join(dirpath, name)).st_size
        return total

    def check_writable(self) -> None:
        probe = f"_lakehouse/{TEMP_PREFIX}probe-{uuid.uuid4().hex[:8]}"
        try:
            self.write_bytes(probe, b"probe")
            self.delete(probe)
        except OSError as exc:
            raise StorageError(
                f"the lake folder {self.root} is not writable ({exc.strerror}); fix its "
                "permissions or choose another location (LAKEHOUSE_LAKE)"
            ) from exc


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b")``."""
    if not uri.startswith("s3://"):
        raise StorageError(f"{uri!r} is not an s3://bucket/prefix URI")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise StorageError(f"{uri!r} names no bucket; use s3://bucket/prefix")
    return bucket, prefix.strip("/")


class _S3Writer(_Writer):
    # Spooled in memory up to this size, then on local disk, until the PUT.
    _SPOOL_BYTES = 64 * 1024 * 1024

    def __init__(self, storage: S3Storage, key: str) -> None:
        self._storage = storage
        self._key = key
        self._fh: IO[bytes] | None = tempfile.SpooledTemporaryFile(max_size=self._SPOOL_BYTES)  # noqa: SIM115

    def write(self, data: bytes) -> None:
        if self._fh is None:
            raise StorageError(f"s3://{self._storage.bucket}/{self._key}: write after commit")
        self._fh.write(data)

    def commit(self) -> None:
        if self._fh is None:
            raise StorageError(f"s3://{self._storage.bucket}/{self._key}: committed twice")
        buf, self._fh = self._fh, None
        try:
            buf.seek(0)
            # upload_fileobj returns only after the (multipart) upload is completed.
            self._storage.client.upload_fileobj(buf, self._storage.bucket, self._key)
        except Exception as exc:  # botocore raises many unrelated classes; re-raise as ours
            where = f"cannot write s3://{self._storage.bucket}/{self._key}"
            raise self._storage.error(where, exc) from exc
        finally:
            buf.close()

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class S3Storage:
    """An S3 prefix through boto3 (``AWS_ENDPOINT_URL`` selects an S3 API such as moto)."""

    def __init__(self, uri: str, client: S3Client | None = None) -> None:
        self.bucket, self.prefix = parse_s3_uri(uri)
        if client is None:
            import boto3
            from botocore.config import Config

            # boto3 reads AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 from the environment itself.
            # Short connect timeouts and few retries: an unreachable target should fail in
            # seconds with a clear message, not hang the replicator.
            config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3})
            client = boto3.client("s3", config=config)
        self.client = client

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, path: str) -> str:
        path = path.strip("/")
        return f"{self.prefix}/{path}" if self.prefix else path

    def uri_of(self, path: str) -> str:
        return f"s3://{self.bucket}/{self._key(path)}"

    def error(self, what: str, exc: BaseException) -> StorageError:
        return StorageError(
            f"{what}: {exc}. Check that the bucket exists, the credentials allow it and the "
            "endpoint (AWS_ENDPOINT_URL) is reachable."
        )

    def open_atomic(self, path: str) -> AtomicWriter:
        return _S3Writer(self, self._key(path))

    def write_bytes(self, path: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(path), Body=data)
        except Exception as exc:  # botocore errors: re-raised with instructions
            raise self.error(f"cannot write {self.uri_of(path)}", exc) from exc

    def read_bytes(self, path: str) -> bytes:
        return self._get(path)

    def read_head(self, path: str, size: int) -> bytes:
        return self._get(path, size) if size > 0 else b""

    def _get(self, path: str, head: int | None = None) -> bytes:
        """The object's bytes, or its first ``head`` bytes by a ranged GET (an object shorter
        than the range comes whole: RFC 9110 14.1.2)."""
        key = self._key(path)
        try:
            if head is None:
                obj = self.client.get_object(Bucket=self.bucket, Key=key)
            else:
                obj = self.client.get_object(
                    Bucket=self.bucket, Key=key, Range=f"bytes=0-{head - 1}"
                )
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(self.uri_of(path)) from exc
        except Exception as exc:  # botocore errors: re-raised with instructions
            raise self.error(f"cannot read {self.uri_of(path)}", exc) from exc
        body: bytes = obj["Body"].read()
        return body

    def exists(self, path: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(path))
        except Exception as exc:  # botocore ClientError 404 means absent
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self.error(f"cannot read {self.uri_of(path)}", exc) from exc
        return True

    def _list(self, folder: str) -> tuple[list[str], list[str]]:
        prefix = self._key(folder).rstrip("/") + "/"
        files: list[str] = []
        folders: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter="/"
            )
            for page in pages:
                page_any: dict[str, Any] = dict(page)
                files.extend(o["Key"][len(prefix) :] for o in page_any.get("Contents", []))
                folders.extend(
                    p["Prefix"][len(prefix) :].rstrip("/")
                    for p in page_any.get("CommonPrefixes", [])
                )
        except Exception as exc:  # botocore errors: re-raised with instructions
            raise self.error(f"cannot list s3://{self.bucket}/{prefix}", exc) from exc
        return sorted(files), sorted(folders)

    def list_files(self, folder: str) -> list[str]:
        return self._list(folder)[0]

    def list_folders(self, folder: str) -> list[str]:
        return self._list(folder)[1]

    def delete(self, path: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(path))
        except Exception as exc:  # botocore errors: re-raised with instructions
            raise self.error(f"cannot delete {self.uri_of(path)}", exc) from exc

    def total_bytes(self, folder: str) -> int:
        prefix = self._key(folder).rstrip("/") + "/" if folder.strip("/") else self._key("")
        total = 0
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                total += sum(int(o["Size"]) for o in page.get("Contents", []))
        except Exception as exc:  # botocore errors: re-raised with instructions
            raise self.error(f"cannot list s3://{self.bucket}/{prefix}", exc) from exc
        return total

    def check_writable(self) -> None:
        probe = f"_lakehouse/{TEMP_PREFIX}probe-{uuid.uuid4().hex[:8]}"
        self.write_bytes(probe, b"probe")
        self.delete(probe)


def open_storage(uri: str) -> Storage:
    """A storage for a local folder or an ``s3://bucket/prefix`` URI."""
    if uri.startswith("s3://"):
        return S3Storage(uri)
    if "://" in uri:
        raise StorageError(f"unsupported lake location {uri!r}: use a folder or s3://bucket/prefix")
    return LocalStorage(uri)
