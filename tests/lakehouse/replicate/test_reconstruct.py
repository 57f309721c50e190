"""Full load plus change stream reproduce the source exactly (real PostgreSQL, real replication)."""

from __future__ import annotations

import gzip
import re

import psycopg
from lakehouse_glue.model import load_bronze_contract

from lakehouse.replicate.state import load_state
from tests.lakehouse.replicate.conftest import ReplEnv
from tests.lakehouse.replicate.reference import (
    assert_reconstructs,
    change_rows,
    read_files,
    reconstruct,
    source_rows,
)
from tests.lakehouse.replicate.workload import (
    TRICKY_TEXTS,
    big_text_sql,
    insert_customer,
    insert_event,
    insert_product,
    insert_tenant,
)

CONTRACT = load_bronze_contract()
SEQ = CONTRACT.change_seq_column


def test_mixed_workload_reconstructs_every_table(repl: ReplEnv) -> None:
    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn, name='Before, the "load"')
        loaded = [insert_customer(conn, tenant, notes=t, city=t) for t in TRICKY_TEXTS]
        product = insert_product(conn, tenant, cost="0.10")
        conn.execute(
            f"update products set description = {big_text_sql(40)} where id = %s", (product,)
        )

    first = repl.run_once()
    assert first.full_load is not None
    assert {c.table: c.rows for c in first.full_load}["customers"] == len(TRICKY_TEXTS)
    assert_reconstructs(repl.storage, repl.dsn)

    with psycopg.connect(repl.dsn) as conn:
        # Inserts with every awkward text, in several columns at once.
        streamed = [
            insert_customer(conn, tenant, company=t, phone=t, notes=t, first_name=t or "x", city=t)
            for t in TRICKY_TEXTS
        ]
        insert_event(
            conn, tenant, customer_id=streamed[0], properties={"a": [1, 2.50, None], "s": 'x,"y"\n'}
        )
    with psycopg.connect(repl.dsn) as conn:
        # Many updates of one row in one transaction: the last one wins.
        for i in range(25):
            conn.execute(
                "update customers set status = %s, notes = %s, updated_at = now() where id = %s",
                (["active", "inactive", "churned"][i % 3], f"v{i}", loaded[0]),
            )
        # A large value left unchanged by an update (pgoutput sends it as 'unchanged TOAST').
        conn.execute("update products set price = 99.90 where id = %s", (product,))
        # A large JSON value, then NULL -> '' -> NULL and back on the same row.
        conn.execute(
            f"update tenants set settings = jsonb_build_object('big', {big_text_sql(30)}) "
            "where id = %s",
            (tenant,),
        )
        conn.execute("update customers set notes = '' where id = %s", (loaded[1],))
        conn.execute(
            "update customers set company = NULL, notes = NULL where id = %s", (streamed[1],)
        )
    with psycopg.connect(repl.dsn) as conn:
        conn.execute("delete from customers where id = any(%s)", (loaded[2:5],))
        conn.execute("update products set cost = NULL, is_active = false where id = %s", (product,))
        conn.execute("update tenants set name = 'After' where id = %s", (tenant,))

    second = repl.run_once()
    assert second.full_load is None
    # The price update and the status updates left description / settings unsent.
    assert second.stats.unchanged_filled >= 1
    assert second.stats.changes == len(streamed) + 1 + 25 + 4 + 3 + 2
    assert_reconstructs(repl.storage, repl.dsn)

    # The big value really was stored out of line (so the price update left it unsent) and
    # really came back whole. (TOAST tables are the superuser's to read.)
    with psycopg.connect(repl.admin_dsn) as conn:
        row = conn.execute(
            "select reltoastrelid::regclass::text from pg_class where relname = 'products'"
        ).fetchone()
        assert row is not None
        toasted = conn.execute(f"select count(*) from {row[0]}").fetchone()
        assert toasted is not None
        assert toasted[0] > 0
    products = reconstruct(repl.storage, "products")
    assert len(products[product]["description"] or "") == 40 * 32 * 32
    assert products[product]["price"] == "99.90"
    assert products[product]["cost"] is None
    # Every text arrived exactly, NULL and '' distinct.
    customers = reconstruct(repl.storage, "customers")
    assert [customers[c]["phone"] for c in streamed] == TRICKY_TEXTS
    assert customers[loaded[1]]["notes"] == ""
    assert customers[loaded[0]]["notes"] == "v24"


