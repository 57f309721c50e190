"""Plans of Iceberg reads kept by their metadata: the same files as pyiceberg's own plan, a new
plan after every commit, and a kept plan that names a file outside the table is refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from pyiceberg.expressions import AlwaysTrue, EqualTo

from lakehouse.athena import iceberg_plan
from lakehouse.athena.engine import AthenaEngine, AthenaQueryError
from lakehouse.catalog.store import CatalogTable, load_catalog
from tests.support.lake_iceberg import (
    ORDERS_ARROW,
    TENANTS,
    IcebergLake,
    order_rows,
)

COUNT_SUM = "select count(*), sum(amount) from silver.orders"


def _pyiceberg_files(iceberg_lake: IcebergLake, tenant_id: str | None) -> set[Path]:
    """The oracle: pyiceberg's own scan planning of the current snapshot."""
    table = iceberg_lake.orders()
    row_filter = AlwaysTrue() if tenant_id is None else EqualTo("tenant_id", tenant_id)
    return {
        Path(os.path.realpath(task.file.file_path.removeprefix("file:")))
        for task in table.scan(row_filter=row_filter).plan_files()
    }


def _plans(iceberg_lake: IcebergLake) -> list[Path]:
    return sorted(iceberg_lake.root.joinpath(*iceberg_plan.CACHE_DIR).glob("*.json"))


def _plan_file(iceberg_lake: IcebergLake, tenant_id: str | None) -> Path:
    """Where the plan of ``silver.orders``'s current snapshot for ``tenant_id`` is kept."""
    table = load_catalog(iceberg_lake.settings.catalog_uri).get("silver", "orders")
    assert table is not None
    key = iceberg_plan.key_of(table, tenant_id)
    return iceberg_lake.root.joinpath(*iceberg_plan.CACHE_DIR, f"{key}.json")


def _kept_plan(iceberg_lake: IcebergLake, tenant_id: str | None) -> iceberg_plan.Plan:
    kept = iceberg_plan.load(iceberg_lake.root, _plan_file(iceberg_lake, tenant_id).stem)
    assert kept is not None
    return kept


@pytest.mark.parametrize("slug", [None, "acme", "globex"])
def test_the_kept_plan_has_the_files_pyiceberg_plans(
    iceberg_lake: IcebergLake, slug: str | None
) -> None:
    tenant_id = TENANTS[slug] if slug else None
    with AthenaEngine(iceberg_lake.settings, tenant=slug, save_results=False) as engine:
        first = engine.execute(COUNT_SUM)[0].rows
    kept = _kept_plan(iceberg_lake, tenant_id)
    assert set(kept.files) == _pyiceberg_files(iceberg_lake, tenant_id)
    assert len(kept.files) > 0
    assert [c.name for c in kept.columns] == [f.name for f in iceberg_lake.orders().schema().fields]
    # The second read uses the kept plan and gives the same answer as the first.
    with AthenaEngine(iceberg_lake.settings, tenant=slug, save_results=False) as engine:
        assert engine.execute(COUNT_SUM)[0].rows == first
    assert first == [iceberg_lake.expected("third", slug)]


def test_a_commit_makes_a_new_plan(iceberg_lake: IcebergLake) -> None:
    with AthenaEngine(iceberg_lake.settings, save_results=False) as engine:
        engine.execute(COUNT_SUM)
    before = _plans(iceberg_lake)
    more = order_rows(7000, 4, "globex", 100)
    iceberg_lake.orders().append(pa.Table.from_pylist(more, schema=ORDERS_ARROW))
    count, total = iceberg_lake.expected("third")
    with AthenaEngine(iceberg_lake.settings, save_results=False) as engine:
        assert engine.execute(COUNT_SUM)[0].rows == [
            (count + 4, total + sum(r["amount"] for r in more))
        ]
    after = _plans(iceberg_lake)
    assert len(after) == len(before) + 1
    assert set(_kept_plan(iceberg_lake, None).files) == _pyiceberg_files(iceberg_lake, None)


