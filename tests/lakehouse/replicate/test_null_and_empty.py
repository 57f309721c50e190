"""NULL, '' and look-alike texts from PostgreSQL to silver (Spark) and to the local Athena engine.

The bronze contract writes NULL as a marker (docs/bronze-contract.md). Rows holding NULL, '',
the texts 'NULL' and '\\N', and the marker itself go through the real replicator (full load and
change stream), the real customers silver job and DuckDB's reading of bronze. NULL stays NULL,
'' stays '', the look-alikes stay text; the marker is the one value that cannot survive, and
every place that can see it says so: the replicator's report, silver's quarantine for a NOT NULL
column, and reconcile's non-NULL counts.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import psycopg
from lakehouse_glue.model import load_bronze_contract, load_declaration
from pyspark.sql import SparkSession

from lakehouse.athena.engine import AthenaEngine
from lakehouse.catalog.crawler import crawl
from lakehouse.config import Settings
from lakehouse.glue.runner import start_job_run
from lakehouse.reconcile import reconcile_entity
from lakehouse.storage import LocalStorage
from tests.lakehouse.replicate.conftest import ReplEnv
from tests.lakehouse.replicate.reference import assert_reconstructs
from tests.lakehouse.replicate.workload import insert_customer, insert_tenant
from tests.support import tables

MARKER = load_bronze_contract().csv_null_value
#: notes value of each customer -> what every reader must give back.
VALUES: list[tuple[str | None, str | None]] = [
    (None, None),
    ("", ""),
    ("NULL", "NULL"),
    ("\\N", "\\N"),
    (MARKER, None),  # the collision: reported, read as NULL
]


def _insert(conn: psycopg.Connection[object], tenant: str, tag: str) -> dict[str, str | None]:
    """One customer per value of VALUES; returns id -> expected notes."""
    expected: dict[str, str | None] = {}
    for i, (notes, want) in enumerate(VALUES):
        cid = insert_customer(
            conn, tenant, email=f"{tag}{i}@example.com", notes=notes, company=notes
        )
        expected[cid] = want
    return expected


def test_null_empty_and_marker_from_postgresql_to_silver_and_duckdb(
    repl: ReplEnv, spark: SparkSession, tmp_path: Path
) -> None:
    assert MARKER == "<NULL>"
    settings = Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")
    target = settings.bronze_uri
    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn)
        expected = _insert(conn, tenant, "load")
        # A NOT NULL column holding the marker: silver must quarantine it, naming the marker.
        required = insert_customer(conn, tenant, email="required@example.com", last_name=MARKER)
    loaded = repl.run_once(target=target)
    with psycopg.connect(repl.dsn) as conn:
        expected |= _insert(conn, tenant, "change")
        # An update that turns a text into the marker, through the change stream.
        updated = next(k for k, v in expected.items() if v == "NULL")
        conn.execute("update customers set notes = %s where id = %s", (MARKER, updated))
        expected[updated] = None
    streamed = repl.run_once(target=target)

    # 1. The replicator names every collision, in both phases; bronze still says what the
    #    source holds (the reference reader takes COPY's quoted marker as text).
    load_ids = list(expected)[: len(VALUES)]
    change_marker = list(expected)[2 * len(VALUES) - 1]
    assert sorted((c.table, c.column, c.row, c.phase) for c in loaded.collisions) == sorted(
        [
            ("public.customers", "company", f"id={load_ids[-1]}", "full load"),
            ("public.customers", "notes", f"id={load_ids[-1]}", "full load"),
            ("public.customers", "last_name", f"id={required}", "full load"),
        ]
    )
    assert sorted((c.column, c.row, c.phase) for c in streamed.collisions) == sorted(
        [
            ("company", f"id={change_marker}", "change"),
            ("notes", f"id={change_marker}", "change"),
            ("notes", f"id={updated}", "change"),
        ]
    )
    assert MARKER in loaded.collisions[0].describe(MARKER)
    assert_reconstructs(LocalStorage(Path(target)), repl.dsn, ["customers"])
    folder = Path(target) / load_bronze_contract().table_folder("public", "customers")
    load_text = gzip.decompress((folder / "LOAD00000001.csv.gz").read_bytes()).decode()
    first = next(line for line in load_text.splitlines() if load_ids[0] in line)
    second = next(line for line in load_text.splitlines() if load_ids[1] in line)
    assert ",<NULL>,<NULL>," in first  # company, phone: NULL is the bare marker
    assert f"{load_ids[1]},{tenant},load1@example.com,Ada,Lovelace,,<NULL>," in second  # ''

    # 2. Silver (the real customers job on local Spark).
    run = start_job_run(
        settings, "transform_customers_bronze_to_silver", {"--full_refresh": "true"}, spark=spark
    )
    assert run.state == "SUCCEEDED", run.error
    silver = {
        r["id"]: (r["notes"], r["company"])
        for r in tables.read(spark, tables.silver_table(spark, settings, "customers")).collect()
    }
    want = {k: (v, v) for k, v in expected.items()}
    want[updated] = (None, "NULL")  # only notes was updated to the marker
    assert silver == want
    quarantine = spark.read.parquet(f"{settings.quarantine_uri}/customers")
    (bad,) = quarantine.collect()
    assert bad["id"] == required
    assert bad["quarantine_rule"] == "not_null"
    assert f"bronze NULL marker {MARKER!r}" in bad["quarantine_reason"]

    # 3. The local Athena engine reads bronze with DuckDB: the same values.
    crawl(settings)
    with AthenaEngine(settings, save_results=False) as engine:
        (result,) = engine.execute(
            "select id, notes, company, op from bronze.customers where op = 'I'"
        )
    duck = {r[0]: (r[1], r[2]) for r in result.rows}
    inserted = {k: (v, v) for k, v in expected.items()}
    inserted[updated] = ("NULL", "NULL")  # its insert, before the update
    assert {k: duck[k] for k in inserted} == inserted
    assert duck[required] == (None, None)

    # 4. reconcile sees what the marker did. Source: 8 non-NULL notes and 8 companies (4 of
    #    each group of five, the NOT NULL row has neither). Silver: the quarantined row is
    #    missing, and the three marker notes and two marker companies read as NULL.
    customers = load_declaration().entity("customers")
    found = reconcile_entity(repl.dsn, settings.silver_uri, customers)
    diffs = {d.metric: (d.source, d.silver) for d in found.differences}
    assert diffs == {"rows": (11, 10), "count(notes)": (8, 5), "count(company)": (8, 6)}
