"""The declaration, the Django models and the real PostgreSQL catalog agree column for column."""

from __future__ import annotations

import psycopg
from lakehouse_glue.model import load_declaration

from tests.django_backend.conftest import django_json, run_manage

# App-side tables: Django models that are not business entities. They stay out of
# entities.json and the publication, on purpose; naming them here keeps that explicit, and a
# new model must be added either to the declaration or to this set.
APP_SIDE_TABLES = {"memberships"}

MODEL_DUMP = r"""
import json
from django.apps import apps
out = {}
for model in apps.get_app_config("core").get_models():
    out[model._meta.db_table] = [
        {"name": f.column, "type": f.db_type(connection=__import__("django.db").db.connection),
         "nullable": f.null}
        for f in model._meta.concrete_fields
    ]
print(json.dumps(out))
"""


def _catalog(dsn: str) -> dict[str, list[tuple[str, str, bool]]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            select c.relname, a.attname, format_type(a.atttypid, a.atttypmod), not a.attnotnull
            from pg_attribute a
            join pg_class c on c.oid = a.attrelid
            join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind = 'r' and a.attnum > 0
              and not a.attisdropped
            order by c.relname, a.attnum
            """
        ).fetchall()
    out: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, type_, nullable in rows:
        out.setdefault(table, []).append((column, type_, nullable))
    return out


def test_postgres_catalog_equals_declaration(source_db: str) -> None:
    catalog = _catalog(source_db)
    for entity in load_declaration().entities:
        expected = [(c.name, c.postgres_type, c.nullable) for c in entity.columns]
        assert catalog[entity.name] == expected, entity.name


def test_django_models_equal_declaration(source_db: str) -> None:
    models = django_json(source_db, MODEL_DUMP)
    declaration = load_declaration()
    assert set(models) >= APP_SIDE_TABLES
    assert not APP_SIDE_TABLES & set(declaration.names)
    assert sorted(set(models) - APP_SIDE_TABLES) == sorted(declaration.names)
    for entity in declaration.entities:
        expected = [
            {"name": c.name, "type": c.postgres_type, "nullable": c.nullable}
            for c in entity.columns
        ]
        # Django spells numeric(12, 2) with a space, PostgreSQL numeric(12,2).
        got = [{**f, "type": f["type"].replace(", ", ",")} for f in models[entity.name]]
        assert got == expected, entity.name


def test_cdc_ready_replica_identity_and_publication(source_db: str) -> None:
    names = sorted(load_declaration().names)
    with psycopg.connect(source_db) as conn:
        identities = conn.execute(
            "select relname, relreplident from pg_class where relname = any(%s) "
            "and relkind = 'r' order by relname",
            (names,),
        ).fetchall()
        published = conn.execute(
            "select tablename from pg_publication_tables "
            "where pubname = 'lakehouse_pub' and schemaname = 'public' order by tablename"
        ).fetchall()
        rls = conn.execute(
            "select relname from pg_class where relrowsecurity and relforcerowsecurity "
            "and relname = any(%s) order by relname",
            (names,),
        ).fetchall()
    assert identities == [(n, "f") for n in names]
    # Exactly the entities: app-side tables (memberships) are never replicated.
    assert [r[0] for r in published] == names
    assert [r[0] for r in rls] == names


def test_same_tenant_foreign_keys_cover_every_reference(source_db: str) -> None:
    """Every declared reference to a tenant-owned entity is a (tenant_id, x) composite key."""
    with psycopg.connect(source_db) as conn:
        rows = conn.execute(
            """
            select conrelid::regclass::text, confrelid::regclass::text,
                   array(select attname from pg_attribute
                         where attrelid = conrelid and attnum = any(conkey) order by attnum)
            from pg_constraint where contype = 'f' and array_length(conkey, 1) = 2
            """
        ).fetchall()
    got = {(t, next(c for c in cols if c != "tenant_id"), parent) for t, parent, cols in rows}
    declaration = load_declaration()
    expected = {
        (e.name, col, target)
        for e in declaration.entities
        for col, target in e.references.items()
        if target != declaration.tenant_entity
    }
    assert got == expected


def test_manage_check_is_clean(source_db: str) -> None:
    proc = run_manage(source_db, "check", "--fail-level", "WARNING")
    assert "no issues" in proc.stdout
    missing = run_manage(source_db, "makemigrations", "--check", "--dry-run", check=False)
    assert missing.returncode == 0, missing.stdout + missing.stderr
