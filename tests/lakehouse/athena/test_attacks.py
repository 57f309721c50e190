"""The engine under attack: one test (or more) per attack class of issue 10.

Each test tries what an attacker with a tenant's `lakehouse athena --tenant` would try and
asserts the exact refusal, or that the answer holds only the tenant's rows.
"""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from lakehouse.athena.engine import AthenaEngine, AthenaQueryError
from lakehouse.config import Settings
from lakehouse.errors import LakehouseError
from tests.support.lake import Lake
from tests.support.oracle import pg_rows


def scoped(lake: Lake | Settings, sql: str, tenant: str = "acme") -> list[tuple[object, ...]]:
    settings = lake.settings if isinstance(lake, Lake) else lake
    with AthenaEngine(settings, tenant=tenant, save_results=False) as engine:
        return engine.execute(sql)[-1].rows


def refused(lake: Lake, sql: str, tenant: str | None = "acme") -> AthenaQueryError:
    with (
        pytest.raises(AthenaQueryError) as info,
        AthenaEngine(lake.settings, tenant=tenant, save_results=False) as engine,
    ):
        engine.execute(sql)
    return info.value


@pytest.fixture
def own_lake(athena_lake: Lake, tmp_path: Path) -> Iterator[Settings]:
    """A private copy of the test lake that a test may damage."""
    root = tmp_path / "lake"
    shutil.copytree(athena_lake.settings.lake_uri, root, symlinks=True)
    catalog = root / "_catalog"
    for doc in catalog.rglob("*.json"):
        data = json.loads(doc.read_text("utf-8"))
        data["location"] = data["location"].replace(athena_lake.settings.lake_uri, str(root))
        doc.write_text(json.dumps(data), "utf-8")
    return Settings(lake=str(root), _env_file=None)  # type: ignore[call-arg]


# -- the tenant --------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "  ", "\t\n"])
def test_a_blank_tenant_is_an_error_not_every_tenant(athena_lake: Lake, blank: str) -> None:
    with pytest.raises(LakehouseError, match="the tenant is blank"):
        AthenaEngine(athena_lake.settings, tenant=blank, save_results=False)


@pytest.mark.parametrize(
    "unknown",
    ["nobody", "ACME", "acme'--", "00000000-0000-0000-0000-000000000000", "%", "' or 1=1 --"],
)
def test_an_unknown_tenant_is_an_error(athena_lake: Lake, unknown: str) -> None:
    with pytest.raises(LakehouseError, match="no tenant with slug or id"):
        AthenaEngine(athena_lake.settings, tenant=unknown, save_results=False)


def test_a_tenant_by_id_sees_what_it_sees_by_slug(athena_lake: Lake) -> None:
    acme = athena_lake.tenant_ids["acme"]
    sql = "select tenant_id, count(*) from silver.orders group by tenant_id"
    expected = pg_rows(
        athena_lake.dsn,
        f"select tenant_id::text, count(*) from orders where tenant_id = '{acme}' group by 1",
    )
    assert scoped(athena_lake, sql, tenant=acme) == expected
    assert scoped(athena_lake, sql, tenant=acme.upper()) == expected
    assert scoped(athena_lake, sql, tenant="acme") == expected


@pytest.mark.parametrize("damage", ["{id}\n", "{id}\r\n", "{id}\u2028", " {id}", "{id}'--"])
def test_a_silver_tenant_id_that_is_not_a_uuid_is_refused(own_lake: Settings, damage: str) -> None:
    """The engine scopes by the id it reads from silver.tenants: one that is not exactly a UUID
    (a damaged or hand-written table) is refused rather than put into the tenant's filters."""
    import pyarrow.parquet as pq

    done = 0
    for path in (Path(own_lake.silver_uri) / "tenants").rglob("*.parquet"):
        table = pq.read_table(path, partitioning=None)
        slugs, ids = table.column("slug").to_pylist(), table.column("id").to_pylist()
        if "acme" not in slugs:
            continue
        ids = [damage.format(id=i) if s == "acme" else i for s, i in zip(slugs, ids, strict=True)]
        index = table.schema.get_field_index("id")
        table = table.set_column(index, table.schema.field(index), pa.array(ids, pa.string()))
        pq.write_table(table, path)
        done += 1
    assert done == 1
    with pytest.raises(LakehouseError, match=r"in silver\.tenants, which is not a UUID"):
        AthenaEngine(own_lake, tenant="acme", save_results=False)
    # Another tenant's id is still read and used.
    assert scoped(own_lake, "select distinct slug from silver.tenants", "globex") == [("globex",)]


