"""Benchmark of the tenant dashboards and the operations view over the local demo lake.

Needs ``make demo`` first (``SCALE=1`` for the issue's figures): the local PostgreSQL cluster,
its source data and the lake built from it, as the ``LAKEHOUSE_*`` settings describe them. The
largest tenant (most orders) is measured; its row counts are reported beside the figures.

- ``server_<page>_p50_ms``: Django's handling of one page request (sign-in session, tenant
  resolution, the scoped engine opened, the page's query on gold, the template), through
  Django's test client in one process, ``SERVER_RUNS`` times per page after one warm-up.
- ``browser_<page>_first_chart_p50_ms``: in headless Chromium against ``lakehouse serve``, from
  the navigation's start to Plotly's first chart drawn (the page's ``chart-rendered-0``
  performance mark), ``BROWSER_RUNS`` times per page.
- ``server_ops_p50_ms`` and ``browser_ops_loaded_p50_ms``: the operations view, server time and
  navigation start to the load event.
- ``server_first_request_max_ms``: the slowest warm-up request (the first of a page, which builds
  the tenant's locked session that later requests reuse); ``server_sessions_built``: how many were
  built (one per page's tables).

Two temporary users (a viewer of the tenant and a platform staff user) are created and deleted.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench.common import percentile, report
from lakehouse.analytics.pages import PAGES
from lakehouse.config import get_settings
from lakehouse.db.source import database_url
from lakehouse.errors import LakehouseError
from lakehouse.paths import DJANGO_DIR, REPO_ROOT

SERVER_RUNS = int(os.environ.get("BENCH_SERVER_RUNS", "15"))
BROWSER_RUNS = int(os.environ.get("BENCH_BROWSER_RUNS", "5"))

USERS = r"""
import json, os
from django.contrib.auth.models import User
from apps.core.models import Membership, Tenant
from apps.core.tenancy import all_tenants_context, tenant_context
with all_tenants_context():
    tenant = Tenant.objects.get(slug=os.environ["BENCH_TENANT"])
names = [os.environ["BENCH_MEMBER"], os.environ["BENCH_STAFF"]]
if os.environ["BENCH_ACTION"] == "create":
    pw = os.environ["BENCH_PASSWORD"]
    member = User.objects.create_user(username=names[0], email=names[0], password=pw)
    User.objects.create_user(username=names[1], email=names[1], password=pw, is_superuser=True)
    with tenant_context(tenant):
        Membership.objects.create(user=member, tenant=tenant, role="viewer")
else:
    with tenant_context(tenant):
        Membership.objects.filter(user__username__in=names).delete()
    User.objects.filter(username__in=names).delete()
print("{}")
"""

SERVER = r"""
import json, os, time
from django.contrib.auth.models import User
from django.test import Client
runs = int(os.environ["BENCH_RUNS"])
tenant = os.environ["BENCH_TENANT"]
out = {}
first = {}
def timed(client, url):
    start = time.perf_counter()
    client.get(url, HTTP_HOST="127.0.0.1")  # warm-up (builds the tenant's kept session)
    first[url] = (time.perf_counter() - start) * 1000
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        r = client.get(url, HTTP_HOST="127.0.0.1")
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return times
member = Client()
member.force_login(User.objects.get(username=os.environ["BENCH_MEMBER"]))
for page in os.environ["BENCH_PAGES"].split(","):
    out[page] = timed(member, f"/analytics/{tenant}/{page}/")
staff = Client()
staff.force_login(User.objects.get(username=os.environ["BENCH_STAFF"]))
out["ops"] = timed(staff, "/analytics/ops/")
from lakehouse.analytics.service import page_sessions
from lakehouse.config import get_settings
print(json.dumps({"times": out, "first": list(first.values()),
                  "sessions_built": page_sessions(get_settings()).builds}))