def test_change_rows_carry_the_contract_columns(repl: ReplEnv) -> None:
    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn)
    repl.run_once()
    with psycopg.connect(repl.dsn) as conn:
        conn.execute("update tenants set plan = 'free' where id = %s", (tenant,))
        conn.execute("update tenants set plan = 'starter' where id = %s", (tenant,))
    with psycopg.connect(repl.dsn) as conn:
        conn.execute("delete from tenants where id = %s", (tenant,))
    repl.run_once()

    rows = change_rows(repl.storage, "tenants")
    assert [r["Op"] for r in rows] == ["I", "U", "U", "D"]
    assert [r["plan"] for r in rows] == ["growth", "free", "starter", "starter"]
    seqs = [r[SEQ] or "" for r in rows]
    assert seqs[0] == ""  # the full-load row: empty, as DMS writes it
    assert all(len(s) == 35 and s.isdigit() for s in seqs[1:])
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 4
    # Two statements of one transaction: same commit LSN, positions 1 and 2.
    assert seqs[1][:20] == seqs[2][:20]
    assert (int(seqs[1][20:]), int(seqs[2][20:])) == (1, 2)
    # Full-load rows carry the task start time; CDC rows their commit time.
    state = load_state(repl.storage)
    assert state is not None
    assert rows[0]["dms_timestamp"] == state.task_start_time
    ts = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")
    assert all(ts.match(r["dms_timestamp"] or "") for r in rows)
    assert rows[3]["dms_timestamp"] >= rows[1]["dms_timestamp"]  # type: ignore[operator]
    # The delete carries the whole old row.
    assert rows[3]["name"] == "Acme"
    assert rows[3]["settings"] is not None
    assert reconstruct(repl.storage, "tenants") == source_rows(repl.dsn, "tenants") == {}


def test_exact_bytes_and_file_names(repl: ReplEnv) -> None:
    tid = "00000000-0000-0000-0000-000000000001"
    with psycopg.connect(repl.dsn) as conn:
        insert_tenant(
            conn,
            id=tid,
            name='Quote " and, comma',
            slug="",
            settings={"k": "v"},
            created_at="2024-01-02 03:04:05+00",
            updated_at="2024-01-02 03:04:05.5+01",
        )
    first = repl.run_once()
    state = load_state(repl.storage)
    assert state is not None
    folder = repl.target / "dms" / "public" / "tenants"
    assert sorted(p.name for p in folder.iterdir()) == ["LOAD00000001.csv.gz"]
    # Empty tables get no folder.
    assert sorted(p.name for p in (repl.target / "dms" / "public").iterdir()) == ["tenants"]
    expected_load = (
        "Op,dms_timestamp,id,name,slug,plan,country,is_active,settings,created_at,updated_at,"
        "dms_change_seq\n"
        # slug '' is an empty field, the full-load sequence a NULL: the marker
        f'I,{state.task_start_time},{tid},"Quote "" and, comma",,growth,DE,true,"{{""k"": '
        f'""v""}}",2024-01-02 03:04:05.000000,2024-01-02 02:04:05.500000,<NULL>\n'
    )
    assert gzip.decompress((folder / "LOAD00000001.csv.gz").read_bytes()).decode() == expected_load
    assert first.full_load is not None

    with psycopg.connect(repl.dsn) as conn:
        conn.execute("update tenants set is_active = false, country = NULL where false")
        conn.execute(
            "update tenants set is_active = false, slug = 'x\ny', updated_at = "
            "'2024-06-01 00:00:00.000010+00' where id = %s",
            (tid,),
        )
    second = repl.run_once()
    cdc = [p.name for p in folder.iterdir() if not p.name.startswith("LOAD")]
    assert len(cdc) == 1
    assert re.fullmatch(r"\d{8}-\d{12}\.csv\.gz", cdc[0])
    text = gzip.decompress((folder / cdc[0]).read_bytes()).decode()
    header, line, end = text.split("\n", 2)[0], text[text.index("\n") + 1 :], ""
    assert header == expected_load.split("\n")[0]
    (row,) = read_files(repl.storage, "tenants")[1].rows
    commit_ts = row["dms_timestamp"]
    seq = row[SEQ]
    assert (
        line
        == (
            f'U,{commit_ts},{tid},"Quote "" and, comma","x\ny",growth,DE,false,"{{""k"": ""v""}}",'
            f"2024-01-02 03:04:05.000000,2024-06-01 00:00:00.000010,{seq}\n"
        )
        + end
    )
    assert second.files == {"public.tenants": cdc[0]}
