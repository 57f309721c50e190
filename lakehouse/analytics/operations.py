"""What the operations view shows platform staff: replication, pipeline quality, reconcile
results, gold freshness, and the tenants side by side, a page at a time.

Each part is read from where the tools keep it (the replication slot and the bronze state, the
quality report, the last ``lakehouse reconcile``, the gold tables' snapshots or files, gold
itself); a part that cannot be read says why instead of failing the whole view.

The tenant table is the tenant performance dashboard (``athena-queries/business/
tenant_performance_dashboard.sql``, unchanged for analysts, who get every row) with the page
chosen in SQL: its rows ranked by net revenue, ties by slug, ``OFFSET`` then ``LIMIT``, so the
engine keeps the top rows of a page and hands over those rows only, and a second statement
counts the tenants. The page, its size and the slug or name prefix come from the URL: they are
parsed here (:func:`parse_tenant_page`) and refused with :class:`BadTenantPageError` unless
they are small whole numbers and a prefix of letters, digits, spaces and ``-_.``; only then are
they written into the SQL.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.config import Settings
from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from lakehouse.athena.engines import QueryEngine
    from lakehouse.athena.results import QueryResult
from lakehouse.storage import LocalStorage

RECONCILE_FILE = "reconcile/latest.json"


def reconcile_report_path(settings: Settings) -> Path:
    """Where ``lakehouse reconcile`` keeps its last result (local lakes)."""
    return Path(settings.reports_uri) / RECONCILE_FILE


def save_reconcile(settings: Settings, results: list[Any]) -> None:
    """Keep the last reconcile's per-entity results for the operations view."""
    if settings.lake.startswith("s3://"):
        return
    doc = {
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "entities": [
            {
                "entity": r.entity,
                "tenants": r.tenants,
                "source_rows": r.source_rows,
                "silver_rows": r.silver_rows,
                "differences": len(r.differences),
            }
            for r in results
        ],
    }
    # A temporary name of its own, fsync'ed and renamed into place: two reconciles at once each
    # replace the whole file (the later one wins), and a reader sees one complete result.
    LocalStorage(settings.reports_uri).write_bytes(
        RECONCILE_FILE, (json.dumps(doc, indent=2) + "\n").encode("utf-8")
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return doc if isinstance(doc, dict) else None


def replication(settings: Settings) -> dict[str, Any]:
    import psycopg

    from lakehouse.replicate import ReplicationOptions
    from lakehouse.replicate.status import replication_status

    try:
        status = replication_status(ReplicationOptions.from_settings(settings))
    except (LakehouseError, OSError, psycopg.Error) as exc:
        return {"error": str(exc).splitlines()[0]}
    return status.as_dict()


def quality(settings: Settings) -> dict[str, Any] | None:
    from lakehouse_glue.report import summary_path

    return _read_json(Path(summary_path(settings.reports_uri)))


def gold_freshness(settings: Settings) -> list[dict[str, Any]]:
    """Each gold table's last change: its current Iceberg snapshot, or its newest file."""
    from lakehouse.catalog import iceberg
    from lakehouse.catalog.store import load_catalog

    out: list[dict[str, Any]] = []
    for table in load_catalog(settings.catalog_uri).in_database("gold"):
        folder = Path(table.location)
        changed: datetime | None = None
        if iceberg.is_iceberg_table(folder):
            snapshot = iceberg.load_table(folder).current_snapshot()
            changed = iceberg.snapshot_time(snapshot) if snapshot else None
        else:
            stamps = [p.stat().st_mtime for p in folder.rglob("*.parquet")]
            changed = datetime.fromtimestamp(max(stamps), UTC) if stamps else None
        age = (datetime.now(UTC) - changed).total_seconds() if changed else None
        out.append(
            {
                "table": table.name,
                "changed_at": changed.isoformat(timespec="seconds") if changed else None,
                "age_minutes": round(age / 60, 1) if age is not None else None,
            }
        )
    return out


#: Tenants per page of the operations view's table, unless the URL asks for another size.
TENANT_PAGE_SIZE = 50
#: The largest page size and page number a URL may ask for (a page past the last tenant shows
#: the last page; a number beyond these is refused, not clamped: it is not a page anyone meant).
MAX_TENANT_PAGE_SIZE = 200
MAX_TENANT_PAGE = 1_000_000
MAX_PREFIX_CHARS = 64
_WHOLE_NUMBER = re.compile(r"[0-9]{1,7}")  # ASCII digits only: no sign, no "1e3", no "٣"
_PREFIX_PUNCTUATION = frozenset(" -_.")


class BadTenantPageError(LakehouseError):
    """The tenant table's page, size or prefix in a URL cannot be used (the web app answers
    400 with this message, which never repeats the value)."""


@dataclass(frozen=True)
class TenantPageRequest:
    """Which page of the tenant table to show: ``number`` from 1, ``size`` rows a page, only
    the tenants whose slug or name starts with ``prefix`` (lower case; blank: every tenant)."""

    number: int = 1
    size: int = TENANT_PAGE_SIZE
    prefix: str = ""


def _whole_number(value: str | None, name: str, default: int, largest: int) -> int:
    if value is None or not value.strip():
        return default
    text = value.strip()
    number = int(text) if _WHOLE_NUMBER.fullmatch(text) else 0
    if not 1 <= number <= largest:
        raise BadTenantPageError(f"{name} must be a whole number from 1 to {largest}")
    return number


def parse_tenant_page(
    page: str | None, size: str | None = None, prefix: str | None = None
) -> TenantPageRequest:
    """The ``page``, ``size`` and ``prefix`` values of a URL as a :class:`TenantPageRequest`.

    Blank or missing values take the defaults (page 1, :data:`TENANT_PAGE_SIZE`, every
    tenant). Anything else that is not what it should be raises :class:`BadTenantPageError`.
    """
    text = (prefix or "").strip()
    if len(text) > MAX_PREFIX_CHARS or not all(
        ch.isalnum() or ch in _PREFIX_PUNCTUATION for ch in text
    ):
        raise BadTenantPageError(
            f"the tenant prefix may hold only letters, digits, spaces and '-', '_' or '.' "
            f"(at most {MAX_PREFIX_CHARS})"
        )
    return TenantPageRequest(
        number=_whole_number(page, "page", 1, MAX_TENANT_PAGE),
        size=_whole_number(size, "size", TENANT_PAGE_SIZE, MAX_TENANT_PAGE_SIZE),
        prefix=text.lower(),
    )


@cache
def _dashboard_without_order() -> str:
    """The dashboard's SQL without its final ``ORDER BY``: the page's own order replaces it
    (an order inside a subquery means nothing in SQL, and DuckDB would sort every tenant for it
    before taking the page)."""
    import sqlglot

    from lakehouse.analytics.pages import page
    from lakehouse.athena.guard import READ_DIALECT

    tree = sqlglot.parse_one(page("overview").sql, read=READ_DIALECT)
    tree.set("order", None)
    return tree.sql(dialect=READ_DIALECT)


def _string_literal(value: str) -> str:
    """``value`` as an SQL string literal. Callers pass only prefixes :func:`parse_tenant_page`
    accepted (no quote can reach here); quotes are doubled all the same."""
    return "'" + value.replace("'", "''") + "'"


def tenant_page_sql(request: TenantPageRequest, offset: int) -> tuple[str, str]:
    """(the statement counting the tenants, the statement of the page's rows from ``offset``).

    Athena SQL (Trino): ``[ ORDER BY ... ] [ OFFSET count [ ROW | ROWS ] ] [ LIMIT count ]``,
    OFFSET before LIMIT (https://docs.aws.amazon.com/athena/latest/ug/select.html, "Synopsis");
    ``starts_with(string, substring)`` is a Trino string function, which the local translation
    maps to DuckDB's. The order is the dashboard's own, rank then slug, so tied tenants always
    fall on the same page.
    """
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a whole number >= 0, not {offset!r}")
    where = ""
    if request.prefix:
        literal = _string_literal(request.prefix)
        where = (
            f"\nwhere starts_with(lower(dashboard.tenant_slug), {literal})"
            f" or starts_with(lower(dashboard.tenant_name), {literal})"
        )
    source = f"(\n{_dashboard_without_order()}\n) as dashboard{where}"
    count = f"select count(*) as tenants from {source}"
    rows = (
        f"select * from {source}\n"
        "order by dashboard.net_revenue_rank, dashboard.tenant_slug\n"
        f"offset {offset} limit {request.size}"
    )
    return count, rows


@dataclass(frozen=True)
class TenantPage:
    """One page of the tenant table: ``number`` of ``pages`` (at least 1), ``total`` tenants
    match the request's prefix, ``result`` holds the page's rows."""

    request: TenantPageRequest
    number: int
    pages: int
    total: int
    result: QueryResult

    @property
    def first_row(self) -> int:
        """The rank in the table (from 1) of the page's first row (0: no rows)."""
        return (self.number - 1) * self.request.size + 1 if self.result.row_count else 0


def tenant_page(engine: QueryEngine, request: TenantPageRequest) -> TenantPage:
    """Count the tenants, then read the page asked for; a page past the last shows the last."""
    count_sql, _ = tenant_page_sql(request, 0)
    (counted,) = engine.execute(count_sql)
    total = int(counted.rows[0][0])
    pages = max(1, -(-total // request.size))
    number = min(request.number, pages)
    _, rows_sql = tenant_page_sql(request, (number - 1) * request.size)
    (result,) = engine.execute(rows_sql)
    return TenantPage(request=request, number=number, pages=pages, total=total, result=result)


@dataclass
class _KeptEngine:
    stamp: object
    engine: QueryEngine


_STAFF_LOCK = threading.Lock()
_STAFF_ENGINES: dict[tuple[str, str], _KeptEngine] = {}


def forget_staff_engines() -> None:
    """Close the engines kept for the tenant table (tests; a process that drops a lake)."""
    with _STAFF_LOCK:
        while _STAFF_ENGINES:
            _, kept = _STAFF_ENGINES.popitem()
            kept.engine.close()


def _staff_page(settings: Settings, request: TenantPageRequest) -> TenantPage:
    """One page of the tenant table through this process's kept engine over every tenant.

    A new local engine reads every table it needs from its files (at 10,000 tenants, 192 small
    files: most of a page view's time), so the view keeps one per lake and catalog, used by one
    page view at a time. That engine's session resolves each table again at every call, so a
    commit since the last view is read (:meth:`lakehouse.athena.session.Session.register`); a
    changed catalog (a crawl) or a failed call makes a new engine. Amazon Athena keeps nothing
    between queries: there, each view opens its engine as before.
    """
    from lakehouse.athena.engines import open_engine

    if settings.athena_engine == "athena":
        engine = open_engine(settings, save_results=False)
        try:
            return tenant_page(engine, request)
        finally:
            engine.close()
    from lakehouse.catalog.store import catalog_stamp

    key = (settings.lake, settings.catalog_uri)
    with _STAFF_LOCK:
        stamp = catalog_stamp(settings.catalog_uri)  # before the engine reads the catalog
        kept = _STAFF_ENGINES.get(key)
        if kept is not None and kept.stamp != stamp:
            del _STAFF_ENGINES[key]
            kept.engine.close()
            kept = None
        if kept is None:
            kept = _KeptEngine(stamp, open_engine(settings, save_results=False))
            _STAFF_ENGINES[key] = kept
        try:
            return tenant_page(kept.engine, request)
        except BaseException:
            del _STAFF_ENGINES[key]
            kept.engine.close()
            raise


def tenants(settings: Settings, request: TenantPageRequest | None = None) -> dict[str, Any]:
    """One page of the tenant performance dashboard over every tenant (platform staff only)."""
    asked = request or TenantPageRequest()
    try:
        found = _staff_page(settings, asked)
    except LakehouseError as exc:
        return {"error": str(exc).splitlines()[0], "columns": [], "rows": [], "request": asked}
    return {
        "columns": list(found.result.columns),
        "rows": found.result.text_rows(),
        "request": asked,
        "number": found.number,
        "pages": found.pages,
        "total": found.total,
        "first_row": found.first_row,
        "last_row": found.first_row + found.result.row_count - 1 if found.first_row else 0,
    }


def overview(settings: Settings, tenant_request: TenantPageRequest | None = None) -> dict[str, Any]:
    """Everything the operations view shows, with the tenant table's page ``tenant_request``."""
    report = quality(settings)
    entities = []
    for name, entry in ((report or {}).get("entities") or {}).items():
        run = entry.get("last_run") or {}
        entities.append(
            {
                "entity": name,
                "silver_rows": entry.get("silver_rows"),
                "run": run,
                "quarantined": int(run.get("rows_quarantined", 0) or 0),
                "reasons": {
                    rule: int(v.get("violations", 0))
                    for rule, v in (run.get("rules") or {}).items()
                    if int(v.get("violations", 0) or 0)
                },
                "bad_files": run.get("quarantined_files") or [],
            }
        )
    return {
        "replication": replication(settings),
        "quality": report,
        "entities": entities,
        "reconcile": _read_json(reconcile_report_path(settings)),
        "freshness": gold_freshness(settings),
        "tenants": tenants(settings, tenant_request),
    }