# -- names resolve per scope -------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        # A CTE defined inside a subquery is not visible outside it.
        "select * from (with duckdb_settings as (select 1 as a) select a from duckdb_settings) s "
        "cross join duckdb_settings",
        "select * from (with duckdb_views as (select 1 as a) select a from duckdb_views) s, "
        "duckdb_views",
        "select * from (with pg_class as (select 1 as a) select * from pg_class) s, pg_class",
        "select (select count(*) from duckdb_tables) from "
        "(with duckdb_tables as (select 1 as a) select a from duckdb_tables) s",
        # A later CTE is not visible in an earlier one.
        "with a as (select * from duckdb_secrets), duckdb_secrets as (select 1 as x) "
        "select * from a",
        # A CTE of one branch of a union is not visible in the other.
        "select * from duckdb_settings union all "
        "(with duckdb_settings as (select 1 as a) select * from duckdb_settings)",
        # DuckDB reads a file named as a table; Python objects are scanned by name.
        'select * from (with "{lake}/silver/tenants" as (select 1 as a) select 1) s, '
        '"{lake}/silver/tenants"',
        "select * from (with leak as (select 1 as a) select 1) s, leak",
    ],
)
def test_a_name_is_a_cte_only_where_the_cte_is_visible(athena_lake: Lake, sql: str) -> None:
    error = refused(athena_lake, sql.format(lake=athena_lake.settings.lake_uri))
    assert error.code == "TABLE_NOT_FOUND", str(error)


def test_visible_ctes_still_work_at_any_depth(athena_lake: Lake) -> None:
    acme = athena_lake.tenant_ids["acme"]
    rows = scoped(
        athena_lake,
        """
        with o as (select id, tenant_id from silver.orders),
             n as (select count(*) as c from o)
        select (select c from n), count(*) from (select * from o where id in (select id from o))
        """,
    )
    expected = pg_rows(athena_lake.dsn, f"select count(*) from orders where tenant_id = '{acme}'")
    assert rows == [(expected[0][0], expected[0][0])]


# -- functions by allow-list -------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        "json_execute_serialized_sql(json_serialize_sql('select current_setting(''threads'')'))",
        "json_serialize_sql('select 1')",
        "json_serialize_plan('select 1')",
        "query('select 1')",
        "current_setting('allowed_directories')",
        "\"current_setting\"('temp_directory')",
        "CURRENT_SETTING('temp_directory')",
        "system.main.current_setting('temp_directory')",
        "getenv('HOME')",
        "getvariable('x')",
        "version()",
        "which_secret('s3://x', 's3')",
        "error('x')",
        "sql_auto_complete('sel')",
    ],
)
def test_functions_off_the_allow_list_are_not_found(athena_lake: Lake, call: str) -> None:
    error = refused(athena_lake, f"select {call}")
    assert error.code == "FUNCTION_NOT_FOUND", str(error)


# -- defence in depth below the parser ---------------------------------------------------------


