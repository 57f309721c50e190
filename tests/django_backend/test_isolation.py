"""Tenant isolation in the schema (cross-tenant references, valid values) and on the web: the
Django test client against the real PostgreSQL, the app connected as its own role.

The database side of the boundary (each role tried directly) is in test_roles.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from lakehouse_glue.model import load_declaration
from psycopg import errors, sql

from lakehouse.db.cluster import LocalCluster
from lakehouse.source.seed import seed
from tests.django_backend.conftest import django_json


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
            # A completed order: 'lost' breaks only the accepted-values check.
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


WEB_CHECK = r"""
import json, uuid
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from apps.core.models import Customer, Membership, Tenant
from apps.core.tenancy import tenant_context

A, B = __TENANTS__
with tenant_context(A):
    slug_a = Tenant.objects.get().slug
with tenant_context(B):
    slug_b = Tenant.objects.get().slug
    customer_b = str(Customer.objects.order_by("id").first().pk)


def user(name, **kw):
    return User.objects.create_user(name, f"{name}@example.com", f"pw-{name}", **kw)


alice, bob, carol, eve = user("alice"), user("bob", is_staff=True), user("carol"), user(
    "eve", is_staff=True
)
root = User.objects.create_superuser("root", "root@example.com", "pw-root")
auditor = user("auditor", is_staff=True)
auditor.user_permissions.add(Permission.objects.get(codename="view_all_tenants"))
with tenant_context(A):
    Membership.objects.create(user=alice, tenant_id=A)
    Membership.objects.create(user=bob, tenant_id=A, role="admin")
    Membership.objects.create(user=eve, tenant_id=A)
with tenant_context(B):
    Membership.objects.create(user=bob, tenant_id=B)
    try:
        with tenant_context(B):
            Membership.objects.create(user=carol, tenant_id=A)
        cross = "created"
    except Exception as exc:
        cross = type(exc).__name__
out = {"slug_a": slug_a, "slug_b": slug_b, "cross_tenant_membership": cross}


def call(who, path="/tenant/", **headers):
    client = Client()
    if who is not None:
        client.force_login(who)
    r = client.get(path, **headers)
    got = {"status": r.status_code, "type": r.get("Content-Type"), "location": r.get("Location")}
    if r.get("Content-Type", "").startswith(("application/json", "text/plain")):
        got["body"] = r.content.decode()
    ctx = getattr(r, "context_data", None) or {}
    if "cl" in ctx:
        got["count"] = ctx["cl"].result_count
    if "has_change_permission" in ctx:
        got["can_change"] = bool(ctx["has_change_permission"])
    return got


H = lambda v: {"HTTP_X_TENANT": v}
evil = "nope-<script>alert(1)</script>"
out["anonymous"] = call(None)
out["anonymous_header"] = call(None, **H(slug_a))
out["anonymous_admin_header"] = call(None, "/admin/core/customer/", **H(slug_a))
out["alice"] = call(alice)
out["alice_slug"] = call(alice, **H(slug_a))
out["alice_id"] = call(alice, **H(A.upper()))
out["alice_forbidden_slug"] = call(alice, **H(slug_b))
out["alice_forbidden_id"] = call(alice, **H(B))
out["alice_unknown_slug"] = call(alice, **H(evil))
out["alice_unknown_id"] = call(alice, **H(str(uuid.uuid4())))
out["alice_subdomain"] = call(alice, HTTP_HOST=f"{slug_a}.tenants.test")
out["alice_forbidden_subdomain"] = call(alice, HTTP_HOST=f"{slug_b}.tenants.test")
out["bob_unselected"] = call(bob)
out["bob_b"] = call(bob, **H(slug_b))
out["carol"] = call(carol)
out["carol_header"] = call(carol, **H(slug_a))
out["root_unselected"] = call(root)
out["root_b"] = call(root, **H(slug_b))

login = Client()
out["login"] = login.post("/accounts/login/", {"username": "alice", "password": "pw-alice"})[
    "Location"
]
out["after_login"] = json.loads(login.get("/tenant/").content)
bad = Client()
bad.post("/accounts/login/", {"username": "alice", "password": "wrong"})
out["after_bad_login"] = bad.get("/tenant/").status_code

out["admin_bob_a_customers"] = call(bob, "/admin/core/customer/", **H(slug_a))
out["admin_bob_a_tenants"] = call(bob, "/admin/core/tenant/", **H(slug_a))
out["admin_bob_a_memberships"] = call(bob, "/admin/core/membership/", **H(slug_a))
out["admin_bob_a_users"] = call(bob, "/admin/auth/user/", **H(slug_a))
out["admin_bob_a_foreign_row"] = call(
    bob, f"/admin/core/customer/{customer_b}/change/", **H(slug_a)
)
out["admin_bob_b_viewer"] = call(bob, "/admin/", **H(slug_b))
out["admin_eve_viewer"] = call(eve, "/admin/")
out["admin_root_customers"] = call(root, "/admin/core/customer/")
out["admin_root_tenants"] = call(root, "/admin/core/tenant/")
out["admin_root_change"] = call(root, f"/admin/core/customer/{customer_b}/change/")
out["admin_root_users"] = call(root, "/admin/auth/user/")
out["admin_auditor_customers"] = call(auditor, "/admin/core/customer/")
with connection.cursor() as cur:
    cur.execute(
        "select current_user, coalesce(current_setting('app.tenant_id', true), ''), "
        "coalesce(current_setting('app.all_tenants', true), ''), "
        "(select rolsuper or rolbypassrls from pg_roles where rolname = current_user)"
    )
    out["session_after"] = list(cur.fetchone())
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def web(pg_cluster: LocalCluster, migrated_template: str) -> Iterator[dict[str, Any]]:
    """One seeded database, users and memberships, and every request's outcome (read-only)."""
    name = f"web_{uuid.uuid4().hex[:12]}"
    pg_cluster.ensure_database(name, template=migrated_template)
    try:
        seeded = pg_cluster.dsn(name, role="maintenance")
        seed(seeded, scale=0.005, seed=5, reset=False)
        yield _web(seeded, pg_cluster.dsn(name, role="app"))
    finally:
        pg_cluster.drop_database(name)


