"""Least-privilege roles and FORCED row-level security (replaces 0002's SET ROLE design).

Migrations run as the owner role. The login roles (app, maintenance, replicator) are
cluster-wide and created beforehand by the bootstrap (``lakehouse db up``) or by an operator
(``lakehouse db roles-sql``); this migration fails with that advice when one is missing.

On each of the eight tables:

- ``FORCE ROW LEVEL SECURITY``: the owner is subject to the policies too.
- ``<table>_tenant_isolation`` (every role): rows of the tenant in ``app.tenant_id``, which the
  app sets per transaction (``set_config(..., true)``); unset means no row.
- ``<table>_platform_read`` (app, SELECT only): every row when ``app.all_tenants`` is ``on``,
  which the app sets only for platform staff.
- ``<table>_maintenance`` (maintenance role): every row, for the seed and the simulator.
- ``<table>_replication_read`` (replicator, SELECT only): every row, for the full load.

Privileges: the app may SELECT, INSERT, UPDATE and DELETE the tenant-owned tables, but only
SELECT and UPDATE ``tenants``, and a trigger refuses a change of ``plan`` or ``is_active`` by
anyone who is not a member of the table's owner. The replicator may SELECT the published
tables and nothing else (not Django's auth tables). Django's own tables (auth, sessions, admin
log) are the app's through default privileges of the owner.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import migrations

TABLES = (
    "tenants",
    "customers",
    "products",
    "orders",
    "order_items",
    "subscriptions",
    "invoices",
    "events",
)
TENANT = "nullif(current_setting('app.tenant_id', true), '')::uuid"
OLD_TENANT = "nullif(current_setting('app.current_tenant', true), '')::uuid"
ALL_TENANTS = "coalesce(current_setting('app.all_tenants', true), '') = 'on'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _require_roles(schema_editor: Any, names: list[str]) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("select rolname from pg_roles where rolname = any(%s)", [names])
        found = {r[0] for r in cursor.fetchall()}
    missing = [n for n in names if n not in found]
    if missing:
        raise RuntimeError(
            f"the database roles {', '.join(missing)} do not exist; create them first as a "
            "role allowed to (locally 'lakehouse db up' does; elsewhere run the SQL printed by "
            "'lakehouse db roles-sql', see django-backend/README.md)"
        )


def forwards(apps: Any, schema_editor: Any) -> None:
    run = schema_editor.execute
    app = _quote(settings.LAKEHOUSE_APP_ROLE)
    maintenance = _quote(settings.LAKEHOUSE_MAINTENANCE_ROLE)
    replicator = _quote(settings.LAKEHOUSE_REPLICATOR_ROLE)
    _require_roles(
        schema_editor,
        [
            settings.LAKEHOUSE_APP_ROLE,
            settings.LAKEHOUSE_MAINTENANCE_ROLE,
            settings.LAKEHOUSE_REPLICATOR_ROLE,
        ],
    )
    # Django's own tables, now and later: the app's (owner's default privileges).
    run(f"grant usage on schema public to {app}, {replicator}")
    defaults = "alter default privileges in schema public grant"
    run(f"{defaults} select, insert, update, delete on tables to {app}")
    run(f"{defaults} usage, select on sequences to {app}")
    run(f"grant select, insert, update, delete on all tables in schema public to {app}")
    run(f"grant usage, select on all sequences in schema public to {app}")
    run(f"revoke insert, update, delete on django_migrations from {app}")

    for table in TABLES:
        key = "id" if table == "tenants" else "tenant_id"
        run(f"drop policy if exists {table}_tenant_isolation on {table}")
        run(f"alter table {table} enable row level security")
        run(f"alter table {table} force row level security")
        run(
            f"create policy {table}_tenant_isolation on {table} "
            f"using ({key} = {TENANT}) with check ({key} = {TENANT})"
        )
        run(
            f"create policy {table}_platform_read on {table} for select to {app} "
            f"using ({ALL_TENANTS})"
        )
        run(
            f"create policy {table}_maintenance on {table} to {maintenance} "
            "using (true) with check (true)"
        )
        run(
            f"create policy {table}_replication_read on {table} for select to {replicator} "
            "using (true)"
        )
        run(f"grant select on {table} to {replicator}")
    # A tenant may rename itself, not change what it pays for or whether it is active.
    run(f"revoke insert, delete, truncate on tenants from {app}")
    run(
        "create function tenants_guard_plan_status() returns trigger language plpgsql "
        "set search_path = pg_catalog as $$ begin "
        "if (new.plan, new.is_active) is distinct from (old.plan, old.is_active) and not "
        "pg_has_role(current_user, (select relowner from pg_class where oid = tg_relid), "
        "'MEMBER') then raise exception 'a tenant''s plan and status are changed by the "
        "platform only' using errcode = 'insufficient_privilege'; end if; return new; end $$"
    )
    run(
        "create trigger tenants_guard_plan_status before update on tenants "
        "for each row execute function tenants_guard_plan_status()"
    )


def backwards(apps: Any, schema_editor: Any) -> None:
    run = schema_editor.execute
    app = _quote(settings.LAKEHOUSE_APP_ROLE)
    run("drop trigger if exists tenants_guard_plan_status on tenants")
    run("drop function if exists tenants_guard_plan_status()")
    for table in TABLES:
        key = "id" if table == "tenants" else "tenant_id"
        for suffix in ("tenant_isolation", "platform_read", "maintenance", "replication_read"):
            run(f"drop policy if exists {table}_{suffix} on {table}")
        run(f"alter table {table} no force row level security")
        run(
            f"create policy {table}_tenant_isolation on {table} to {app} "
            f"using ({key} = {OLD_TENANT}) with check ({key} = {OLD_TENANT})"
        )
    run(f"grant insert, delete on tenants to {app}")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_database_guarantees")]

    operations = [migrations.RunPython(forwards, backwards)]