def test_a_kept_plan_naming_a_file_outside_the_table_is_refused(
    iceberg_lake: IcebergLake, tmp_path: Path
) -> None:
    with AthenaEngine(iceberg_lake.settings, tenant="acme", save_results=False) as engine:
        engine.execute(COUNT_SUM)
    plan_file = _plan_file(iceberg_lake, TENANTS["acme"])
    outside = tmp_path / "elsewhere.parquet"
    outside.write_bytes(b"PAR1")
    data = json.loads(plan_file.read_text())
    data["files"] = [str(outside)]
    plan_file.write_text(json.dumps(data))
    with (
        AthenaEngine(iceberg_lake.settings, tenant="acme", save_results=False) as engine,
        pytest.raises(AthenaQueryError) as refused,
    ):
        engine.execute(COUNT_SUM)
    assert refused.value.code == "ACCESS_DENIED"
    assert str(outside) in str(refused.value)


def test_an_unreadable_kept_plan_is_planned_again(iceberg_lake: IcebergLake) -> None:
    with AthenaEngine(iceberg_lake.settings, save_results=False) as engine:
        expected = engine.execute(COUNT_SUM)[0].rows
    plan_file = _plan_file(iceberg_lake, None)
    plan_file.write_text('{"columns": 3')  # cut short, as by a crash
    with AthenaEngine(iceberg_lake.settings, save_results=False) as engine:
        assert engine.execute(COUNT_SUM)[0].rows == expected
    assert set(_kept_plan(iceberg_lake, None).files) == _pyiceberg_files(iceberg_lake, None)


def _orders_table(iceberg_lake: IcebergLake) -> CatalogTable:
    table = load_catalog(iceberg_lake.settings.catalog_uri).get("silver", "orders")
    assert table is not None
    return table


def _rows_of(source_sql: str) -> list[tuple[object, ...]]:
    return duckdb.connect().execute(f"select count(*), sum(amount) from ({source_sql})").fetchall()


def test_a_source_an_engine_kept_for_one_tenant_never_answers_for_another(
    iceberg_lake: IcebergLake,
) -> None:
    # Hostile first: one store of kept sources asked for acme, then globex, then every
    # tenant, then acme again. Each must read only its own rows and files; only the same
    # tenant at the same snapshot gets the kept source back.
    table = _orders_table(iceberg_lake)
    planned = iceberg_plan.Planned()
    root = iceberg_lake.root.resolve()
    acme = iceberg_plan.cached_source(table, TENANTS["acme"], root, planned)
    globex = iceberg_plan.cached_source(table, TENANTS["globex"], root, planned)
    every = iceberg_plan.cached_source(table, None, root, planned)
    assert _rows_of(acme.sql) == [iceberg_lake.expected("third", "acme")]
    assert _rows_of(globex.sql) == [iceberg_lake.expected("third", "globex")]
    assert _rows_of(every.sql) == [iceberg_lake.expected("third")]
    assert set(globex.paths) == _pyiceberg_files(iceberg_lake, TENANTS["globex"])
    assert set(acme.paths) == _pyiceberg_files(iceberg_lake, TENANTS["acme"])
    assert set(acme.paths).isdisjoint(globex.paths)  # different buckets
    assert iceberg_plan.cached_source(table, TENANTS["acme"], root, planned) is acme
    assert iceberg_plan.cached_source(table, None, root, planned) is every


def test_a_commit_between_two_calls_of_an_engine_replans_its_kept_source(
    iceberg_lake: IcebergLake,
) -> None:
    table = _orders_table(iceberg_lake)
    planned = iceberg_plan.Planned()
    root = iceberg_lake.root.resolve()
    before = iceberg_plan.cached_source(table, None, root, planned)
    more = order_rows(7000, 4, "globex", 100)
    iceberg_lake.orders().append(pa.Table.from_pylist(more, schema=ORDERS_ARROW))
    after = iceberg_plan.cached_source(table, None, root, planned)
    count, total = iceberg_lake.expected("third")
    assert _rows_of(after.sql) == [(count + 4, total + sum(r["amount"] for r in more))]
    assert set(after.paths) == _pyiceberg_files(iceberg_lake, None) != set(before.paths)