"""

FIRST_CHART_JS = """
const mark = performance.getEntriesByName('chart-rendered-0')[0];
return mark ? mark.startTime : null;
"""
LOADED_JS = "return performance.getEntriesByType('navigation')[0].loadEventEnd;"


def _manage_json(code: str, env: dict[str, str]) -> Any:
    proc = subprocess.run(
        [sys.executable, str(DJANGO_DIR / "manage.py"), "shell", "--no-imports", "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=REPO_ROOT,  # as `lakehouse users create` runs it: relative settings resolve alike
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise LakehouseError(f"manage.py shell failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _largest_tenant(dsn: str) -> tuple[str, dict[str, int]]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select t.slug, (select count(*) from orders o where o.tenant_id = t.id), "
            "(select count(*) from customers c where c.tenant_id = t.id), "
            "(select count(*) from events e where e.tenant_id = t.id), "
            "(select count(*) from orders) from tenants t order by 2 desc, t.id limit 1"
        ).fetchone()
    if row is None:
        raise LakehouseError("the source database has no tenants: run `make demo` first")
    slug, orders, customers, events, all_orders = row
    return str(slug), {
        "tenant_orders": orders,
        "tenant_customers": customers,
        "tenant_events": events,
        "all_orders": all_orders,
    }


def _browser(env: dict[str, str], tenant: str, member: str, staff: str, pw: str) -> Any:
    from tests.django_backend.browser import app_server, sign_in, start_chromium, wait_for_charts

    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-dashboards-") as tmp:
        serve_env = {k: v for k, v in env.items() if not k.startswith("BENCH_")}
        serve_env["DJANGO_SETTINGS_MODULE"] = "config.settings"
        with app_server(serve_env, Path(tmp) / "serve.log") as base:
            driver = start_chromium()
            try:
                sign_in(driver, base, member, pw, f"/analytics/{tenant}/overview/")
                for p in PAGES:
                    if not p.charts:
                        continue
                    url = f"{base}/analytics/{tenant}/{p.slug}/"
                    driver.get(url)  # warm-up (the browser caches plotly.min.js, as users do)
                    wait_for_charts(driver)
                    times = []
                    for _ in range(BROWSER_RUNS):
                        driver.get(url)
                        wait_for_charts(driver)
                        times.append(float(driver.execute_script(FIRST_CHART_JS)))
                    out[p.slug] = times
                sign_in(driver, base, staff, pw, "/analytics/ops/")
                times = []
                for _ in range(BROWSER_RUNS):
                    driver.get(f"{base}/analytics/ops/")
                    times.append(float(driver.execute_script(LOADED_JS)))
                out["ops"] = times
            finally:
                driver.quit()
    return out


def main() -> None:
    settings = get_settings()
    tenant, sizes = _largest_tenant(database_url(settings, "maintenance"))
    tag = uuid.uuid4().hex[:8]
    pw = secrets.token_urlsafe(16)
    env = {
        "BENCH_TENANT": tenant,
        "BENCH_MEMBER": f"bench-{tag}@example.com",
        "BENCH_STAFF": f"bench-staff-{tag}@example.com",
        "BENCH_PASSWORD": pw,
        "BENCH_PAGES": ",".join(p.slug for p in PAGES),
        "BENCH_RUNS": str(SERVER_RUNS),
    }
    load_before = os.getloadavg()
    _manage_json(USERS, {**env, "BENCH_ACTION": "create"})
    try:
        server = _manage_json(SERVER, env)
        browser = _browser(env, tenant, env["BENCH_MEMBER"], env["BENCH_STAFF"], pw)
    finally:
        _manage_json(USERS, {**env, "BENCH_ACTION": "delete"})
    metrics: dict[str, Any] = {}
    targets: dict[str, str] = {}
    for page, times in server["times"].items():
        key = "server_ops_p50_ms" if page == "ops" else f"server_{page}_p50_ms"
        metrics[key] = round(percentile(times, 50), 1)
        targets[key] = "<= 300 ms" if page != "ops" else ""
    # The first request of each page builds the tenant's locked session (lakehouse.athena.pool);
    # the p50s above are the requests after it, which reuse it.
    metrics["server_first_request_max_ms"] = round(max(server["first"]), 1)
    metrics["server_sessions_built"] = server["sessions_built"]
    for page, times in browser.items():
        key = "browser_ops_loaded_p50_ms" if page == "ops" else f"browser_{page}_first_chart_p50_ms"
        metrics[key] = round(percentile(times, 50), 1)
        targets[key] = "<= 1000 ms"
    metrics["load_average_1m_before"] = round(load_before[0], 2)
    metrics["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    params: dict[str, Any] = {
        "lake": settings.lake,
        "tenant": tenant,
        **sizes,
        "server_runs": SERVER_RUNS,
        "browser_runs": BROWSER_RUNS,
    }
    report("dashboards", params, metrics, targets)


if __name__ == "__main__":
    main()
