"""Tenant isolation: the database rejects cross-tenant references, row-level security hides
other tenants' rows, and the app's tenant scoping and admin work."""

from __future__ import annotations

import psycopg
import pytest
from lakehouse_glue.model import load_declaration
from psycopg import errors, sql

from lakehouse.source.seed import seed
from tests.django_backend.conftest import django_json

TENANT_ROLE = "lakehouse_app"


@pytest.fixture
def seeded(source_db: str) -> str:
    seed(source_db, scale=0.005, seed=5, reset=False)
    return source_db


def _two_tenants(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[str, str]:
    # The two largest tenants: the seed's Zipf sizes leave the smallest ones nearly empty.
    rows = conn.execute(
        "select t.id::text from tenants t order by "
        "(select count(*) from customers c where c.tenant_id = t.id) desc, t.id limit 2"
    ).fetchall()
    return str(rows[0][0]), str(rows[1][0])


def test_cross_tenant_references_are_rejected_for_every_reference(seeded: str) -> None:
    declaration = load_declaration()
    checked = 0
    with psycopg.connect(seeded) as conn:
        for entity in declaration.entities:
            for column, target in entity.references.items():
                if target == declaration.tenant_entity:
                    continue
                row = conn.execute(
                    sql.SQL(
                        "select c.id::text, c.tenant_id::text from {} c where {} is not null "
                        "and exists (select 1 from {} p where p.tenant_id <> c.tenant_id) "
                        "order by c.id limit 1"
                    ).format(
                        sql.Identifier(entity.name), sql.Identifier(column), sql.Identifier(target)
                    )
                ).fetchone()
                assert row is not None, entity.name
                child_id, tenant_id = row
                other = conn.execute(
                    sql.SQL("select id from {} where tenant_id <> %s order by id limit 1").format(
                        sql.Identifier(target)
                    ),
                    (tenant_id,),
                ).fetchone()
                same = conn.execute(
                    sql.SQL("select id from {} where tenant_id = %s order by id limit 1").format(
                        sql.Identifier(target)
                    ),
                    (tenant_id,),
                ).fetchone()
                assert other is not None
                update = sql.SQL("update {} set {} = %s where id = %s").format(
                    sql.Identifier(entity.name), sql.Identifier(column)
                )
                with pytest.raises(errors.ForeignKeyViolation), conn.transaction():
                    conn.execute(update, (other[0], child_id))
                if same is not None:
                    # Positive control: the same tenant's row is accepted.
                    with conn.transaction():
                        conn.execute(update, (same[0], child_id))
                        raise_rollback(conn)
                checked += 1
    assert checked == 8


def raise_rollback(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    raise psycopg.Rollback()


def test_check_constraints_reject_bad_rows(seeded: str) -> None:
    bad = [
        (
            "update orders set status = 'lost' "
            "where id = (select id from orders where status = 'completed' order by id limit 1)",
            "status",
        ),
        (
            "update products set price = -1 "
            "where id = (select id from products order by id limit 1)",
            "price",
        ),
        (
            "update order_items set line_total = line_total + 1 "
            "where id = (select id from order_items order by id limit 1)",
            "line_total",
        ),
        (
            "update orders set total = total + 1 "
            "where id = (select id from orders order by id limit 1)",
            "total",
        ),
        (
            "update invoices set subscription_id = null "
            "where id = (select id from invoices where subscription_id is not null "
            "order by id limit 1)",
            "xor",
        ),
        (
            "update orders set status = 'cancelled' "
            "where id = (select id from orders where status = 'pending' order by id limit 1)",
            "cancelled_at",
        ),
    ]
    with psycopg.connect(seeded) as conn:
        for statement, constraint in bad:
            with pytest.raises(errors.CheckViolation) as info, conn.transaction():
                conn.execute(statement)
            assert constraint in (info.value.diag.constraint_name or ""), statement


def test_row_level_security_hides_other_tenants(seeded: str) -> None:
    with psycopg.connect(seeded) as conn:
        a, b = _two_tenants(conn)
        expected = {
            e.name: conn.execute(
                sql.SQL("select count(*) from {} where {} = %s").format(
                    sql.Identifier(e.name), sql.Identifier(e.tenant_column)
                ),
                (a,),
            ).fetchone()
            for e in load_declaration().entities
        }
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(TENANT_ROLE)))
        # No tenant set: nothing is visible.
        assert conn.execute("select count(*) from customers").fetchone() == (0,)
        conn.execute("select set_config('app.current_tenant', %s, false)", (a,))
        for e in load_declaration().entities:
            got = conn.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier(e.name))
            ).fetchone()
            assert got == expected[e.name], e.name
            assert got is not None
            assert got[0] > 0, e.name
        assert conn.execute("select id::text from tenants").fetchall() == [(a,)]
        # Writing another tenant's row is refused by the policy's WITH CHECK.
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            conn.execute(
                "update customers set tenant_id = %s "
                "where id = (select id from customers order by id limit 1)",
                (b,),
            )
        # Updates of another tenant's rows find nothing.
        cur = conn.execute("update customers set city = 'x' where tenant_id = %s", (b,))
        assert cur.rowcount == 0
        conn.rollback()


