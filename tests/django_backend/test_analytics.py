"""The analytics section over a real lake: sign-in, every page, downloads, and 404s for
anything that is not the user's own tenant (Django's test client against real PostgreSQL, the
requests made as the app's own login role)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import psycopg
import pytest

from lakehouse.analytics.operations import MAX_PREFIX_CHARS, MAX_TENANT_PAGE, MAX_TENANT_PAGE_SIZE
from lakehouse.analytics.pages import PAGES
from lakehouse.analytics.service import run_page, tenant_engine
from lakehouse.paths import DJANGO_DIR
from tests.support.lake import Lake
from tests.support.oracle import DASHBOARD_PG, pg_rows
from tests.support.postgres import role_dsn

SETUP = r"""
import os
from django.contrib.auth.models import User
from apps.core.models import Membership, Tenant
from apps.core.tenancy import all_tenants_context, tenant_context

with all_tenants_context():
    mine = Tenant.objects.get(slug=os.environ["TEST_MINE"])
alice, _ = User.objects.get_or_create(username="alice@example.com")
with tenant_context(mine):
    Membership.objects.get_or_create(user=alice, tenant=mine)
User.objects.get_or_create(username="ops@example.com", is_superuser=True)
print("{}")
"""

SCRIPT = r"""
import json, os
from django.contrib.auth.models import User
from django.test import Client

mine, theirs = os.environ["TEST_MINE"], os.environ["TEST_THEIRS"]
theirs_id = os.environ["TEST_THEIRS_ID"]
pages = os.environ["TEST_PAGES"].split(",")
alice = User.objects.get(username="alice@example.com")
staff = User.objects.get(username="ops@example.com")
out = {}
anon = Client()
out["anonymous"] = anon.get(f"/analytics/{mine}/overview/").status_code
c = Client()
c.force_login(alice)
out["home"] = [c.get("/analytics/").status_code, c.get("/analytics/")["Location"]]
for p in pages:
    r = c.get(f"/analytics/{mine}/{p}/")
    body = r.content.decode()
    out[p] = {"status": r.status_code, "rows": body.count("<tr>") - 1,
              "charts": body.count("data-chart")}
    d = c.get(f"/analytics/{mine}/{p}.csv")
    out[p]["csv"] = d.content.decode()
    out[p]["csv_type"] = d["Content-Type"]
from lakehouse.analytics.service import page_sessions
from lakehouse.config import get_settings
kept = page_sessions(get_settings())
built = kept.builds
again = {p: c.get(f"/analytics/{mine}/{p}.csv").content.decode() for p in pages}
out["builds"] = [built, kept.builds]
out["again_same"] = all(again[p] == out[p]["csv"] for p in pages)
from apps.analytics.views import _table_rows
out["table_rows"] = str(_table_rows([["<script>alert(1)</script>", "a&b\"'"], ["", "1"]]))
span = "from=2024-01-01&to=2024-03-31"
out["range_csv"] = c.get(f"/analytics/{mine}/revenue.csv?{span}").content.decode()
probes = {
    "their_page": f"/analytics/{theirs}/overview/",
    "their_csv": f"/analytics/{theirs}/revenue.csv",
    "their_id": f"/analytics/{theirs_id}/overview/",
    "unknown_tenant": "/analytics/no-such-tenant/overview/",
    "unknown_page": f"/analytics/{mine}/secrets/",
    "traversal": f"/analytics/{mine}/..%2f..%2fetc/",
    "ops": "/analytics/ops/",
    "ops_bad_page": "/analytics/ops/?page=-1",
    "ops_sql_prefix": "/analytics/ops/?prefix=%27%20or%201%3D1%20--",
    "ops_second_page": "/analytics/ops/?page=2&size=1",
}
out["probes"] = {k: [c.get(v).status_code, c.get(v).content.decode()] for k, v in probes.items()}
out["bad_date"] = [c.get(f"/analytics/{mine}/revenue/?from=2024-02-30").status_code,
                   c.get(f"/analytics/{mine}/revenue/?from=<script>").content.decode()]
