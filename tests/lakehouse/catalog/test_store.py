"""The catalog's table documents under concurrent writers and readers."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from lakehouse.catalog.store import Catalog, CatalogColumn, CatalogTable, load_catalog
from lakehouse.errors import LakehouseError

WRITERS = 8
ROUNDS = 25


def _table(files: int) -> CatalogTable:
    # A long column list makes each document large enough that writes overlap.
    return CatalogTable(
        database="silver",
        name="orders",
        format="iceberg",
        location="/lake/silver/orders",
        columns=tuple(CatalogColumn(f"column_{i}", "string") for i in range(400)),
        partition_keys=(),
        partitions=(),
        files=files,
        crawled_at="2026-01-01T00:00:00Z",
    )


def test_concurrent_saves_of_one_table_never_clobber_each_other(tmp_path: Path) -> None:
    """Writers saving the same table at once all succeed; every read sees one whole document."""
    root = tmp_path / "_catalog"
    document = root / "silver" / "orders.json"
    errors: list[BaseException] = []
    seen: set[int] = set()
    written = {writer * ROUNDS + r for writer in range(WRITERS) for r in range(ROUNDS)}
    start = threading.Barrier(WRITERS + 1)
    writers_done = threading.Event()

    def write(writer: int) -> None:
        catalog = Catalog(root=root)  # one catalog object per writer, as in separate processes
        start.wait()
        for r in range(ROUNDS):
            try:
                catalog.save(_table(writer * ROUNDS + r))
            except Exception as exc:  # collected: the test asserts there is none
                errors.append(exc)

    def read() -> None:
        start.wait()
        while not writers_done.is_set():
            try:
                text = document.read_text("utf-8")
            except FileNotFoundError:
                continue  # not written yet
            try:
                seen.add(int(json.loads(text)["files"]))
            except Exception as exc:  # a torn document: collected, asserted below
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    reader = threading.Thread(target=read)
    for t in [*threads, reader]:
        t.start()
    for t in threads:
        t.join()
    writers_done.set()
    reader.join()

    assert errors == []
    assert seen <= written
    final = load_catalog(str(root)).get("silver", "orders")
    assert final is not None
    assert final.files in written
    assert final == _table(final.files)
    # Only the document itself: no writer's temporary file is left behind.
    assert sorted(p.name for p in document.parent.iterdir()) == ["orders.json"]


def test_save_refuses_a_table_name_that_leaves_the_catalog(tmp_path: Path) -> None:
    catalog = Catalog(root=tmp_path / "_catalog")
    hostile = CatalogTable(
        database="silver",
        name="../../escaped",
        format="csv",
        location="/lake",
        columns=(),
        partition_keys=(),
        partitions=(),
        files=0,
        crawled_at="2026-01-01T00:00:00Z",
    )
    with pytest.raises(LakehouseError, match="is not usable"):
        catalog.save(hostile)
    assert list(tmp_path.rglob("*")) == []
