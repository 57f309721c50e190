"""The dashboards in real headless Chromium over the session's pipeline lake.

``lakehouse serve`` runs the app (as the app's login role) on a free loopback port; Debian's
``chromium`` signs in through the login form, opens every page and waits for Plotly to draw.
What the charts plotted is read back from the browser and compared with the same question
answered in PostgreSQL (the gold tests' definitions SQL), so a chart fed the wrong tenant, the
wrong column or the wrong dates fails. A tenant user's own browser session then asks for
another tenant's pages, downloads and parameters: every answer is the fixed 404 (or the fixed
400 of a bad date), never data.

Screenshots of every page go to ``LAKEHOUSE_SCREENSHOTS_DIR`` when set (``make screenshots``
refreshes ``docs/screenshots/``, which the README shows), else to a temporary folder.
"""

from __future__ import annotations

import math
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from lakehouse.analytics.pages import PAGES, Chart, page
from lakehouse.paths import REPO_ROOT
from tests.django_backend.browser import (
    app_server,
    chromium_paths,
    fetch_all,
    follow,
    server_env,
    sign_in,
    start_chromium,
    wait_for_charts,
)
from tests.django_backend.conftest import django_json
from tests.support.ci import unavailable
from tests.support.lake import Lake
from tests.support.page_oracle import page_records, tenant_summary, tenants_by_size

NOT_FOUND = "Not found.\n"

USERS = r"""
import json, os
from django.contrib.auth.models import User
from apps.core.models import Membership, Tenant
from apps.core.tenancy import all_tenants_context, tenant_context

with all_tenants_context():
    mine = Tenant.objects.get(slug=os.environ["TEST_MINE"])
    theirs = Tenant.objects.get(slug=os.environ["TEST_THEIRS"])
password = os.environ["TEST_PASSWORD"]
def user(name, **flags):
    u = User.objects.create_user(username=name, email=name, password=password, **flags)
    return u
member = user(os.environ["TEST_MEMBER"])
both = user(os.environ["TEST_BOTH"])
user(os.environ["TEST_STAFF"], is_superuser=True)
for u, tenants in ((member, [mine]), (both, [mine, theirs])):
    for t in tenants:
        with tenant_context(t):
            Membership.objects.create(user=u, tenant=t, role="viewer")
print("{}")
"""


@dataclass(frozen=True)
class Site:
    """The running app, its users and the two tenants the tests look at."""

    base: str
    password: str
    member: str  # a viewer of ``mine`` only
    both: str  # a viewer of ``mine`` and ``theirs``
    staff: str  # platform staff (superuser), no membership
    mine: tuple[str, str]  # (id, slug)
    theirs: tuple[str, str]
    shots: Path