out["header_switch"] = c.get(f"/analytics/{mine}/overview/", HTTP_X_TENANT=theirs).status_code
s = Client()
s.force_login(staff)
ops = s.get("/analytics/ops/")
out["ops_staff"] = [ops.status_code, ops.content.decode().count("<tr>")]
def tenant_card(path):
    r = s.get(path)
    body = r.content.decode()
    card = body.split('<div class="card" id="tenants">', 1)[-1]
    return {"status": r.status_code, "body": body if r.status_code != 200 else "",
            "card": card if r.status_code == 200 else ""}
hostile = {"page": ["abc", "-1", "0", "1.5", "99999999999", "\u0663", "1%3B%20select%201"],
           "size": ["0", "201", "100000", "x"],
           "prefix": ["%27%20or%201%3D1%20--", "%3Cscript%3E", "a%25", "a" * 65]}
out["ops_hostile"] = {f"{k}={v}": tenant_card(f"/analytics/ops/?{k}={v}")
                      for k, values in hostile.items() for v in values}
out["ops_pages"] = {n: tenant_card(f"/analytics/ops/?page={n}&size=2")
                    for n in ("1", "2", "999999")}
out["ops_prefix"] = tenant_card(f"/analytics/ops/?prefix={mine[:3].upper()}&size=2")
out["staff_their_page"] = s.get(f"/analytics/{theirs}/overview/").status_code
print(json.dumps(out))
"""


def _tenants(dsn: str) -> list[tuple[str, str]]:
    """(slug, id) of every tenant, the largest first."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select t.slug, t.id::text from tenants t order by "
            "(select count(*) from orders o where o.tenant_id = t.id) desc, t.id"
        ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def _shell(dsn: str, code: str, env: dict[str, str]) -> Any:
    proc = subprocess.run(
        [sys.executable, str(DJANGO_DIR / "manage.py"), "shell", "--no-imports", "-c", code],
        env={
            **os.environ,
            "DATABASE_URL": dsn,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            **env,
        },
        cwd=DJANGO_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def pages_seen(e2e_lake: Lake) -> dict[str, Any]:
    (mine, _), (theirs, theirs_id) = _tenants(e2e_lake.dsn)[:2]
    env = {
        "TEST_MINE": mine,
        "TEST_THEIRS": theirs,
        "TEST_THEIRS_ID": theirs_id,
        "TEST_PAGES": ",".join(p.slug for p in PAGES),
        "LAKEHOUSE_LAKE": e2e_lake.settings.lake,
    }
    # Users are made by the bootstrap role; the requests run as the app's own login role.
    _shell(e2e_lake.dsn, SETUP, env)
    seen: dict[str, Any] = _shell(role_dsn(e2e_lake.dsn, "app"), SCRIPT, env)
    seen["mine"], seen["theirs"] = mine, theirs
    return seen


def test_anonymous_users_are_sent_to_sign_in(pages_seen: dict[str, Any]) -> None:
    assert pages_seen["anonymous"] == 302
    assert pages_seen["home"] == [302, f"/analytics/{pages_seen['mine']}/overview/"]


def test_every_page_shows_the_tenants_numbers(pages_seen: dict[str, Any], e2e_lake: Lake) -> None:
    for p in PAGES:
        seen = pages_seen[p.slug]
        assert seen["status"] == 200, p.slug
        assert seen["charts"] == len(p.charts), p.slug
        engine = tenant_engine(e2e_lake.settings, pages_seen["mine"])
        try:
            data = run_page(engine, p)
        finally:
            engine.close()
        # The download is exactly the scoped query's answer; the table shows every row.
        assert seen["csv"] == data.csv(), p.slug
        assert seen["csv_type"].startswith("text/csv")
        assert seen["rows"] >= len(data.rows), p.slug


def test_a_page_asked_again_reuses_the_tenants_kept_session(pages_seen: dict[str, Any]) -> None:
    """One locked session per page's tables, built by the page and reused by its download and
    by every later request (lakehouse.athena.pool); the answers are the same."""
    first, again = pages_seen["builds"]
    assert first == len(PAGES)
    assert again == first
    assert pages_seen["again_same"]


def test_the_numbers_table_escapes_every_value(pages_seen: dict[str, Any]) -> None:
    assert pages_seen["table_rows"] == (
        "<tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>a&amp;b&quot;&#x27;</td></tr>"
        "<tr><td></td><td>1</td></tr>"
    )


def test_a_date_range_filters_the_download(pages_seen: dict[str, Any]) -> None:
    lines = pages_seen["range_csv"].splitlines()[1:]
    assert lines
    assert all("2024-01-01" <= line.split(",")[0].strip('"') <= "2024-03-31" for line in lines)


def test_other_tenants_and_unknown_things_are_the_same_404(pages_seen: dict[str, Any]) -> None:
    bodies = set()
    for name, (status, body) in pages_seen["probes"].items():
        assert status == 404, name
        bodies.add(body)
        assert pages_seen["theirs"] not in body
    assert len(bodies) == 1  # nothing tells an unknown tenant from a forbidden one
    assert pages_seen["header_switch"] == 404


def test_a_bad_date_is_a_400_that_echoes_nothing(pages_seen: dict[str, Any]) -> None:
    status, body = pages_seen["bad_date"]
    assert status == 400
    assert "<script>" not in body


def test_platform_staff_see_the_operations_view(pages_seen: dict[str, Any]) -> None:
    status, rows = pages_seen["ops_staff"]
    assert status == 200
    assert rows > 10
    assert pages_seen["staff_their_page"] == 200


def _slugs(card: str) -> list[str]:
    """The tenant_slug cell (the third) of each row of the tenant table's card."""
    body = card.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row.split("<td>")[3].split("</td>")[0] for row in body.split("<tr>")[1:]]


