"""The operations view's tenant table, a page at a time.

URL values first: every page, size and prefix a URL can hold is either parsed into a small
whole number and a prefix of letters, digits, spaces and ``-_.``, or refused with a message that
does not repeat it. Then the pages themselves, on a lake of 43 tenants (the three of the test
rows and 40 without orders, tied at net revenue 0): each page's rows are the PostgreSQL
dashboard's rows ranked by (rank, slug) and sliced, across every page boundary, with or without
a prefix, and the count is every tenant that matches.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from lakehouse.analytics import operations
from lakehouse.analytics.operations import (
    MAX_TENANT_PAGE,
    MAX_TENANT_PAGE_SIZE,
    TENANT_PAGE_SIZE,
    BadTenantPageError,
    TenantPageRequest,
    forget_staff_engines,
    parse_tenant_page,
    tenant_page,
    tenant_page_sql,
    tenants,
)
from lakehouse.athena.engine import AthenaEngine
from lakehouse.catalog.crawler import crawl
from lakehouse.config import Settings
from lakehouse.db.cluster import LocalCluster
from tests.support.lake import lake_settings
from tests.support.lake_rows import (
    create_source_tables,
    export_gold,
    export_silver,
    generate_rows,
    insert_rows,
)
from tests.support.oracle import DASHBOARD_PG, assert_same_rows, pg_rows

# --- URL values ------------------------------------------------------------------------------


def test_blank_or_missing_values_are_the_first_page_of_every_tenant() -> None:
    for page, size, prefix in ((None, None, None), ("", " ", ""), ("  ", "", "   ")):
        assert parse_tenant_page(page, size, prefix) == TenantPageRequest(1, TENANT_PAGE_SIZE, "")


def test_good_values_are_parsed() -> None:
    assert parse_tenant_page(" 7 ", "25", " Acme Co ") == TenantPageRequest(7, 25, "acme co")
    assert parse_tenant_page(str(MAX_TENANT_PAGE), str(MAX_TENANT_PAGE_SIZE), "a-b_c.d") == (
        TenantPageRequest(MAX_TENANT_PAGE, MAX_TENANT_PAGE_SIZE, "a-b_c.d")
    )
    assert parse_tenant_page("1", "1", "Zoë").prefix == "zoë"


BAD_NUMBERS = [
    "abc",
    "-1",
    "0",
    "00",
    "+3",
    "1.5",
    "1e3",
    "0x10",
    "1_000",
    "1 2",
    "²",
    "٣",  # an Arabic-Indic three: int() would take it
    "1; drop table tenants",
    str(MAX_TENANT_PAGE + 1),
    "9" * 400,
    "\x00",
]


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_a_bad_page_is_refused_without_repeating_it(value: str) -> None:
    with pytest.raises(BadTenantPageError) as caught:
        parse_tenant_page(value)
    assert str(caught.value) == f"page must be a whole number from 1 to {MAX_TENANT_PAGE}"


@pytest.mark.parametrize("value", [*BAD_NUMBERS, str(MAX_TENANT_PAGE_SIZE + 1), "100000"])
def test_a_bad_size_is_refused_without_repeating_it(value: str) -> None:
    with pytest.raises(BadTenantPageError) as caught:
        parse_tenant_page("1", value)
    assert str(caught.value) == f"size must be a whole number from 1 to {MAX_TENANT_PAGE_SIZE}"


@pytest.mark.parametrize(
    "value",
    [
        "' or 1=1 --",
        "acme'",
        'acme"',
        "a%",
        "a*",
        "a\\",
        "a;b",
        "a/*b*/",
        "a\nb",
        "a\tb",
        "a\x00",
        "a" * 65,
    ],
)
def test_a_bad_prefix_is_refused_before_any_sql(value: str) -> None:
    with pytest.raises(BadTenantPageError) as caught:
        parse_tenant_page("1", "10", value)
    assert value.strip() not in str(caught.value)
    assert "letters, digits, spaces" in str(caught.value)


def test_the_page_sql_has_the_numbers_and_the_prefix_as_parsed() -> None:
    count, rows = tenant_page_sql(TenantPageRequest(3, 20, "ac me"), 40)
    assert rows.endswith(
        "order by dashboard.net_revenue_rank, dashboard.tenant_slug\noffset 40 limit 20"
    )
    for statement in (count, rows):
        assert "starts_with(lower(dashboard.tenant_slug), 'ac me')" in statement
        assert "starts_with(lower(dashboard.tenant_name), 'ac me')" in statement
    assert "order by net_revenue_rank" not in count.lower()  # the dashboard's own order
    with pytest.raises(ValueError, match="offset must be"):
        tenant_page_sql(TenantPageRequest(), -1)


# --- pages on a lake -------------------------------------------------------------------------

EXTRA_TENANTS = 40
SIZE = 7


def _extra_tenants() -> list[dict[str, Any]]:
    """Tenants without customers or orders: net revenue 0, all of the same rank. Their slugs
    sort in another order than their ids and names, so only the slug can order them."""
    made = datetime(2023, 6, 1, tzinfo=UTC)
    out = []
    for i in range(EXTRA_TENANTS):
        k = (i * 17) % EXTRA_TENANTS
        out.append(
            {
                "id": f"00000000-0000-4000-9000-{i:012d}",
                "name": f"{'Beta' if i % 3 else 'Alpha'} Shop {EXTRA_TENANTS - i}",
                "slug": f"{'beta' if i % 3 else 'alpha'}-{k:02d}",
                "plan": "starter",
                "country": "FR",
                "is_active": True,
                "settings": "{}",
                "created_at": made,
                "updated_at": made,
            }
        )
    return out


@pytest.fixture(scope="module")
def crowded(pg_cluster: LocalCluster) -> Iterator[tuple[Settings, str]]:
    """A crawled lake of the test rows plus :func:`_extra_tenants` (gold answered by
    PostgreSQL, as the Athena query tests' lake), and its source database."""
    name = f"crowded_{uuid.uuid4().hex[:10]}"
    pg_cluster.ensure_database(name)
    dsn = pg_cluster.dsn(name)
    root = Path(tempfile.mkdtemp(prefix="lakehouse-crowded-"))
    try:
        settings = lake_settings(root)
        rows = generate_rows()
        rows["tenants"] += _extra_tenants()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("set timezone = 'UTC'")
            create_source_tables(conn)
            insert_rows(conn, rows)
            export_silver(conn, Path(settings.silver_uri))
            export_gold(conn, Path(settings.gold_uri))
        crawl(settings, ["silver", "gold"])
        yield settings, dsn
    finally:
        forget_staff_engines()
        shutil.rmtree(root, ignore_errors=True)
        pg_cluster.drop_database(name)


def _expected(dsn: str, prefix: str = "") -> list[tuple[Any, ...]]:
    """PostgreSQL's dashboard rows ranked by (rank, slug) in code point order (DuckDB's and
    Athena's order of strings, not the database's collation), keeping a prefix's tenants."""
    rows = sorted(pg_rows(dsn, DASHBOARD_PG), key=lambda r: (r[0], r[2]))
    return [r for r in rows if r[2].lower().startswith(prefix) or r[1].lower().startswith(prefix)]


def test_the_lake_has_ties_that_cross_a_page_boundary(crowded: tuple[Settings, str]) -> None:
    ranks = [r[0] for r in _expected(crowded[1])]
    assert len(ranks) == 3 + EXTRA_TENANTS
    tied = [i for i, r in enumerate(ranks) if ranks.count(r) > 1]
    assert len(tied) >= EXTRA_TENANTS
    assert any(i % SIZE == 0 and i - 1 in tied for i in tied)  # a tie runs over a boundary


def test_every_page_is_the_dashboard_sliced(crowded: tuple[Settings, str]) -> None:
    settings, dsn = crowded
    expected = _expected(dsn)
    pages = -(-len(expected) // SIZE)
    seen: list[tuple[Any, ...]] = []
    with AthenaEngine(settings, save_results=False) as engine:
        for number in range(1, pages + 1):
            found = tenant_page(engine, TenantPageRequest(number, SIZE))
            assert (found.number, found.pages, found.total) == (number, pages, len(expected))
            assert found.first_row == (number - 1) * SIZE + 1
            assert_same_rows(found.result.rows, expected[(number - 1) * SIZE : number * SIZE])
            seen += found.result.rows
    assert [r[2] for r in seen] == [r[2] for r in expected]  # each tenant once, in order


def test_a_page_past_the_end_is_the_last_page(crowded: tuple[Settings, str]) -> None:
    settings, dsn = crowded
    expected = _expected(dsn)
    last = -(-len(expected) // SIZE)
    with AthenaEngine(settings, save_results=False) as engine:
        for asked in (last + 1, MAX_TENANT_PAGE):
            found = tenant_page(engine, TenantPageRequest(asked, SIZE))
            assert (found.number, found.pages) == (last, last)
            assert_same_rows(found.result.rows, expected[(last - 1) * SIZE :])


@pytest.mark.parametrize("prefix", ["beta", "alpha-0", "alpha shop 4", "acme", "zzz"])
def test_a_prefix_keeps_the_tenants_whose_slug_or_name_starts_with_it(
    crowded: tuple[Settings, str], prefix: str
) -> None:
    settings, dsn = crowded
    expected = _expected(dsn, prefix)
    with AthenaEngine(settings, save_results=False) as engine:
        first = tenant_page(engine, TenantPageRequest(1, SIZE, prefix))
        second = tenant_page(engine, TenantPageRequest(2, SIZE, prefix))
    assert first.total == len(expected)
    assert_same_rows(first.result.rows, expected[:SIZE])
    if len(expected) > SIZE:
        assert_same_rows(second.result.rows, expected[SIZE : 2 * SIZE])
    else:  # one page at most: the second is the first again
        assert second.number == 1
    if not expected:
        assert (first.pages, first.first_row, first.result.row_count) == (1, 0, 0)


def test_the_operations_table_is_the_page_as_text(crowded: tuple[Settings, str]) -> None:
    settings, dsn = crowded
    expected = _expected(dsn)
    shown = tenants(settings, TenantPageRequest(2, SIZE))
    assert (shown["number"], shown["pages"], shown["total"]) == (2, 7, len(expected))
    assert (shown["first_row"], shown["last_row"]) == (SIZE + 1, 2 * SIZE)
    assert shown["columns"][:3] == ["net_revenue_rank", "tenant_name", "tenant_slug"]
    assert [row[2] for row in shown["rows"]] == [r[2] for r in expected[SIZE : 2 * SIZE]]


def test_page_views_keep_one_engine_until_the_catalog_changes(
    crowded: tuple[Settings, str],
) -> None:
    settings, dsn = crowded
    expected = _expected(dsn)
    forget_staff_engines()
    key = (settings.lake, settings.catalog_uri)
    first = tenants(settings, TenantPageRequest(1, SIZE))
    engine = operations._STAFF_ENGINES[key].engine
    second = tenants(settings, TenantPageRequest(3, SIZE))
    assert operations._STAFF_ENGINES[key].engine is engine  # the second view read no files
    assert [r[2] for r in first["rows"]] == [r[2] for r in expected[:SIZE]]
    assert [r[2] for r in second["rows"]] == [r[2] for r in expected[2 * SIZE : 3 * SIZE]]
    document = next(Path(settings.catalog_uri).rglob("*.json"))
    stat = document.stat()
    os.utime(document, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a crawl
    third = tenants(settings, TenantPageRequest(1, SIZE))
    assert operations._STAFF_ENGINES[key].engine is not engine
    assert third["rows"] == first["rows"]
