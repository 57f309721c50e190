"""Local and S3 lake targets: atomic visibility, listing, errors that say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.storage import (
    TEMP_PREFIX,
    LocalStorage,
    S3Storage,
    Storage,
    StorageError,
    open_storage,
    parse_s3_uri,
)
from tests.support.moto import MotoS3


def _write_then_fail(storage: Storage, path: str) -> None:
    with storage.open_atomic(path) as w:
        w.write(b"partial")
        raise RuntimeError("boom")


def _exercise(storage: Storage) -> None:
    assert storage.list_files("a/b") == []
    storage.write_bytes("a/b/one.bin", b"\x00\x01")
    with storage.open_atomic("a/b/two.bin") as w:
        w.write(b"he")
        w.write(b"llo")
        # Not visible before the end of the block.
        assert storage.list_files("a/b") == ["one.bin"]
    assert storage.read_bytes("a/b/two.bin") == b"hello"
    # The head of a file without the rest (a ranged GET on S3); a short file comes whole.
    assert storage.read_head("a/b/two.bin", 3) == b"hel"
    assert storage.read_head("a/b/two.bin", 1000) == b"hello"
    assert storage.read_head("a/b/two.bin", 0) == b""
    with pytest.raises(FileNotFoundError):
        storage.read_head("a/b/none.bin", 3)
    assert storage.list_files("a/b") == ["one.bin", "two.bin"]
    assert storage.list_folders("a") == ["b"]
    # Sizes at any depth (what Spark's memory is sized from).
    storage.write_bytes("a/c/d/three.bin", b"123")
    assert storage.total_bytes("a") == 2 + 5 + 3
    assert storage.total_bytes("") == 2 + 5 + 3
    assert storage.total_bytes("a/c") == 3
    assert storage.total_bytes("none") == 0
    storage.delete("a/c/d/three.bin")
    assert storage.exists("a/b/one.bin")
    assert not storage.exists("a/b/none.bin")
    with pytest.raises(FileNotFoundError):
        storage.read_bytes("a/b/none.bin")
    # A failed write leaves nothing behind.
    with pytest.raises(RuntimeError):
        _write_then_fail(storage, "a/b/three.bin")
    assert storage.list_files("a/b") == ["one.bin", "two.bin"]
    storage.delete("a/b/one.bin")
    assert storage.list_files("a/b") == ["two.bin"]
    storage.check_writable()


def test_local_storage(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "lake")
    _exercise(storage)
    # No temporary file is left, and none would be listed.
    folder = tmp_path / "lake" / "a" / "b"
    assert sorted(p.name for p in folder.iterdir()) == ["two.bin"]
    (folder / f"{TEMP_PREFIX}x").write_bytes(b"half")
    assert storage.list_files("a/b") == ["two.bin"]
    with pytest.raises(StorageError, match="leaves the lake folder"):
        storage.read_bytes("../outside")


def test_local_storage_unwritable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    storage = open_storage(str(tmp_path / "file" / "bronze"))
    with pytest.raises(StorageError, match="LAKEHOUSE_LAKE"):
        storage.check_writable()


def test_s3_storage(s3_env: MotoS3) -> None:
    bucket = s3_env.new_bucket()
    storage = open_storage(f"s3://{bucket}/some/prefix")
    assert isinstance(storage, S3Storage)
    _exercise(storage)
    assert storage.uri_of("a/b/two.bin") == f"s3://{bucket}/some/prefix/a/b/two.bin"
    keys = [o["Key"] for o in storage.client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["some/prefix/a/b/two.bin"]


def test_s3_missing_bucket(s3_env: MotoS3) -> None:
    with pytest.raises(StorageError, match="bucket exists"):
        open_storage("s3://no-such-bucket-here/x").check_writable()


def test_s3_uri_parsing() -> None:
    assert parse_s3_uri("s3://b/x/y/") == ("b", "x/y")
    assert parse_s3_uri("s3://b") == ("b", "")
    with pytest.raises(StorageError):
        parse_s3_uri("s3:///x")
    with pytest.raises(StorageError, match="unsupported"):
        open_storage("gs://b/x")