def test_the_operations_tenant_table_shows_a_page(
    pages_seen: dict[str, Any], e2e_lake: Lake
) -> None:
    # Ranked as DuckDB and Athena order strings (code points), not by the database's collation.
    ranked = sorted(pg_rows(e2e_lake.dsn, DASHBOARD_PG), key=lambda r: (r[0], r[2]))
    slugs = [r[2] for r in ranked]
    pages = -(-len(slugs) // 2)
    assert pages >= 2, "the lake must have more than one page of 2 tenants"
    seen = pages_seen["ops_pages"]
    for asked, number in (("1", 1), ("2", 2), ("999999", pages)):  # past the end: the last
        card = seen[asked]["card"]
        assert seen[asked]["status"] == 200
        assert f"{len(slugs)} tenants" in card
        assert f"page {number} of {pages}" in card
        assert _slugs(card) == slugs[(number - 1) * 2 : number * 2]
    assert 'rel="next"' in seen["1"]["card"]
    assert 'rel="prev"' not in seen["1"]["card"]
    assert "?page=2&amp;size=2#tenants" in seen["1"]["card"]
    assert 'rel="prev"' in seen["999999"]["card"]
    assert 'rel="next"' not in seen["999999"]["card"]
    mine = pages_seen["mine"]
    prefix = mine[:3].lower()
    wanted = [r[2] for r in ranked if r[2].startswith(prefix) or r[1].lower().startswith(prefix)]
    assert _slugs(pages_seen["ops_prefix"]["card"]) == wanted[:2]
    assert f"{len(wanted)} tenant" in pages_seen["ops_prefix"]["card"]


def test_hostile_tenant_table_values_are_a_400_that_echoes_nothing(
    pages_seen: dict[str, Any],
) -> None:
    messages = {  # the whole answer is one of our own sentences: nothing of the URL in it
        f"page must be a whole number from 1 to {MAX_TENANT_PAGE}",
        f"size must be a whole number from 1 to {MAX_TENANT_PAGE_SIZE}",
        "the tenant prefix may hold only letters, digits, spaces and '-', '_' or '.' "
        f"(at most {MAX_PREFIX_CHARS})",
    }
    for asked, seen in pages_seen["ops_hostile"].items():
        assert seen["status"] == 400, asked
        assert seen["body"] in messages, asked
