"""Drive the app in real headless Chromium: start ``lakehouse serve`` on a free port over a
lake, open Debian's ``chromium`` through ``chromium-driver``, sign in, wait for the charts.

Used by the browser tests (``test_analytics_browser.py``) and the dashboards benchmark
(``bench/bench_dashboards.py``). The server runs in its own process group so that stopping it
stops Django's server too (``lakehouse serve`` runs ``manage.py runserver`` as a child).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from lakehouse.config import Settings
from lakehouse.db.cluster import free_port
from lakehouse.paths import REPO_ROOT

WINDOW = (1280, 1000)

# Every chart of the page as the browser drew it: Plotly's SVG, the marks plotted in it (line
# paths with a shape, bars and funnel steps, heatmap images) and the traces it was given.
CHARTS_JS = """
return [...document.querySelectorAll('[data-chart]')].map(el => ({
  id: el.id,
  rendered: el.getAttribute('data-rendered') === 'true',
  svgs: el.querySelectorAll('.main-svg').length,
  lines: [...el.querySelectorAll('.main-svg .js-line')]
    .filter(p => (p.getAttribute('d') || '').length > 1).length,
  points: el.querySelectorAll('.main-svg .trace .point').length,
  images: el.querySelectorAll('.main-svg .hm image').length,
  data: (el.data || []).map(t => ({type: t.type, name: t.name || null,
                                   x: t.x || null, y: t.y || null, z: t.z || null})),
}));
"""

# fetch() from the signed-in page: the browser's own cookies, no redirects followed.
FETCH_JS = """
const [urls, headers, done] = arguments;
Promise.all(urls.map(u => fetch(u, {redirect: 'manual', headers: headers})
  .then(async r => [u, r.status, await r.text()])))
  .then(done, e => done([['error', 0, String(e)]]));
"""


def chromium_paths() -> tuple[str, str] | None:
    """(chromium, chromedriver) on PATH, or None when either is missing."""
    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def start_chromium() -> WebDriver:
    """Headless Chromium at :data:`WINDOW`, driven by Debian's chromedriver (nothing is
    downloaded: both paths are given, so Selenium Manager is not asked)."""
    paths = chromium_paths()
    if paths is None:
        raise RuntimeError(
            "the browser tests need Debian's chromium and chromium-driver: "
            "apt-get install chromium chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-extensions",
        "--no-first-run",
        "--hide-scrollbars",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=paths[1]))
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(120)
    return driver


def server_env(settings: Settings) -> dict[str, str]:
    """The environment that points ``lakehouse serve`` at a lake and its source database (the
    app's login role: ``settings.database_url``)."""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings_test",  # fast password hashing
        "LAKEHOUSE_LAKE": settings.lake,
        "LAKEHOUSE_STATE_DIR": str(settings.state_dir),
        "LAKEHOUSE_SLOT": settings.slot_name,
        "DATABASE_URL": settings.database_url,
        "LAKEHOUSE_OWNER_DATABASE_URL": settings.owner_database_url,
        "LAKEHOUSE_MAINTENANCE_DATABASE_URL": settings.maintenance_database_url,
        "LAKEHOUSE_REPLICATOR_DATABASE_URL": settings.replicator_database_url,
    }
    return {k: str(v) for k, v in env.items() if v}


@contextmanager
def app_server(env: dict[str, str], log: Path, timeout: float = 120) -> Iterator[str]:
    """``lakehouse serve`` on a free loopback port; yields its base URL, stops it after."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lakehouse", "serve", "--port", str(port)],
            env={**os.environ, **env},
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"lakehouse serve stopped:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/accounts/login/", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"lakehouse serve did not answer:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def sign_in(driver: WebDriver, base: str, username: str, password: str, then: str) -> None:
    """Sign out whoever was signed in, sign in through the login form, land on ``then``."""
    driver.delete_all_cookies()
    driver.get(f"{base}/accounts/login/?next={then}")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 60).until(lambda d: "/accounts/login/" not in d.current_url)


def follow(driver: WebDriver, element: WebElement, timeout: float = 60) -> None:
    """Click a link or submit button and wait until the page it leaves is gone.

    Without the wait, what comes next may read the old page: its charts are drawn already, so
    :func:`wait_for_charts` would return them before the new page has even started loading.
    """
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, timeout).until(expected_conditions.staleness_of(old))


def wait_for_charts(driver: WebDriver, timeout: float = 60) -> list[dict[str, Any]]:
    """Wait until every chart of the page has been drawn; return :data:`CHARTS_JS`."""
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && [...document.querySelectorAll("
            "'[data-chart]')].every(el => el.getAttribute('data-rendered') === 'true')"
        )
    )
    charts: list[dict[str, Any]] = driver.execute_script(CHARTS_JS)
    return charts


def fetch_all(
    driver: WebDriver, urls: list[str], headers: dict[str, str] | None = None
) -> list[tuple[str, int, str]]:
    """GET every URL from the current page with the browser's session: (url, status, body)."""
    got = driver.execute_async_script(FETCH_JS, urls, headers or {})
    return [(str(u), int(s), str(b)) for u, s, b in got]
