"""What the ORM cannot declare: same-tenant foreign keys, CDC readiness and row-level security.

- Composite foreign keys ``(tenant_id, x_id) -> parent (tenant_id, id)`` so that the database
  rejects a reference to another tenant's row (the parents' ``UNIQUE (tenant_id, id)`` come
  from 0001).
- ``REPLICA IDENTITY FULL`` on the eight tables and the publication for change data capture: the
  bronze contract needs full before-images for deletes and updates.
- Row-level security keyed on the session setting ``app.current_tenant``, for the NOLOGIN role
  the app uses for tenant-scoped access. Roles are cluster-wide, so the role is created only
  if missing (several databases of one cluster, e.g. the test databases, share it). The table
  owner is not subject to the policies (no FORCE), so migrations, the seed and the replicator
  see every row.

The table lists are spelled out here on purpose: a migration is a record of history and must not
change meaning when the declaration changes later; a test checks the result against
``entities.json``.
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

# (table, column, parent table): each becomes FOREIGN KEY (tenant_id, column)
# REFERENCES parent (tenant_id, id).
SAME_TENANT_REFERENCES = (
    ("orders", "customer_id", "customers"),
    ("order_items", "order_id", "orders"),
    ("order_items", "product_id", "products"),
    ("subscriptions", "customer_id", "customers"),
    ("invoices", "customer_id", "customers"),
    ("invoices", "subscription_id", "subscriptions"),
    ("invoices", "order_id", "orders"),
    ("events", "customer_id", "customers"),
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _fk_name(table: str, column: str) -> str:
    return f"{table}_{column.removesuffix('_id')}_same_tenant_fk"


def forwards(apps: Any, schema_editor: Any) -> None:
    run = schema_editor.execute
    for table, column, parent in SAME_TENANT_REFERENCES:
        run(
            f"alter table {table} add constraint {_fk_name(table, column)} "
            f"foreign key (tenant_id, {column}) references {parent} (tenant_id, id)"
        )
    for table in TABLES:
        run(f"alter table {table} replica identity full")

    publication = _quote(settings.LAKEHOUSE_PUBLICATION)
    tables = ", ".join(f"public.{t}" for t in TABLES)
    run(
        "do $$ begin "
        "if exists (select 1 from pg_publication where pubname = "
        f"{_literal(settings.LAKEHOUSE_PUBLICATION)}) then "
        f"alter publication {publication} set table {tables}; "
        f"else create publication {publication} for table {tables}; "
        "end if; end $$"
    )

    role = settings.LAKEHOUSE_TENANT_ROLE
    run(
        "do $$ begin "
        f"if not exists (select 1 from pg_roles where rolname = {_literal(role)}) then "
        f"create role {_quote(role)} nologin; "
        "end if; end $$"
    )
    run(f"grant usage on schema public to {_quote(role)}")
    setting = settings.TENANT_SETTING
    # missing_ok=true: without the setting current_setting() is NULL and no row matches.
    tenant = f"nullif(current_setting('{setting}', true), '')::uuid"
    for table in TABLES:
        run(f"grant select, insert, update, delete on {table} to {_quote(role)}")
        run(f"alter table {table} enable row level security")
        key = "id" if table == "tenants" else "tenant_id"
        run(
            f"create policy {table}_tenant_isolation on {table} to {_quote(role)} "
            f"using ({key} = {tenant}) with check ({key} = {tenant})"
        )


def backwards(apps: Any, schema_editor: Any) -> None:
    run = schema_editor.execute
    role = _quote(settings.LAKEHOUSE_TENANT_ROLE)
    for table in TABLES:
        run(f"drop policy if exists {table}_tenant_isolation on {table}")
        run(f"alter table {table} disable row level security")
        run(f"revoke all on {table} from {role}")
        run(f"alter table {table} replica identity default")
    run(f"revoke usage on schema public from {role}")
    run(f"drop publication if exists {_quote(settings.LAKEHOUSE_PUBLICATION)}")
    for table, column, _parent in SAME_TENANT_REFERENCES:
        run(f"alter table {table} drop constraint if exists {_fk_name(table, column)}")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
