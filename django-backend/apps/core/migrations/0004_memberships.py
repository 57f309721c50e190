"""Memberships: which users may act for which tenant (an app-side table, never replicated).

Row-level security, forced like the entity tables': a user reads its own memberships (the
middleware sets ``app.user_id`` to resolve the request's tenant), a tenant's rows are readable
and writable inside that tenant, platform staff read all. ``tenants`` gains a read policy for
the tenants the user is a member of, so that a user's memberships can name their tenants
before one is selected.
"""

from typing import Any

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

TENANT = "nullif(current_setting('app.tenant_id', true), '')::uuid"
USER = "nullif(current_setting('app.user_id', true), '')::bigint"
ALL_TENANTS = "coalesce(current_setting('app.all_tenants', true), '') = 'on'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def forwards(apps: Any, schema_editor: Any) -> None:
    run = schema_editor.execute
    app = _quote(settings.LAKEHOUSE_APP_ROLE)
    run("alter table memberships enable row level security")
    run("alter table memberships force row level security")
    run(
        "create policy memberships_tenant_isolation on memberships "
        f"using (tenant_id = {TENANT}) with check (tenant_id = {TENANT})"
    )
    run(
        f"create policy memberships_own_read on memberships for select to {app} "
        f"using (user_id = {USER})"
    )
    run(
        f"create policy memberships_platform_read on memberships for select to {app} "
        f"using ({ALL_TENANTS})"
    )
    run(
        f"create policy tenants_member_read on tenants for select to {app} using (exists "
        "(select from memberships m where m.tenant_id = tenants.id "
        f"and m.user_id = {USER}))"
    )
    run(f"grant select, insert, update, delete on memberships to {app}")
    run(f"grant usage, select on sequence memberships_id_seq to {app}")


def backwards(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute("drop policy if exists tenants_member_read on tenants")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_least_privilege_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Membership",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "role",
                    models.TextField(
                        choices=[("viewer", "viewer"), ("admin", "admin")], default="viewer"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        db_column="tenant_id",
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="core.tenant",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "memberships",
                "ordering": ["tenant", "user"],
                "permissions": [
                    ("view_all_tenants", "Can see every tenant, read-only (platform staff)")
                ],
                "indexes": [
                    models.Index(fields=["tenant", "user"], name="memberships_tenant_user")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "tenant"), name="memberships_user_tenant_key"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("role__in", ("viewer", "admin"))),
                        name="memberships_role_valid",
                    ),
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