@pytest.fixture(scope="module")
def site(e2e_lake: Lake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if chromium_paths() is None:
        message = "chromium and chromium-driver are not installed (apt-get install them)"
        unavailable(message)
    mine, theirs = tenants_by_size(e2e_lake.dsn)[:2]
    tag = uuid.uuid4().hex[:8]
    password = secrets.token_urlsafe(16)
    names = {k: f"{k}-{tag}@example.com" for k in ("member", "both", "staff")}
    env = {
        "TEST_MINE": mine[1],
        "TEST_THEIRS": theirs[1],
        "TEST_PASSWORD": password,
        **{f"TEST_{k.upper()}": v for k, v in names.items()},
    }
    # Users are made by the bootstrap role; the app serves as its own login role.
    django_json(e2e_lake.dsn, USERS, env=env)
    shots = Path(os.environ.get("LAKEHOUSE_SCREENSHOTS_DIR") or tmp_path_factory.mktemp("shots"))
    shots.mkdir(parents=True, exist_ok=True)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    # The lake named relative to the repository, as `make demo` leaves it (./lake): the app's
    # server must resolve it as the CLI does.
    relative = os.path.relpath(e2e_lake.settings.lake, REPO_ROOT)
    serve = server_env(e2e_lake.settings.replace(lake=relative))
    with app_server(serve, log) as base:
        yield Site(
            base=base,
            password=password,
            member=names["member"],
            both=names["both"],
            staff=names["staff"],
            mine=mine,
            theirs=theirs,
            shots=shots,
        )


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[WebDriver]:
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def _num(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _check_chart(chart: Chart, drawn: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """The chart was drawn (SVG with marks) from exactly the tenant's rows in PostgreSQL."""
    where = f"{chart.title!r}"
    assert drawn["rendered"], where
    assert drawn["svgs"] >= 1, where
    traces = drawn["data"]
    if chart.kind == "heatmap":
        assert chart.z is not None
        assert drawn["images"] >= 1, where
        cells = [v for row in traces[0]["z"] for v in row if v is not None]
        wanted = [r[chart.z] for r in records if r[chart.z] is not None]
        assert len(cells) == len(wanted), where
        assert _close(sum(cells), sum(map(_num, wanted))), where
        return
    if chart.kind == "funnel":
        (trace,) = traces
        assert trace["y"] == list(chart.y), where
        assert trace["x"] == [sum(int(r[s] or 0) for r in records) for s in chart.y], where
        assert drawn["points"] == len(chart.y), where
        return
    assert [t["name"] for t in traces] == list(chart.y), where
    if chart.kind == "line":
        assert drawn["lines"] >= 1, where
    else:
        assert drawn["points"] >= 1, where
    for trace in traces:
        values = [r[trace["name"]] for r in records]
        if chart.limit:
            # A top list: the page orders by this column, descending.
            values = sorted(values, key=_num, reverse=True)[: chart.limit]
            assert sorted(map(_num, trace["y"])) == sorted(map(_num, values)), where
            continue
        assert sorted(trace["x"]) == sorted(_text(r[chart.x]) for r in records), where
        assert _close(sum(map(_num, trace["y"])), sum(map(_num, values))), where


def test_every_page_draws_its_charts_from_the_tenants_gold_numbers(
    site: Site, browser: WebDriver, e2e_lake: Lake
) -> None:
    sign_in(browser, site.base, site.member, site.password, "/analytics/")
    # One membership: the analytics home goes straight to that tenant's overview.
    assert browser.current_url == f"{site.base}/analytics/{site.mine[1]}/overview/"
    for p in PAGES:
        browser.get(f"{site.base}/analytics/{site.mine[1]}/{p.slug}/")
        charts = wait_for_charts(browser)
        assert browser.find_element(By.TAG_NAME, "h1").text == p.title
        assert len(charts) == len(p.charts), p.slug
        if p.charts:
            records = page_records(e2e_lake.dsn, p.slug, site.mine[0])
            assert records, f"{p.slug}: no rows for the tenant, the test would prove nothing"
            for chart, drawn in zip(p.charts, charts, strict=True):
                _check_chart(chart, drawn, records)
            # The numbers table has every row too.
            shown = browser.find_elements(By.CSS_SELECTOR, "#numbers tbody tr")
            assert len(shown) == len(records), p.slug
        browser.save_screenshot(str(site.shots / f"{p.slug}.png"))


def test_the_overview_shows_the_tenants_figures(
    site: Site, browser: WebDriver, e2e_lake: Lake
) -> None:
    sign_in(browser, site.base, site.member, site.password, f"/analytics/{site.mine[1]}/overview/")
    kpis = {
        k.find_element(By.CLASS_NAME, "label").text: k.find_element(By.CLASS_NAME, "value").text
        for k in browser.find_elements(By.CSS_SELECTOR, "#kpis .kpi")
    }
    summary = tenant_summary(e2e_lake.dsn, site.mine[0])
    assert kpis["tenant_slug"] == site.mine[1]
    assert int(kpis["customers"]) == summary["customers"]
    assert Decimal(kpis["net_revenue"]) == summary["net_revenue"]


def test_the_date_range_form_redraws_the_charts_for_those_days(
    site: Site, browser: WebDriver, e2e_lake: Lake
) -> None:
    sign_in(browser, site.base, site.member, site.password, f"/analytics/{site.mine[1]}/revenue/")
    wait_for_charts(browser)
    days = sorted(r["revenue_date"] for r in page_records(e2e_lake.dsn, "revenue", site.mine[0]))
    start, end = days[len(days) // 4], days[len(days) // 2]
    browser.execute_script(
        "document.querySelector('input[name=from]').value = arguments[0];"
        "document.querySelector('input[name=to]').value = arguments[1];",
        start.isoformat(),
        end.isoformat(),
    )
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.range button[type=submit]"))
    charts = wait_for_charts(browser)
    assert f"from={start.isoformat()}" in browser.current_url
    records = page_records(e2e_lake.dsn, "revenue", site.mine[0], (start, end))
    assert 0 < len(records) < len(days)
    for chart, drawn in zip(page("revenue").charts, charts, strict=True):
        _check_chart(chart, drawn, records)


def _hostile_urls(site: Site) -> list[str]:
    (mine_id, mine), (theirs_id, theirs) = site.mine, site.theirs
    encoded = "".join(f"%{b:02X}" for b in theirs.encode())
    variants = [
        theirs,
        theirs.upper(),
        theirs.capitalize(),
        encoded,
        f"%{ord(theirs[0]):02X}{theirs[1:]}",
        f"{theirs}%20",
        f"%20{theirs}",
        f"{theirs}%00",
        f"{theirs}%0A",
        f"{theirs};",
        f"{mine},{theirs}",
        f"{mine}%2F..%2F{theirs}",
        theirs_id,
        theirs_id.upper(),
        theirs_id.replace("-", ""),
        f"{{{theirs_id}}}",
    ]
    urls = []
    for v in variants:
        for p in PAGES:
            urls += [f"/analytics/{v}/{p.slug}/", f"/analytics/{v}/{p.slug}.csv"]
    span = "from=2000-01-01&to=2100-12-31"
    urls += [f"/analytics/{theirs}/revenue.csv?{span}", f"/analytics/{theirs}/revenue/?{span}"]
    # Page names that are not pages, on the user's own tenant.
    for bad in (
        "Overview",
        "REVENUE",
        "revenue%2F..%2Foverview",
        "..%2F..%2Fetc%2Fpasswd",
        "revenue.sql",
        "tenant_performance_dashboard",
        "__init__",
        "%00",
        "revenue%00",
    ):
        urls += [f"/analytics/{mine}/{bad}/", f"/analytics/{mine}/{bad}.csv"]
    urls += [f"/analytics/{mine.upper()}/overview/", "/analytics/ops/", f"/analytics/{mine_id}x/"]
    return urls


def test_a_tenant_user_gets_404_for_everything_of_another_tenant(
    site: Site, browser: WebDriver
) -> None:
    sign_in(browser, site.base, site.member, site.password, f"/analytics/{site.mine[1]}/overview/")
    urls = _hostile_urls(site)
    answers = fetch_all(browser, urls)
    assert len(answers) == len(urls)
    for url, status, body in answers:
        assert (status, body) == (404, NOT_FOUND), url
    # The tenant header selects nothing the path does not: their page stays a 404 and the
    # user's own download is unchanged.
    theirs = site.theirs[1]
    own_csv = f"/analytics/{site.mine[1]}/revenue.csv"
    (plain,) = fetch_all(browser, [own_csv])
    assert plain[1] == 200
    assert plain[2].startswith('"revenue_date"')
    for url, status, body in fetch_all(
        browser, [f"/analytics/{theirs}/revenue.csv"], {"X-Tenant": site.mine[1]}
    ):
        assert (status, body) == (404, NOT_FOUND), url
    # Query parameters naming the other tenant change nothing.
    params = [f"tenant={theirs}", f"tenant_id={site.theirs[0]}", f"slug={theirs}"]
    for url, status, body in fetch_all(browser, [f"{own_csv}?{q}" for q in params]):
        assert (status, body) == (200, plain[2]), url


def test_date_injection_is_a_fixed_400_with_no_data(site: Site, browser: WebDriver) -> None:
    sign_in(browser, site.base, site.member, site.password, f"/analytics/{site.mine[1]}/overview/")
    mine = site.mine[1]
    values = [
        "2024-01-01' or '1'='1",
        "2024-01-01'); select * from revenue_daily --",
        "date '2000-01-01'",
        "2024-13-01",
        "1 union select tenant_id",
        quote("<script>alert(1)</script>"),
    ]
    urls = [
        f"/analytics/{mine}/{p}{suffix}?{side}={quote(v) if '%' not in v else v}"
        for v in values
        for side in ("from", "to")
        for p, suffix in (("revenue", "/"), ("revenue", ".csv"), ("subscriptions", ".csv"))
    ]
    for url, status, body in fetch_all(browser, urls):
        assert status == 400, url
        assert body in {"from must be a date as YYYY-MM-DD", "to must be a date as YYYY-MM-DD"}, url


def test_the_tenant_picker_lists_exactly_the_users_tenants(site: Site, browser: WebDriver) -> None:
    sign_in(browser, site.base, site.both, site.password, "/analytics/")
    assert browser.current_url == f"{site.base}/analytics/"
    links = browser.find_elements(By.CSS_SELECTOR, "#tenants a")
    hrefs = sorted(str(a.get_attribute("href")) for a in links)
    assert hrefs == sorted(
        f"{site.base}/analytics/{slug}/overview/" for slug in (site.mine[1], site.theirs[1])
    )
    browser.save_screenshot(str(site.shots / "tenants.png"))
    # Either tenant opens; the pages offer the way back to the picker.
    follow(browser, links[0])
    wait_for_charts(browser)
    follow(browser, browser.find_element(By.ID, "switch-tenant"))
    assert browser.current_url == f"{site.base}/analytics/"


def test_platform_staff_see_the_operations_view(site: Site, browser: WebDriver) -> None:
    sign_in(browser, site.base, site.staff, site.password, "/analytics/ops/")
    assert browser.current_url == f"{site.base}/analytics/ops/"
    headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
    assert headings[:2] == ["Replication", "Last pipeline run (quality report)"]
    assert "Tenants side by side" in headings
    # The quality report of the pipeline run: one row per entity.
    entities = browser.find_elements(By.CSS_SELECTOR, "#pipeline tbody tr")
    assert len(entities) == 8
    # Every tenant side by side, the two the tests use among them.
    columns = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#tenants thead th")]
    nth = columns.index("tenant_slug") + 1
    cells = browser.find_elements(By.CSS_SELECTOR, f"#tenants tbody tr td:nth-child({nth})")
    slugs = {td.get_attribute("textContent") for td in cells}
    assert {site.mine[1], site.theirs[1]} <= slugs
    browser.save_screenshot(str(site.shots / "operations.png"))
    # One tenant a page: the next page holds the next tenant; the filter keeps the size.
    total = len(cells)

    def shown() -> tuple[str, list[str]]:
        count = browser.find_element(By.ID, "tenant-count").text
        cells = browser.find_elements(By.CSS_SELECTOR, f"#tenants tbody tr td:nth-child({nth})")
        return count, [str(td.get_attribute("textContent")) for td in cells]

    browser.get(f"{site.base}/analytics/ops/?size=1")
    count, first = shown()
    assert f"{total} tenants" in count
    assert f"page 1 of {total}" in count
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#tenant-pages a[rel=next]"))
    count, second = shown()
    assert f"page 2 of {total}" in count
    assert len(first) == len(second) == 1
    assert first != second
    box = browser.find_element(By.CSS_SELECTOR, "#tenant-filter input[name=prefix]")
    box.send_keys(site.mine[1])
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#tenant-filter button"))
    count, found = shown()
    assert found == [site.mine[1]]
    assert "page 1 of 1" in count