def test_the_tenant_session_holds_only_the_tenants_rows_and_no_way_out(
    athena_lake: Lake,
) -> None:
    lake = athena_lake.settings.lake_uri
    leak = pa.table({"secret": ["every tenant"]})  # a Python object DuckDB could scan by name
    with AthenaEngine(athena_lake.settings, tenant="acme", save_results=False) as engine:
        engine.execute("select count(*) from silver.orders, bronze.customers")
        con = engine._con
        for attack in (
            "select * from duckdb_settings()",
            "select * from duckdb_views()",
            "select * from duckdb_secrets()",
            "select * from duckdb_tables()",
            "select * from query('select 1')",
            "select * from read_csv('/etc/passwd')",
            "select * from glob('/*')",
            "select current_setting('allowed_directories')",
            "select getenv('HOME')",
            "select json_serialize_sql('select 1')",
            f"select * from {leak.column_names[0]}",
            "select * from leak",
        ):
            with pytest.raises(duckdb.Error):
                con.execute(attack).fetchall()
        # Behind the shadows, the system catalog and settings name no lake path.
        for probe in (
            "select sql from system.main.duckdb_views() where not internal",
            "select sql from system.main.duckdb_tables()",
            "select value from system.main.duckdb_settings()",
        ):
            text = json.dumps(con.execute(probe).fetchall(), default=str)
            assert lake not in text, probe
        tables = con.execute(
            "select schema_name, table_name from system.main.duckdb_tables() order by 2"
        ).fetchall()
        assert tables == [("bronze", "customers"), ("silver", "orders")]
        # information_schema and pg_catalog are built on the shadowed functions.
        for view in ("information_schema.tables", "pg_catalog.pg_class"):
            with pytest.raises(duckdb.Error):
                con.execute(f"select * from {view}").fetchall()
        # Even a read that names the system's own function finds no file it may open.
        with pytest.raises(duckdb.PermissionException):
            con.execute(
                f"select * from system.main.read_text('{lake}/_catalog/silver/orders.json')"
            )
        with pytest.raises(duckdb.InvalidInputException):
            con.execute("set enable_external_access = true")


def test_each_session_has_a_private_temp_folder_removed_at_close(athena_lake: Lake) -> None:
    with (
        AthenaEngine(athena_lake.settings, tenant="acme", save_results=False) as a,
        AthenaEngine(athena_lake.settings, tenant="globex", save_results=False) as b,
    ):
        a.execute("select 1")
        b.execute("select 1")
        assert a._session is not None
        assert b._session is not None
        folder_a, folder_b = a._session.temp_dir, b._session.temp_dir
        assert folder_a != folder_b
        assert stat.S_IMODE(folder_a.stat().st_mode) == 0o700
    assert not folder_a.exists()
    assert not folder_b.exists()


def test_the_memory_limit_reaches_duckdb(athena_lake: Lake) -> None:
    settings = athena_lake.settings.replace(athena_memory_limit="300MiB")
    with AthenaEngine(settings, save_results=False) as engine:
        engine.execute("select 1")
        (limit,) = engine._con.execute("select current_setting('memory_limit')").fetchone() or ()
    assert limit in ("300.0 MiB", "314.5 MB")


# -- limits ------------------------------------------------------------------------------------


def test_a_runaway_query_is_cancelled_at_the_timeout(athena_lake: Lake) -> None:
    sql = (
        "select count(*) from unnest(sequence(1, 100000)) as a(x) "
        "cross join unnest(sequence(1, 100000)) as b(y)"
    )
    with (
        AthenaEngine(athena_lake.settings, tenant="acme", timeout_seconds=0.5) as engine,
        pytest.raises(AthenaQueryError) as info,
    ):
        engine.execute(sql)
    assert info.value.code == "EXCEEDED_TIME_LIMIT"
    assert "0.5 s" in str(info.value)


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan"), float("inf"), 1e9])
def test_a_nonsense_timeout_is_refused(athena_lake: Lake, timeout: float) -> None:
    with pytest.raises(LakehouseError, match="timeout"):
        AthenaEngine(athena_lake.settings, timeout_seconds=timeout)


@pytest.mark.parametrize(
    ("sql", "detail"),
    [
        ("select " + "(" * 5000 + "1" + ")" * 5000, "nested too deeply"),
        ("select " + " + ".join(["1"] * 5000), "levels deep"),
        ("select 1" + " union all select 1" * 2000, "levels deep"),
        ("select 1 /*" + "x" * 300_000 + "*/", "bytes"),
        ("select '" + "é" * 140_000 + "'", "bytes"),
    ],
)
def test_too_large_or_too_deep_sql_is_a_syntax_error(
    athena_lake: Lake, sql: str, detail: str
) -> None:
    error = refused(athena_lake, sql)
    assert error.code == "SYNTAX_ERROR"
    assert detail in str(error)


# -- the lake is input too ---------------------------------------------------------------------


