"""The database boundary, tried as an attacker holding each role's connection.

Every test connects as the role it is about (never the superuser, except to create the
cluster): the application role must not read or change another tenant's rows in any tenant
table, nor its own tenant's plan or status, nor become another role, nor read server files.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from lakehouse_glue.model import load_declaration
from psycopg import errors, sql
from psycopg.types.json import Jsonb

from lakehouse.db.cluster import SUPERUSER
from lakehouse.db.roles import Role, RoleNames
from lakehouse.source.seed import seed

NAMES = RoleNames()
ENTITIES = load_declaration().entities
AsRole = Callable[[str, Role | None], str]


@pytest.fixture
def seeded(source_db: str) -> str:
    seed(source_db, scale=0.005, seed=5, reset=False)
    return source_db


@pytest.fixture
def tenants(seeded: str) -> tuple[str, str]:
    with psycopg.connect(seeded) as conn:
        # The two largest tenants (seed sizes follow a Zipf law: small ones may lack a table).
        rows = conn.execute(
            "select t.id::text from tenants t order by "
            "(select count(*) from subscriptions s where s.tenant_id = t.id) desc, t.id limit 2"
        ).fetchall()
    return str(rows[0][0]), str(rows[1][0])


def _key(table: str) -> str:
    return "id" if table == "tenants" else "tenant_id"


def _counts(dsn: str, tenant: str) -> dict[str, int]:
    """Rows of ``tenant`` per table, counted by the maintenance role (sees every tenant)."""
    out = {}
    with psycopg.connect(dsn) as conn:
        for e in ENTITIES:
            row = conn.execute(
                sql.SQL("select count(*) from {} where {} = %s").format(
                    sql.Identifier(e.name), sql.Identifier(_key(e.name))
                ),
                (tenant,),
            ).fetchone()
            assert row is not None
            out[e.name] = int(row[0])
    return out


@pytest.fixture
def app_conn(seeded: str, as_role: AsRole) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    with psycopg.connect(as_role(seeded, "app")) as conn:
        yield conn


def _as_tenant(conn: psycopg.Connection[Any], tenant: str) -> None:
    conn.execute("select set_config('app.tenant_id', %s, true)", (tenant,))


# -- who the roles are ---------------------------------------------------------------------------
def test_roles_have_only_what_their_job_needs(seeded: str, as_role: AsRole) -> None:
    with psycopg.connect(as_role(seeded, None)) as conn:
        attrs = {
            r[0]: r[1:]
            for r in conn.execute(
                "select rolname, rolsuper, rolbypassrls, rolreplication, rolcreaterole, "
                "rolcreatedb from pg_roles where rolname like 'lakehouse%'"
            ).fetchall()
        }
        member_of = {
            (r[0], r[1])
            for r in conn.execute(
                "select m.rolname, g.rolname from pg_auth_members a "
                "join pg_roles m on m.oid = a.member join pg_roles g on g.oid = a.roleid "
                "where m.rolname like 'lakehouse%'"
            ).fetchall()
        }
        table_owners = {
            r[0]
            for r in conn.execute(
                "select distinct tableowner from pg_tables where schemaname = 'public'"
            ).fetchall()
        }
    #                     super  bypass replication createrole createdb
    assert attrs == {
        SUPERUSER: (True, True, True, True, True),
        NAMES.owner: (False, False, False, False, False),
        NAMES.maintenance: (False, False, False, False, False),
        NAMES.app: (False, False, False, False, False),
        NAMES.replicator: (False, False, True, False, False),
    }
    # Only the maintenance role is a member of anything (the owner, for the seed's DDL).
    assert member_of == {(NAMES.maintenance, NAMES.owner)}
    assert table_owners == {NAMES.owner}


def test_every_tenant_table_has_forced_row_level_security(seeded: str) -> None:
    with psycopg.connect(seeded) as conn:
        rows = conn.execute(
            """
            select c.relname, c.relrowsecurity, c.relforcerowsecurity
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'p')
              and (c.relname = 'tenants' or exists (
                  select from pg_attribute a where a.attrelid = c.oid
                  and a.attname = 'tenant_id' and not a.attisdropped))
            order by 1
            """
        ).fetchall()
    tables = {r[0] for r in rows}
    assert tables == {e.name for e in ENTITIES} | {"memberships"}
    assert all(r[1] and r[2] for r in rows), rows


# -- the application role ------------------------------------------------------------------------
def test_app_sees_nothing_without_a_tenant(app_conn: psycopg.Connection[Any]) -> None:
    for e in [*ENTITIES]:
        got = app_conn.execute(
            sql.SQL("select count(*) from {}").format(sql.Identifier(e.name))
        ).fetchone()
        assert got == (0,), e.name
    assert app_conn.execute("select count(*) from memberships").fetchone() == (0,)


def test_app_reads_only_its_tenant_in_every_table(
    seeded: str, tenants: tuple[str, str], app_conn: psycopg.Connection[Any]
) -> None:
    a, b = tenants
    expected = _counts(seeded, a)
    _as_tenant(app_conn, a)
    for e in ENTITIES:
        got = app_conn.execute(
            sql.SQL("select count(*), count(*) filter (where {} <> %s) from {}").format(
                sql.Identifier(_key(e.name)), sql.Identifier(e.name)
            ),
            (a,),
        ).fetchone()
        assert got == (expected[e.name], 0), e.name
        assert expected[e.name] > 0, e.name
        # Asking for the other tenant by name finds nothing either.
        other = app_conn.execute(
            sql.SQL("select count(*) from {} where {} = %s").format(
                sql.Identifier(e.name), sql.Identifier(_key(e.name))
            ),
            (b,),
        ).fetchone()
        assert other == (0,), e.name


def test_app_cannot_update_or_delete_another_tenants_rows(
    seeded: str, tenants: tuple[str, str], app_conn: psycopg.Connection[Any]
) -> None:
    a, b = tenants
    before = _counts(seeded, b)
    _as_tenant(app_conn, a)
    for e in ENTITIES:
        table, key = sql.Identifier(e.name), sql.Identifier(_key(e.name))
        touched = app_conn.execute(
            sql.SQL("update {} set updated_at = updated_at where {} = %s").format(table, key), (b,)
        )
        assert touched.rowcount == 0, e.name
        # Positive control: the same statement reaches the own tenant's rows.
        own = app_conn.execute(
            sql.SQL("update {} set updated_at = updated_at where {} = %s").format(table, key), (a,)
        )
        assert own.rowcount > 0, e.name
        if e.name != "tenants":
            deleted = app_conn.execute(
                sql.SQL("delete from {} where {} = %s").format(table, key), (b,)
            )
            assert deleted.rowcount == 0, e.name
            # Moving an own row to the other tenant is refused by the policy's WITH CHECK.
            moved = sql.SQL(
                "update {} set tenant_id = %s where id = (select id from {} order by id limit 1)"
            ).format(table, table)
            with (
                pytest.raises(errors.InsufficientPrivilege, match="row-level security"),
                app_conn.transaction(),
            ):
                app_conn.execute(moved, (b,))
    with pytest.raises(errors.InsufficientPrivilege), app_conn.transaction():
        app_conn.execute("delete from tenants where id = %s", (b,))
    app_conn.rollback()
    assert _counts(seeded, b) == before


def test_app_cannot_insert_rows_for_another_tenant(
    seeded: str, tenants: tuple[str, str], app_conn: psycopg.Connection[Any]
) -> None:
    a, b = tenants
    before = _counts(seeded, b)
    with psycopg.connect(seeded) as maintenance:
        samples = {
            e.name: maintenance.execute(
                sql.SQL("select to_jsonb(t) from {} t where {} = %s order by id limit 1").format(
                    sql.Identifier(e.name), sql.Identifier(_key(e.name))
                ),
                (a,),
            ).fetchone()
            for e in ENTITIES
        }
    _as_tenant(app_conn, a)
    for e in ENTITIES:
        sample = samples[e.name]
        assert sample is not None, e.name
        row = dict(sample[0])
        row["id"] = str(uuid.uuid4())
        row[_key(e.name)] = b if e.name != "tenants" else str(uuid.uuid4())
        if e.name == "tenants":
            row["slug"] = f"evil-{row['id']}"
        insert = sql.SQL(
            "insert into {t} select * from jsonb_populate_record(null::{t}, %s::jsonb)"
        ).format(t=sql.Identifier(e.name))
        # tenants: no INSERT privilege at all; every other table: the policy refuses it.
        expected = "permission denied" if e.name == "tenants" else "row-level security"
        with pytest.raises(errors.InsufficientPrivilege, match=expected), app_conn.transaction():
            app_conn.execute(insert, (Jsonb(row),))
    app_conn.rollback()
    assert _counts(seeded, b) == before


def test_app_cannot_change_its_own_plan_or_status(
    seeded: str, tenants: tuple[str, str], app_conn: psycopg.Connection[Any]
) -> None:
    a, _b = tenants
    _as_tenant(app_conn, a)
    for change in ("plan = 'enterprise'", "plan = 'free'", "is_active = not is_active"):
        with (
            pytest.raises(errors.InsufficientPrivilege, match="plan and status"),
            app_conn.transaction(),
        ):
            app_conn.execute(f"update tenants set {change} where id = %s", (a,))
    # Positive control: a tenant may rename itself.
    with app_conn.transaction():
        cur = app_conn.execute("update tenants set name = name || ' (renamed)' where id = %s", (a,))
        assert cur.rowcount == 1
    app_conn.commit()
    # The platform (the maintenance role, a member of the owner) may change the plan.
    with psycopg.connect(seeded) as conn:
        conn.execute("update tenants set plan = 'enterprise' where id = %s", (a,))
        got = conn.execute("select plan, name from tenants where id = %s", (a,)).fetchone()
    assert got is not None
    assert got[0] == "enterprise"
    assert got[1].endswith(" (renamed)")


@pytest.mark.parametrize(
    "statement",
    [
        f"set role {NAMES.owner}",
        f"set role {NAMES.maintenance}",
        f"set role {NAMES.replicator}",
        f"set role {SUPERUSER}",
        f"set session authorization {SUPERUSER}",
        f"set session authorization {NAMES.owner}",
        "select pg_read_file('postgresql.conf')",
        "select pg_read_file('/etc/passwd')",
        "select pg_ls_dir('.')",
        "select pg_read_binary_file('PG_VERSION')",
        "copy customers to '/tmp/lakehouse-exfiltrated.csv'",
        "copy customers from program 'id'",
        "select lo_import('/etc/passwd')",
        "alter table customers no force row level security",
        "alter table customers disable row level security",
        "drop policy customers_tenant_isolation on customers",
        "create table scratch (n int)",
        "alter role lakehouse_app bypassrls",
        "update django_migrations set app = 'x'",
    ],
)
def test_app_cannot_escape_its_role(source_db: str, as_role: AsRole, statement: str) -> None:
    with (
        psycopg.connect(as_role(source_db, "app")) as conn,
        pytest.raises(errors.InsufficientPrivilege),
    ):
        conn.execute(statement)


def test_rls_cannot_stop_sql_that_sets_the_tenant(
    tenants: tuple[str, str], app_conn: psycopg.Connection[Any]
) -> None:
    """The limit of RLS, written down: SQL that controls the session's settings chooses the
    tenant. This is why the app never builds SQL from input (see test_no_raw_sql.py)."""
    a, b = tenants
    _as_tenant(app_conn, a)
    app_conn.execute("select set_config('app.tenant_id', %s, true)", (b,))
    row = app_conn.execute("select count(*) from customers where tenant_id = %s", (b,)).fetchone()
    assert row is not None
    assert row[0] > 0


# -- the owner, the maintenance role and the replicator -----------------------------------------
def test_force_holds_for_the_owner(seeded: str, tenants: tuple[str, str], as_role: AsRole) -> None:
    a, _b = tenants
    expected = _counts(seeded, a)
    with psycopg.connect(as_role(seeded, "owner")) as conn:
        for e in ENTITIES:
            query = sql.SQL("select count(*) from {}").format(sql.Identifier(e.name))
            assert conn.execute(query).fetchone() == (0,), e.name
        _as_tenant(conn, a)
        for e in ENTITIES:
            query = sql.SQL("select count(*) from {}").format(sql.Identifier(e.name))
            assert conn.execute(query).fetchone() == (expected[e.name],), e.name


def test_maintenance_and_replicator_read_every_tenant(seeded: str, as_role: AsRole) -> None:
    totals = {}
    with psycopg.connect(as_role(seeded, None)) as su:
        for e in ENTITIES:
            row = su.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier(e.name))
            ).fetchone()
            assert row is not None
            totals[e.name] = row[0]
    for role in ("maintenance", "replicator"):
        with psycopg.connect(as_role(seeded, role)) as conn:  # type: ignore[arg-type]
            for e in ENTITIES:
                got = conn.execute(
                    sql.SQL("select count(*) from {}").format(sql.Identifier(e.name))
                ).fetchone()
                assert got == (totals[e.name],), (role, e.name)


@pytest.mark.parametrize(
    "statement",
    [
        "update customers set city = 'x'",
        "delete from events",
        "insert into tenants (id) values (gen_random_uuid())",
        "truncate events",
        "select count(*) from auth_user",
        "select count(*) from memberships",
        "select count(*) from django_session",
    ],
)
def test_replicator_only_reads_the_published_tables(
    source_db: str, as_role: AsRole, statement: str
) -> None:
    with (
        psycopg.connect(as_role(source_db, "replicator")) as conn,
        pytest.raises(errors.InsufficientPrivilege),
    ):
        conn.execute(statement)
