"""File-system access through Hadoop's FileSystem API, so one code path serves s3:// and local.

Spark already carries the right FileSystem for every scheme (S3 on Glue, the local disk on a
laptop), so the jobs list, read and delete through it instead of boto3 or ``os``.

:func:`write_text` replaces a file whole or not at all: a reader (or a process killed
mid-write) sees the previous content or the new one, never a part. The small JSON files the
jobs keep between runs (bookmarks, the offboarded tenants, the merged slices) depend on it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession


@dataclass(frozen=True)
class FileInfo:
    """One file: its fully qualified URI, size in bytes and modification time (ms since epoch)."""

    uri: str
    size: int
    modified_ms: int

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]


def qualify(path: str) -> str:
    """A local absolute path becomes a ``file:`` URI; URIs stay as they are."""
    if "://" in path or path.startswith("file:"):
        return path
    return f"file://{path}" if path.startswith("/") else path


def _jvm_path(spark: SparkSession, path: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hpath = jvm.org.apache.hadoop.fs.Path(qualify(path))
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]
    return hpath, hpath.getFileSystem(conf)


def _hidden(name: str) -> bool:
    # Same convention as Spark and Glue readers: _SUCCESS, .crc and temporary files are skipped.
    return name.startswith(("_", "."))


def list_files(spark: SparkSession, root: str) -> list[FileInfo]:
    """All visible files below ``root`` (recursively), sorted by URI; empty if it is missing."""
    hpath, fs = _jvm_path(spark, root)
    if not fs.exists(hpath):
        return []
    out: list[FileInfo] = []
    it = fs.listFiles(hpath, True)
    while it.hasNext():
        st = it.next()
        p = st.getPath()
        if _hidden(p.getName()):
            continue
        # Skip files inside hidden folders (e.g. Spark's _temporary) too.
        rel = str(p.toString())[len(str(hpath.toString())) :]
        if any(_hidden(part) for part in rel.split("/") if part):
            continue
        out.append(FileInfo(str(p.toString()), int(st.getLen()), int(st.getModificationTime())))
    return sorted(out, key=lambda f: f.uri)


def fingerprint(spark: SparkSession, root: str) -> str:
    """What a table folder is made of: its visible files, with sizes and modification times.

    Every rewrite of a Parquet table writes new files, so the fingerprint changes exactly when
    the table may have. Names are relative to ``root`` (``file:/x`` and ``file:///x`` agree).
    """
    hpath, _ = _jvm_path(spark, root)
    base = str(hpath.toString()).rstrip("/")  # the spelling list_files' URIs start with
    files = list_files(spark, root)
    lines = [f"{f.uri.removeprefix(base)} {f.size} {f.modified_ms}" for f in files]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def list_dirs(spark: SparkSession, root: str) -> list[str]:
    """Names of the direct sub-folders of ``root`` (empty if it is missing)."""
    hpath, fs = _jvm_path(spark, root)
    if not fs.exists(hpath):
        return []
    return sorted(
        str(st.getPath().getName())
        for st in fs.listStatus(hpath)
        if st.isDirectory() and not _hidden(str(st.getPath().getName()))
    )


def exists(spark: SparkSession, path: str) -> bool:
    hpath, fs = _jvm_path(spark, path)
    return bool(fs.exists(hpath))


def delete(spark: SparkSession, path: str) -> bool:
    """Delete a file or folder recursively; ``False`` if there was nothing to delete."""
    hpath, fs = _jvm_path(spark, path)
    return bool(fs.delete(hpath, True))


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write a small UTF-8 text file whole or not at all (overwriting), e.g. a JSON report.

    On the local disk Hadoop's ``create`` truncates the file and then writes it, so a crash in
    between leaves it empty or cut short: the text goes to a unique temporary file in the same
    folder instead, flushed to disk, then renamed over the file (:func:`replace_local`). On S3
    the object Hadoop's stream uploads when it is closed is one ``PutObject`` (or a multipart
    upload completed at close), and "Amazon S3 never adds partial objects"
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html): a reader sees the old
    object or the new one.
    """
    data = text.encode("utf-8")
    hpath, fs = _jvm_path(spark, path)
    if str(fs.getScheme()) == "file":
        replace_local(Path(str(fs.makeQualified(hpath).toUri().getPath())), data)
        return
    stream = fs.create(hpath, True)
    try:
        stream.write(bytearray(data))
    finally:
        stream.close()


def replace_local(target: Path, data: bytes) -> None:
    """Replace the local file ``target`` with ``data`` atomically and durably.

    The bytes are written to a hidden temporary file beside ``target`` (hidden: no lister of
    the lake counts it), fsync'ed, renamed over ``target`` (``rename(2)`` replaces a file in
    one step) and the folder fsync'ed so that the rename survives a power cut. A crash before
    the rename leaves ``target`` as it was and a hidden temporary file behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o644)  # as Hadoop creates files (mkstemp makes them 0600)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        # Hadoop's LocalFileSystem keeps a checksum of every file it wrote beside it
        # (.<name>.crc) and checks it on read: the old one would not match the new bytes.
        (target.parent / f".{target.name}.crc").unlink(missing_ok=True)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def read_text(spark: SparkSession, path: str) -> str | None:
    """Read a small UTF-8 text file; ``None`` when it does not exist."""
    hpath, fs = _jvm_path(spark, path)
    if not fs.exists(hpath):
        return None
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    stream = fs.open(hpath)
    try:
        data = jvm.org.apache.commons.io.IOUtils.toByteArray(stream)
    finally:
        stream.close()
    return bytes(data).decode("utf-8")


def read_head(spark: SparkSession, path: str, size: int) -> bytes:
    """Up to ``size`` bytes from the start of a file (``b""`` when it does not exist)."""
    hpath, fs = _jvm_path(spark, path)
    if not fs.exists(hpath):
        return b""
    stream = fs.open(hpath)
    try:
        # InputStream.readNBytes (Java 11+) returns a byte[], which py4j hands over as bytes.
        data = stream.readNBytes(size)
    finally:
        stream.close()
    return bytes(data)
