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

from lakehouse.analytics.pages import PAGES
from lakehouse.analytics.service import run_page, tenant_engine
from lakehouse.paths import DJANGO_DIR
from tests.support.lake import Lake
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
}
out["probes"] = {k: [c.get(v).status_code, c.get(v).content.decode()] for k, v in probes.items()}
out["bad_date"] = [c.get(f"/analytics/{mine}/revenue/?from=2024-02-30").status_code,
                   c.get(f"/analytics/{mine}/revenue/?from=<script>").content.decode()]
out["header_switch"] = c.get(f"/analytics/{mine}/overview/", HTTP_X_TENANT=theirs).status_code
s = Client()
s.force_login(staff)
ops = s.get("/analytics/ops/")
out["ops_staff"] = [ops.status_code, ops.content.decode().count("<tr>")]
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
