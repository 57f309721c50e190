"""Statements kept prepared: the same answers without sqlglot, a new preparation whenever the
catalog changes, nothing kept for a failure, and a forged entry unable to widen what a tenant's
session reads."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lakehouse.athena import prepared
from lakehouse.athena.engine import AthenaEngine, AthenaQueryError
from lakehouse.catalog.crawler import crawl
from lakehouse.catalog.store import load_catalog
from tests.support.lake_iceberg import IcebergLake

COUNT_SUM = "select count(*), sum(amount) from silver.orders"


def _entries(iceberg_lake: IcebergLake) -> list[Path]:
    return sorted(iceberg_lake.root.joinpath(*prepared.CACHE_DIR).glob("*.json"))


def _entry_file(iceberg_lake: IcebergLake, text: str) -> Path:
    fingerprint = load_catalog(iceberg_lake.settings.catalog_uri).fingerprint
    assert fingerprint is not None
    limits = (iceberg_lake.settings.athena_max_sql_bytes, iceberg_lake.settings.athena_max_nesting)
    key = prepared.key_of(text, fingerprint, *limits)
    return iceberg_lake.root.joinpath(*prepared.CACHE_DIR, f"{key}.json")


def _rows(
    iceberg_lake: IcebergLake, text: str, tenant: str | None = None
) -> list[tuple[object, ...]]:
    with AthenaEngine(iceberg_lake.settings, tenant=tenant, save_results=False) as engine:
        return list(engine.execute(text)[-1].rows)


def test_a_kept_statement_gives_the_same_answer_without_sqlglot(iceberg_lake: IcebergLake) -> None:
    probe = textwrap.dedent(
        f"""
        import json, sys
        from lakehouse.athena.engine import AthenaEngine
        from lakehouse.config import Settings
        settings = Settings(lake={str(iceberg_lake.root)!r}, _env_file=None)
        with AthenaEngine(settings, tenant="globex", save_results=False) as engine:
            (result,) = engine.execute({COUNT_SUM!r})
        print(json.dumps([str(result.rows), result.query, "sqlglot" in sys.modules]))
        """
    )

    def run() -> list[object]:
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        )
        return list(json.loads(out.stdout.splitlines()[-1]))

    first_rows, first_text, first_loaded = run()
    assert first_loaded is True  # the first run parses, checks and translates
    again_rows, again_text, again_loaded = run()
    assert (again_rows, again_text) == (first_rows, first_text)
    assert again_loaded is False
    assert first_rows == str([iceberg_lake.expected("third", "globex")])
    assert _entry_file(iceberg_lake, COUNT_SUM) in _entries(iceberg_lake)


def test_a_changed_catalog_prepares_again(iceberg_lake: IcebergLake) -> None:
    assert _rows(iceberg_lake, COUNT_SUM) == [iceberg_lake.expected("third")]
    kept = _entries(iceberg_lake)
    assert len(kept) == 1
    # The table is dropped from the catalog: the kept statement (which read it) is not used,
    # and the statement is checked again against the catalog as it is now.
    catalog = load_catalog(iceberg_lake.settings.catalog_uri)
    catalog.delete("silver", "orders")
    with pytest.raises(AthenaQueryError) as missing:
        _rows(iceberg_lake, COUNT_SUM)
    assert missing.value.code == "TABLE_NOT_FOUND"
    assert _entries(iceberg_lake) == kept  # a failure is never kept
    crawl(iceberg_lake.settings, ["silver"])
    assert _rows(iceberg_lake, COUNT_SUM) == [iceberg_lake.expected("third")]


def test_other_limits_prepare_again(iceberg_lake: IcebergLake) -> None:
    assert _rows(iceberg_lake, COUNT_SUM) == [iceberg_lake.expected("third")]
    small = iceberg_lake.settings.replace(athena_max_sql_bytes=len(COUNT_SUM) - 1)
    with (
        AthenaEngine(small, save_results=False) as engine,
        pytest.raises(AthenaQueryError) as too_long,
    ):
        engine.execute(COUNT_SUM)
    assert too_long.value.code == "SYNTAX_ERROR"


def test_a_time_travel_statement_is_not_kept(iceberg_lake: IcebergLake) -> None:
    first = iceberg_lake.snapshots["first"]
    text = f"select count(*), sum(amount) from silver.orders for version as of {first}"
    assert _rows(iceberg_lake, text) == [iceberg_lake.expected("first")]
    assert _entries(iceberg_lake) == []


def test_a_forged_entry_cannot_read_another_tenants_rows(iceberg_lake: IcebergLake) -> None:
    assert _rows(iceberg_lake, COUNT_SUM, "acme") == [iceberg_lake.expected("third", "acme")]
    entry = _entry_file(iceberg_lake, COUNT_SUM)
    data_file = next((iceberg_lake.root / "silver" / "orders" / "data").rglob("*.parquet"))
    document = json.loads(entry.read_text())
    for duck_sql in (
        # Every tenant's rows straight from a data file, and from DuckDB's file functions.
        f"select count(*), sum(amount) from read_parquet('{data_file}')",
        f"select count(*), sum(amount) from '{data_file}'",
        "select count(*), sum(amount) from query('select 1 as amount')",
    ):
        document["statements"][0]["duck_sql"] = duck_sql
        entry.write_text(json.dumps(document))
        with pytest.raises(AthenaQueryError):
            _rows(iceberg_lake, COUNT_SUM, "acme")
    # The tenant's own copied table is all a forged statement can reach: acme's rows only.
    document["statements"][0]["duck_sql"] = "select count(*), sum(amount) from silver.orders"
    document["statements"][0]["tables"] = ["silver.orders"]
    entry.write_text(json.dumps(document))
    assert _rows(iceberg_lake, COUNT_SUM, "acme") == [iceberg_lake.expected("third", "acme")]


def test_an_entry_naming_a_table_outside_the_catalog_is_not_used(iceberg_lake: IcebergLake) -> None:
    assert _rows(iceberg_lake, COUNT_SUM) == [iceberg_lake.expected("third")]
    entry = _entry_file(iceberg_lake, COUNT_SUM)
    document = json.loads(entry.read_text())
    document["statements"][0]["tables"] = ["silver.not_in_the_catalog"]
    document["statements"][0]["duck_sql"] = "select 0, 0"
    entry.write_text(json.dumps(document))
    assert _rows(iceberg_lake, COUNT_SUM) == [iceberg_lake.expected("third")]  # prepared again
    assert json.loads(entry.read_text())["statements"][0]["tables"] == ["silver.orders"]


def test_an_unreadable_entry_is_prepared_again(iceberg_lake: IcebergLake) -> None:
    assert _rows(iceberg_lake, COUNT_SUM) == [iceberg_lake.expected("third")]
    entry = _entry_file(iceberg_lake, COUNT_SUM)
    entry.write_text('{"statements": [')  # cut short, as by a crash
    assert _rows(iceberg_lake, COUNT_SUM) == [iceberg_lake.expected("third")]
    assert prepared.load(iceberg_lake.root, entry.stem) is not None


def test_prune_removes_entries_of_another_catalog(iceberg_lake: IcebergLake) -> None:
    assert _rows(iceberg_lake, COUNT_SUM) == [iceberg_lake.expected("third")]
    old = _entries(iceberg_lake)
    catalog = load_catalog(iceberg_lake.settings.catalog_uri)
    catalog.delete("silver", "tenants")
    assert _rows(iceberg_lake, COUNT_SUM) == [iceberg_lake.expected("third")]
    current = _entry_file(iceberg_lake, COUNT_SUM)
    assert set(_entries(iceberg_lake)) == {*old, current}
    (current.parent / f"{'0' * 64}.json").write_text("{")
    fingerprint = load_catalog(iceberg_lake.settings.catalog_uri).fingerprint
    assert fingerprint is not None
    assert prepared.prune(iceberg_lake.root, fingerprint) == len(old) + 1
    assert _entries(iceberg_lake) == [current]


def test_many_distinct_texts_keep_the_folder_bounded_and_the_used_entry(
    iceberg_lake: IcebergLake, monkeypatch: pytest.MonkeyPatch, cap_every_write: None
) -> None:
    # A user asking page after page (each a new text, each a new entry) must not grow the lake
    # without end, and must not evict the statement everyone keeps running.
    monkeypatch.setattr(prepared, "MAX_ENTRIES", 8)
    want = [iceberg_lake.expected("third")]
    assert _rows(iceberg_lake, COUNT_SUM) == want
    kept = _entry_file(iceberg_lake, COUNT_SUM)
    for page in range(30):
        text = f"select count(*) from silver.orders offset {page} limit 1"
        assert len(_rows(iceberg_lake, text)) == (1 if page == 0 else 0)
        assert len(_entries(iceberg_lake)) <= 8
        if page % 4 == 0:
            assert kept.exists()  # still kept: read again below, a hit, which touches it
            assert _rows(iceberg_lake, COUNT_SUM) == want
    assert kept in _entries(iceberg_lake)
