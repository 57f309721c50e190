"""One way to open a query engine, local or on AWS, chosen by a setting.

The CLI and the dashboards call :func:`open_engine`; both engines take Athena SQL and return
:class:`~lakehouse.athena.results.QueryResult` per statement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

from lakehouse.athena.results import QueryResult
from lakehouse.config import Settings

if TYPE_CHECKING:
    from lakehouse.athena.pool import SessionPool

EngineKind = Literal["local", "athena"]


class QueryEngine(Protocol):
    """What the local DuckDB engine and the Amazon Athena engine have in common."""

    def execute(self, text: str, as_text: bool = False) -> list[QueryResult]:
        """One result per statement; ``as_text``: the caller only prints them (their text
        and CSV), so an engine may fetch them as text."""
        ...

    def close(self) -> None: ...


def open_engine(
    settings: Settings,
    tenant: str | None = None,
    kind: EngineKind | None = None,
    save_results: bool = True,
    sessions: SessionPool | None = None,
) -> QueryEngine:
    """The engine ``kind`` (default ``settings.athena_engine``), scoped to ``tenant`` if given.

    ``save_results`` and ``sessions`` are the local engine's (see
    :class:`~lakehouse.athena.engine.AthenaEngine`); Amazon Athena always writes each result
    to the workgroup's output location and has no session to keep.
    """
    chosen = kind or settings.athena_engine
    if chosen == "athena":
        from lakehouse.athena.remote import AthenaRemoteEngine

        return AthenaRemoteEngine(settings, tenant=tenant)
    from lakehouse.athena.engine import AthenaEngine

    return AthenaEngine(settings, tenant=tenant, save_results=save_results, sessions=sessions)
