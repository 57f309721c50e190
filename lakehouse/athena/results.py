"""Query results as Athena keeps them: a CSV and a metadata JSON per query id.

Athena writes every query's result to its output location as ``<QueryExecutionId>.csv`` (a
header, every value double-quoted, NULL as an empty unquoted field) beside a metadata file.
:class:`ResultStore` does the same under ``settings.athena_results_uri``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from lakehouse.athena.fetch import ResultText, ResultValues, csv_field
from lakehouse.athena.trino.output import render, renderer


@dataclass(frozen=True)
class QueryResult:
    """One finished statement, as Athena's GetQueryResults would describe it.

    Its values are kept as fetched (:class:`~lakehouse.athena.fetch.ResultValues`): printing
    them (:meth:`text_rows`, the result CSV) reads a large result's Arrow columns; :attr:`rows`
    makes every value a Python object, once, when a caller asks for them.
    """

    query_id: str
    query: str
    duckdb_sql: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    values: ResultValues
    elapsed_ms: float
    result_path: Path | None = None
    metadata_path: Path | None = None
    tenant_id: str | None = None

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        """Every row as a tuple of Python values (``Decimal``, ``date``, ...)."""
        return self.values.rows

    @property
    def row_count(self) -> int:
        return len(self.values)

    def text_rows(self, null: str = "") -> list[list[str]]:
        """Every row with every value as Athena prints it, NULL as ``null``."""
        return self.values.text_rows(null)


def text_values(types: Sequence[str]) -> list[Callable[[Any], str | None]]:
    """:func:`text_value` for each column of ``types`` (the type looked at once per column)."""
    return [renderer(t) for t in types]


def text_value(value: Any, duck_type: str = "") -> str | None:
    """A result value as Athena prints it in its CSV output (None for NULL).

    ``duck_type`` is the DuckDB type of the column (``cursor.description``); it tells a map
    from a row and a REAL from a DOUBLE (see :func:`lakehouse.athena.trino.render`).
    """
    return render(value, duck_type)


def _private(path: Path) -> TextIO:
    """``path`` opened for writing as text, created (or truncated) with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return open(fd, "w", encoding="utf-8", newline="")


def _private_binary(path: Path) -> BinaryIO:
    """``path`` opened for writing bytes, created (or truncated) with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return open(fd, "wb")


def csv_lines(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], types: Sequence[str] = ()
) -> Iterator[str]:
    """The lines of Athena's result CSV: a header, then every value double-quoted by its type,
    NULL as an empty unquoted field (each line ends with a line feed)."""
    renderers = [renderer(t) for t in (list(types) or [""] * len(columns))]
    yield ",".join(csv_field(c) for c in columns) + "\n"
    for row in rows:
        fields = (csv_field(r(v)) for v, r in zip(row, renderers, strict=True))
        yield ",".join(fields) + "\n"


def write_csv(
    path: Path,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]] | ResultValues,
    types: Sequence[str] = (),
) -> None:
    """Athena's result CSV (:func:`csv_lines`) in ``path``.

    ``rows`` are Python rows, or a result's values: a large result's CSV is then written from
    its Arrow columns by Arrow's CSV writer (which quotes every value and leaves NULL empty,
    as Athena does), and a result fetched as text from its text, without making its values
    Python objects. ``types`` are the DuckDB column
    types (values print by their type, as Athena's do; a result's values know their own). The
    file is created readable by its owner only (results are tenant data).
    """
    if isinstance(rows, ResultValues):
        if rows.columnar or isinstance(rows, ResultText):
            with _private_binary(path) as out:
                rows.write_csv(out, columns)
            return
        types = rows.types or types
        rows = rows.rows
    with _private(path) as fh:
        fh.writelines(csv_lines(columns, rows, types))


@dataclass(frozen=True)
class ResultStore:
    """The results folder of one engine, and whose results they are.

    Files are written with mode 0600; a tenant's folder is mode 0700.
    """

    folder: Path
    tenant_slug: str | None = None
    tenant_id: str | None = None

    def _ensure(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.tenant_id is not None:
            self.folder.chmod(0o700)
        return self.folder

    def write_result(
        self,
        query_id: str,
        columns: Sequence[str],
        rows: Sequence[Any] | ResultValues,
        types: Sequence[str] = (),
    ) -> Path:
        """Write ``<query_id>.csv`` and return its path."""
        path = self._ensure() / f"{query_id}.csv"
        write_csv(path, columns, rows, types)
        return path

    def write_metadata(
        self,
        query_id: str,
        query: str,
        duck_sql: str,
        state: str,
        reason: str | None,
        rows: int,
        elapsed_ms: float,
        columns: Sequence[str] = (),
    ) -> Path:
        """Write ``<query_id>.metadata.json`` (a subset of Athena's GetQueryExecution)."""
        folder = self._ensure()
        path = folder / f"{query_id}.metadata.json"
        doc = {
            "QueryExecutionId": query_id,
            "Query": query,
            "EngineQuery": duck_sql,
            "Status": {
                "State": state,
                "StateChangeReason": reason,
                "CompletionDateTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
            },
            "Statistics": {"EngineExecutionTimeInMillis": round(elapsed_ms, 2), "Rows": rows},
            "ResultConfiguration": {"OutputLocation": str(folder / f"{query_id}.csv")},
            "Columns": list(columns),
            "Tenant": {"slug": self.tenant_slug, "tenant_id": self.tenant_id},
        }
        with _private(path) as fh:
            fh.write(json.dumps(doc, indent=2) + "\n")
        return path