def test_an_engine_reads_a_table_at_the_same_snapshot_without_loading_its_plan_again(
    iceberg_lake: IcebergLake,
) -> None:
    # The kept plan is made unreadable after the engine's first call: the engine's later
    # calls do not read it (they neither fail nor plan again, which would write it anew), a
    # new engine does.
    with AthenaEngine(iceberg_lake.settings, save_results=False) as engine:
        expected = engine.execute(COUNT_SUM)[0].rows
        plan_file = _plan_file(iceberg_lake, None)
        plan_file.write_text("not a plan")
        assert engine.execute(COUNT_SUM)[0].rows == expected
        assert engine.execute(f"{COUNT_SUM} where tenant_id <> ''")[0].rows == expected
        assert plan_file.read_text() == "not a plan"
    with AthenaEngine(iceberg_lake.settings, save_results=False) as engine:
        assert engine.execute(COUNT_SUM)[0].rows == expected
    assert set(_kept_plan(iceberg_lake, None).files) == _pyiceberg_files(iceberg_lake, None)


def test_a_planned_query_loads_neither_pyiceberg_nor_numpy(iceberg_lake: IcebergLake) -> None:
    probe = textwrap.dedent(
        f"""
        import json, sys
        from lakehouse.athena.engine import AthenaEngine
        from lakehouse.config import Settings
        settings = Settings(lake={str(iceberg_lake.root)!r}, _env_file=None)
        with AthenaEngine(settings, save_results=False) as engine:
            rows = engine.execute({COUNT_SUM!r})[0].rows
        print(json.dumps([str(rows), sorted(
            m for m in ("pyiceberg", "numpy", "pandas", "pyarrow") if m in sys.modules)]))
        """
    )

    def run() -> list[object]:
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        )
        return list(json.loads(out.stdout.splitlines()[-1]))

    first_rows, first_loaded = run()
    assert "pyiceberg" in first_loaded  # the first read plans
    again_rows, again_loaded = run()
    assert again_rows == first_rows
    assert again_loaded == []


def test_prune_keeps_only_the_plans_of_current_snapshots(iceberg_lake: IcebergLake) -> None:
    for slug in (None, "acme"):
        with AthenaEngine(iceberg_lake.settings, tenant=slug, save_results=False) as engine:
            engine.execute(COUNT_SUM)
    catalog = load_catalog(iceberg_lake.settings.catalog_uri)
    tenants = catalog.get("silver", "tenants")
    assert tenants is not None
    # --tenant reads silver.tenants first: that table's plan stays current below.
    unchanged = iceberg_lake.root.joinpath(
        *iceberg_plan.CACHE_DIR, f"{iceberg_plan.key_of(tenants, None)}.json"
    )
    superseded = set(_plans(iceberg_lake)) - {unchanged}
    assert len(superseded) == 2  # silver.orders for every tenant and for acme
    iceberg_lake.orders().append(
        pa.Table.from_pylist(order_rows(7000, 4, "globex", 100), ORDERS_ARROW)
    )
    with AthenaEngine(iceberg_lake.settings, save_results=False) as engine:
        answer = engine.execute(COUNT_SUM)[0].rows
    current = _plan_file(iceberg_lake, None)
    cache = current.parent
    cut_short = cache / f"{'0' * 64}.json"
    cut_short.write_text('{"columns": 3')
    # A plan whose table is gone, and one claiming to be of the current snapshot under
    # another key (a plan of other planning code, or a forged one).
    gone = json.loads(current.read_text())
    gone["of"]["location"] = str(iceberg_lake.root / "silver" / "dropped")
    (cache / f"{'1' * 64}.json").write_text(json.dumps(gone))
    shutil.copy(current, cache / f"{'2' * 64}.json")
    old_temp, new_temp = cache / ".plan-old.tmp", cache / ".plan-new.tmp"
    old_temp.write_text("{")
    new_temp.write_text("{")
    os.utime(old_temp, (time.time() - 7200, time.time() - 7200))
    unrelated = cache / "README"
    unrelated.write_text("not a plan")

    assert iceberg_plan.prune(iceberg_lake.root) == len(superseded) + 4
    assert set(cache.iterdir()) == {current, unchanged, new_temp, unrelated}
    assert iceberg_plan.prune(iceberg_lake.root) == 0
    with AthenaEngine(iceberg_lake.settings, save_results=False) as engine:
        assert engine.execute(COUNT_SUM)[0].rows == answer  # from the kept plan
    assert set(_kept_plan(iceberg_lake, None).files) == _pyiceberg_files(iceberg_lake, None)


def test_prune_of_a_lake_without_plans_removes_nothing(tmp_path: Path) -> None:
    assert iceberg_plan.prune(tmp_path) == 0


