"""Run an analytics page for one tenant and shape its rows for the page, its charts and CSV.

The web app (``django-backend/apps/analytics``) and the tests call :func:`run_page`; it takes
an engine that is already scoped to the tenant (:func:`tenant_engine`), so the numbers on a page,
in its charts and in its CSV download are one result of one scoped query.

Pages are fast because the locked tenant sessions are kept by :func:`page_sessions` for the
life of the process (:mod:`lakehouse.athena.pool`: one tenant per session, rebuilt when a table
it copied has a new snapshot) and because a page's result is not written to the results
location (the page is what the user sees; the CSV download comes from the same rows).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lakehouse.analytics.pages import Chart, Page, page_sql
from lakehouse.athena.engines import QueryEngine, open_engine
from lakehouse.athena.pool import SessionPool
from lakehouse.athena.results import csv_lines, text_values
from lakehouse.config import Settings
from lakehouse.errors import LakehouseError

_PAGE_SESSIONS: list[SessionPool] = []
_PAGE_SESSIONS_LOCK = threading.Lock()


def page_sessions(settings: Settings) -> SessionPool:
    """The locked tenant sessions of this process's analytics pages (made on first use,
    keeping at most ``settings.dashboard_sessions``)."""
    with _PAGE_SESSIONS_LOCK:
        if not _PAGE_SESSIONS:
            _PAGE_SESSIONS.append(SessionPool(max_sessions=settings.dashboard_sessions))
        return _PAGE_SESSIONS[0]


def tenant_engine(
    settings: Settings, tenant: str, sessions: SessionPool | None = None
) -> QueryEngine:
    """The analytics engine (``LAKEHOUSE_ATHENA_ENGINE``) scoped to ``tenant`` (slug or id).

    A blank tenant is refused here too: the dashboards never run an unscoped query. Locally,
    the tenant's sessions are kept in ``sessions`` (default: :func:`page_sessions`).
    """
    if not tenant or not tenant.strip():
        raise LakehouseError("the analytics pages need a tenant")
    pool = sessions if sessions is not None else page_sessions(settings)
    return open_engine(settings, tenant=tenant, save_results=False, sessions=pool)


def _chart_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class PageData:
    """A page's rows for one tenant and date range."""

    page: Page
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    start: date | None
    end: date | None
    types: tuple[str, ...] = ()

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [row[i] for row in self.rows]

    def text_rows(self) -> list[list[str]]:
        """Every value as Athena prints it (NULL as an empty cell), for the page's table."""
        renderers = text_values(self.types or ("",) * len(self.columns))
        return [
            ["" if (t := r(v)) is None else t for v, r in zip(row, renderers, strict=True)]
            for row in self.rows
        ]

    def csv(self) -> str:
        """The rows as Athena writes a result CSV (every value quoted, NULL empty)."""
        return "".join(csv_lines(self.columns, self.rows, self.types))

    def figures(self) -> list[dict[str, Any]]:
        """One Plotly figure (``data`` and ``layout``) per chart of the page."""
        return [self._figure(chart) for chart in self.page.charts]

    def _figure(self, chart: Chart) -> dict[str, Any]:
        rows = self.rows[: chart.limit] if chart.limit else self.rows
        view = PageData(self.page, self.columns, rows, self.start, self.end, self.types)
        layout: dict[str, Any] = {
            "title": {"text": chart.title},
            "margin": {"t": 48, "r": 16, "b": 48, "l": 64},
            "legend": {"orientation": "h"},
        }
        data: list[dict[str, Any]]
        if chart.kind == "heatmap":
            assert chart.z is not None
            xs = sorted({v for v in view.column(chart.x) if v is not None})
            ys = sorted({v for v in view.column(chart.y[0]) if v is not None})
            grid: dict[tuple[Any, Any], Any] = {
                (x, y): z
                for x, y, z in zip(
                    view.column(chart.x), view.column(chart.y[0]), view.column(chart.z), strict=True
                )
            }
            data = [
                {
                    "type": "heatmap",
                    "x": [_chart_value(x) for x in xs],
                    "y": [_chart_value(y) for y in ys],
                    "z": [[_chart_value(grid.get((x, y))) for x in xs] for y in ys],
                    "colorscale": "Blues",
                    "hoverongaps": False,
                }
            ]
            layout["xaxis"] = {"title": {"text": chart.x}}
        elif chart.kind == "funnel":
            data = [
                {
                    "type": "funnel",
                    "y": list(chart.y),
                    "x": funnel_totals(view, chart.y),
                }
            ]
            layout["yaxis"] = {"automargin": True}  # the step names in full
        else:
            xs = [_chart_value(v) for v in view.column(chart.x)]
            data = [
                {
                    "type": "bar" if chart.kind == "bar" else "scatter",
                    "mode": "lines",
                    "name": name,
                    "x": xs,
                    "y": [_chart_value(v) for v in view.column(name)],
                }
                for name in chart.y
            ]
            if chart.kind == "bar":
                for trace in data:
                    trace.pop("mode")
        return {"data": data, "layout": layout}


def run_page(
    engine: QueryEngine, page: Page, start: date | None = None, end: date | None = None
) -> PageData:
    """Run ``page`` on ``engine`` (scoped to a tenant) for the range ``start``..``end``."""
    (result,) = engine.execute(page_sql(page, start, end))
    return PageData(page, tuple(result.columns), list(result.rows), start, end, tuple(result.types))


def funnel_totals(data: PageData, steps: Sequence[str]) -> list[int]:
    """The funnel chart's bars: each step's customer-days over the page's rows."""
    return [sum(int(v or 0) for v in data.column(step)) for step in steps]