def _web(seeded: str, app_dsn: str) -> dict[str, Any]:
    with psycopg.connect(seeded) as conn:
        a, b = _two_tenants(conn)
        customers = dict(
            conn.execute("select tenant_id::text, count(*) from customers group by 1").fetchall()
        )
    code = WEB_CHECK.replace("__TENANTS__", json.dumps([a, b]))
    out = django_json(app_dsn, code)
    return {**out, "a": a, "b": b, "customers": customers}


NOT_FOUND = {"status": 404, "type": "text/plain; charset=utf-8", "location": None}


def test_tenant_comes_from_the_users_memberships(web: dict[str, Any]) -> None:
    a_customers = web["customers"][web["a"]]
    b_customers = web["customers"][web["b"]]
    assert 0 < a_customers != b_customers
    mine = {"tenant": web["slug_a"], "role": "viewer", "customers": a_customers}
    for case in ("alice", "alice_slug", "alice_id", "alice_subdomain"):
        assert web[case]["status"] == 200, case
        assert json.loads(web[case]["body"]).items() >= mine.items(), case
    # Several memberships: the header picks one; none picked means no tenant.
    assert (
        json.loads(web["bob_b"]["body"]).items()
        >= {
            "tenant": web["slug_b"],
            "role": "viewer",
            "customers": b_customers,
        }.items()
    )
    # Platform staff may select any tenant, explicitly.
    assert json.loads(web["root_b"]["body"])["customers"] == b_customers
    assert json.loads(web["root_b"]["body"])["role"] == "platform"
    # Inside one tenant, a membership of another cannot even be written.
    assert web["cross_tenant_membership"] == "ProgrammingError"


def test_unknown_and_forbidden_tenants_get_the_same_404(web: dict[str, Any]) -> None:
    cases = [
        "alice_forbidden_slug",
        "alice_forbidden_id",
        "alice_unknown_slug",
        "alice_unknown_id",
        "alice_forbidden_subdomain",
        "carol_header",
    ]
    bodies = {web[c]["body"] for c in cases}
    assert bodies == {"Not found.\n"}
    for case in cases:
        assert {k: web[case][k] for k in NOT_FOUND} == NOT_FOUND, case
    # No tenant at all (none, or several and none selected): the same answer.
    for case in ("carol", "bob_unselected", "root_unselected"):
        assert web[case]["body"] == "Not found.\n", case
    assert "script" not in web["alice_unknown_slug"]["body"]


def test_anonymous_requests_never_resolve_a_tenant(web: dict[str, Any]) -> None:
    for case in ("anonymous", "anonymous_header"):
        assert web[case]["status"] == 302, case
        assert web[case]["location"].startswith("/accounts/login/"), case
        assert "body" not in web[case]
    assert web["anonymous_admin_header"]["status"] == 302
    assert web["anonymous_admin_header"]["location"].startswith("/admin/login/")


def test_login_then_the_users_tenant(web: dict[str, Any]) -> None:
    assert web["login"] == "/tenant/"
    assert web["after_login"]["tenant"] == web["slug_a"]
    assert web["after_login"]["customers"] == web["customers"][web["a"]]
    assert web["after_bad_login"] == 302


def test_admin_tenant_staff_see_only_their_tenant(web: dict[str, Any]) -> None:
    a_customers = web["customers"][web["a"]]
    assert web["admin_bob_a_customers"]["status"] == 200
    assert web["admin_bob_a_customers"]["count"] == a_customers
    assert web["admin_bob_a_tenants"]["count"] == 1
    assert web["admin_bob_a_memberships"]["count"] == 3  # alice, bob, eve
    assert web["admin_bob_a_users"]["status"] == 403
    # Another tenant's row: the admin cannot find it (redirects to the index).
    assert web["admin_bob_a_foreign_row"]["status"] == 302
    # A viewer membership, or staff without an admin membership: no admin.
    for case in ("admin_bob_b_viewer", "admin_eve_viewer"):
        assert web[case]["status"] == 302, case
        assert web[case]["location"].startswith("/admin/login/"), case


def test_admin_platform_staff_see_all_read_only(web: dict[str, Any]) -> None:
    total = sum(web["customers"].values())
    assert web["admin_root_customers"]["count"] == total
    assert web["admin_auditor_customers"]["count"] == total
    assert web["admin_root_tenants"]["count"] == len(web["customers"])
    assert web["admin_root_change"]["status"] == 200
    assert web["admin_root_change"]["can_change"] is False
    assert web["admin_root_users"]["status"] == 200


def test_requests_leave_no_tenant_on_the_connection(web: dict[str, Any]) -> None:
    assert web["session_after"] == ["lakehouse_app", "", "", False]