def _table_at(location: Path) -> CatalogTable:
    return CatalogTable(
        database="gold",
        name="t",
        format="iceberg",
        location=str(location),
        columns=(),
        partition_keys=(),
        partitions=(),
        files=0,
        crawled_at="",
    )


def test_the_file_check_resolves_links_exactly_as_realpath(tmp_path: Path) -> None:
    # Hostile first: links to another table (a file, a bucket folder, a chain, a relative link
    # climbing out), paths with "..", doubled separators and missing files. Inside resolves
    # folders once; for every path it must accept and refuse exactly what os.path.realpath
    # would, and give the same real path.
    lake = tmp_path / "lake" / "gold"
    table = lake / "t"
    other = lake / "other" / "data" / "tenant_id_bucket=3"
    for folder in (table / "data" / "tenant_id_bucket=0", table / "data" / "tenant_id_bucket=1"):
        folder.mkdir(parents=True)
        (folder / "a.parquet").write_bytes(b"x")
    other.mkdir(parents=True)
    (other / "secret.parquet").write_bytes(b"s")
    data = table / "data"
    (data / "tenant_id_bucket=0" / "stolen.parquet").symlink_to(other / "secret.parquet")
    (data / "tenant_id_bucket=2").symlink_to(other)
    (data / "tenant_id_bucket=4").symlink_to(data / "tenant_id_bucket=1")
    (data / "hop.parquet").symlink_to(data / "tenant_id_bucket=0" / "stolen.parquet")
    (data / "climb.parquet").symlink_to(Path("..") / ".." / "other" / "data")
    (data / "inner.parquet").symlink_to(Path("tenant_id_bucket=1") / "a.parquet")
    (tmp_path / "lake" / "alias").symlink_to(lake)
    candidates = [
        data / "tenant_id_bucket=0" / "a.parquet",
        data / "tenant_id_bucket=1" / "a.parquet",
        data / "tenant_id_bucket=0" / "stolen.parquet",
        data / "tenant_id_bucket=2" / "secret.parquet",
        data / "tenant_id_bucket=4" / "a.parquet",
        data / "hop.parquet",
        data / "climb.parquet",
        data / "inner.parquet",
        data / "tenant_id_bucket=9" / "missing.parquet",
        tmp_path / "lake" / "alias" / "t" / "data" / "tenant_id_bucket=1" / "a.parquet",
        tmp_path / "lake" / "alias" / "other" / "data" / "tenant_id_bucket=3" / "secret.parquet",
        f"{data}/tenant_id_bucket=1/../../../other/data/tenant_id_bucket=3/secret.parquet",
        f"{data}/tenant_id_bucket=1/./a.parquet",
        f"{data}//tenant_id_bucket=1/a.parquet",
        "t/data/tenant_id_bucket=1/a.parquet",
        other / "secret.parquet",
    ]
    check = iceberg_plan.Inside(_table_at(table))  # one resolver for them all, like a plan
    accepted = 0
    for path in candidates:
        real = os.path.realpath(path)
        allowed = Path(real).is_relative_to(os.path.realpath(table))
        if allowed:
            assert check(path) == Path(real), path
            accepted += 1
        else:
            with pytest.raises(AthenaQueryError, match="outside its location") as denied:
                check(path)
            assert denied.value.code == "ACCESS_DENIED"
        # The one-off form agrees with the kept one.
        if allowed:
            assert iceberg_plan.inside(_table_at(table), Path(path)) == Path(real)
    # The check has teeth: links out of the table and ".." escapes were refused.
    assert accepted == 8


def test_plans_of_many_tenants_keep_the_folder_bounded(
    iceberg_lake: IcebergLake, monkeypatch: pytest.MonkeyPatch, cap_every_write: None
) -> None:
    # Every tenant's plan of every table is an entry: between two maintenance runs, many tenants
    # (or many commits) must not grow the folder past its bound, and each answer stays right.
    monkeypatch.setattr(iceberg_plan, "MAX_ENTRIES", 2)
    for _ in range(2):
        for slug in TENANTS:
            with AthenaEngine(iceberg_lake.settings, tenant=slug, save_results=False) as engine:
                assert engine.execute(COUNT_SUM)[0].rows == [iceberg_lake.expected("third", slug)]
            assert len(_plans(iceberg_lake)) <= 2