APP_CHECK = r"""
import json
from django.db import connection
from django.test import RequestFactory
from apps.core.models import Customer, Order, Tenant
from apps.core.tenancy import TenantMiddleware, tenant_context

tenant = Tenant.objects.order_by("id").first()
other = Tenant.objects.order_by("id")[1]
out = {"all": Customer.objects.count(), "tenant": str(tenant.pk)}
with tenant_context(tenant):
    out["scoped"] = Customer.objects.count()
    out["tenants"] = Tenant.objects.count()
    with connection.cursor() as cur:
        cur.execute("select count(*) from customers")  # no ORM filter: RLS alone
        out["raw"] = cur.fetchone()[0]
        cur.execute("select current_user")
        out["role"] = cur.fetchone()[0]
    out["other_orders"] = Order.objects.filter(tenant_id=other.pk).count()
with connection.cursor() as cur:
    cur.execute("select current_user, current_setting('app.current_tenant', true)")
    out["after"] = list(cur.fetchone())
out["expected"] = Customer.objects.filter(tenant=tenant).count()
seen = {}
def view(request):
    from django.http import HttpResponse
    seen["count"] = Customer.objects.count()
    return HttpResponse("ok")
middleware = TenantMiddleware(view)
middleware(RequestFactory().get("/", HTTP_X_TENANT=tenant.slug))
out["middleware"] = seen["count"]
out["unknown"] = middleware(RequestFactory().get("/", HTTP_X_TENANT="no-such")).status_code
print(json.dumps(out))
"""


def test_app_scopes_querysets_and_sets_the_rls_session(seeded: str) -> None:
    out = django_json(seeded, APP_CHECK)
    assert out["scoped"] == out["expected"] == out["raw"] == out["middleware"]
    assert 0 < out["scoped"] < out["all"]
    assert out["tenants"] == 1
    assert out["role"] == TENANT_ROLE
    assert out["other_orders"] == 0
    assert out["after"][1] == ""
    assert out["after"][0] != TENANT_ROLE
    assert out["unknown"] == 400


ADMIN_CHECK = r"""
import json
from django.contrib.auth import get_user_model
from django.test import Client
from apps.core.models import Order
User = get_user_model()
user = User.objects.create_superuser("admin", "admin@example.com", "not-a-secret")
client = Client()
client.force_login(user)
pages = ["/admin/"] + [
    f"/admin/core/{m}/" for m in
    ["tenant", "customer", "product", "order", "orderitem", "subscription", "invoice", "event"]
]
order = Order.objects.order_by("id").first()
pages.append(f"/admin/core/order/{order.pk}/change/")
print(json.dumps({p: client.get(p).status_code for p in pages}))
"""


def test_admin_pages_work(seeded: str) -> None:
    statuses = django_json(seeded, ADMIN_CHECK)
    assert statuses
    assert all(code == 200 for code in statuses.values()), statuses