def _edit_catalog(settings: Settings, database: str, table: str, **changes: object) -> None:
    doc = Path(settings.catalog_uri) / database / f"{table}.json"
    data = json.loads(doc.read_text("utf-8"))
    data.update(changes)
    doc.write_text(json.dumps(data), "utf-8")


@pytest.mark.parametrize("where", ["/etc", "{lake}/../outside", "{lake}/gold/tenant_summary"])
def test_a_catalog_location_outside_its_lake_folder_is_refused(
    own_lake: Settings, where: str, tmp_path: Path
) -> None:
    (tmp_path / "outside").mkdir()
    _edit_catalog(own_lake, "silver", "orders", location=where.format(lake=own_lake.lake_uri))
    for tenant in ("acme", None):
        with (
            pytest.raises(AthenaQueryError) as info,
            AthenaEngine(own_lake, tenant=tenant, save_results=False) as engine,
        ):
            engine.execute("select count(*) from silver.orders")
        assert info.value.code == "ACCESS_DENIED"
        assert "not under the lake" in str(info.value)


def test_a_link_to_another_tenants_file_is_refused(own_lake: Settings) -> None:
    orders = Path(own_lake.silver_uri) / "orders"
    acme, globex = (
        next(orders.glob(f"tenant_id={scoped(own_lake, 'select id from silver.tenants', t)[0][0]}"))
        for t in ("acme", "globex")
    )
    (acme / "stolen.parquet").symlink_to(next(globex.glob("*.parquet")))
    with pytest.raises(AthenaQueryError) as info:
        scoped(own_lake, "select count(*) from silver.orders")
    assert info.value.code == "ACCESS_DENIED"
    assert "stolen.parquet" in str(info.value)


def test_a_file_named_like_a_pattern_is_read_once(own_lake: Settings) -> None:
    folder = Path(own_lake.bronze_uri) / "dms" / "public" / "customers"
    (load,) = folder.glob("*.csv.gz")
    with AthenaEngine(own_lake, save_results=False) as engine:
        (before,) = engine.execute("select count(*) from bronze.customers")
    shutil.copy(load, folder / "*.csv.gz")
    shutil.copy(load, folder / "[L]OAD00000001.csv.gz")
    with AthenaEngine(own_lake, save_results=False) as engine:
        (after,) = engine.execute("select count(*) from bronze.customers")
    # Three files, each read once: as patterns, "*" would read all three again.
    assert before.rows[0][0] > 0
    assert after.rows == [(3 * before.rows[0][0],)]


def test_a_malformed_bronze_file_is_an_athena_error(own_lake: Settings) -> None:
    folder = Path(own_lake.bronze_uri) / "dms" / "public" / "orders"
    (folder / "LOAD99999999.csv.gz").write_bytes(b"this is not gzip")
    with pytest.raises(AthenaQueryError) as info:
        scoped(own_lake, "select count(*) from bronze.orders")
    assert info.value.code == "HIVE_BAD_DATA"
    assert "bronze.orders" in str(info.value)


def test_a_tenants_results_are_private_and_under_its_prefix(athena_lake: Lake) -> None:
    acme = athena_lake.tenant_ids["acme"]
    with AthenaEngine(athena_lake.settings, tenant="acme") as engine:
        (result,) = engine.execute("select slug from silver.tenants")
    assert result.result_path is not None
    assert result.metadata_path is not None
    root = Path(athena_lake.settings.athena_results_uri)
    assert result.result_path.parent == root / f"tenant_id={acme}"
    assert result.result_path.read_text("utf-8") == '"slug"\n"acme"\n'
    for path in (result.result_path, result.metadata_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(result.result_path.parent.stat().st_mode) == 0o700


def test_the_scoped_result_is_a_copy_not_a_view(athena_lake: Lake) -> None:
    """Rows stay those read at the start of the call, whoever writes the lake meanwhile."""
    with AthenaEngine(athena_lake.settings, tenant="acme", save_results=False) as engine:
        engine.execute("select count(*) from silver.orders")
        tables = engine._con.execute(
            "select schema_name, table_name from system.main.duckdb_tables()"
        ).fetchall()
        views = engine._con.execute(
            "select view_name from system.main.duckdb_views() where not internal"
        ).fetchall()
    assert tables == [("silver", "orders")]
    assert views == []
