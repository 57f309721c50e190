"""A result's values: columns (Arrow) for its text, Python tuples when a caller asks for them.

DuckDB's ``fetchall()`` builds every value one by one; for ``DECIMAL`` and ``DATE`` columns
that costs several times the query itself once a result has thousands of rows (an all-tenant
dashboard at 10,000 tenants: one row per tenant, five ``DECIMAL`` columns). :func:`fetch_values`
takes the first rows with ``fetchmany()`` (a small result is cheaper that way) and the rest as an
Arrow table (:class:`ResultValues`). How many first rows depends on whether pyarrow is loaded:
loading it costs about 250 ms of CPU (a one-off ``lakehouse athena`` pays it only from 256
rows), and once it is loaded (an engine serving many calls) Arrow is the cheaper way from about
64 rows of the dashboard's 19 columns, so a large result then makes only 64 rows Python values
first, not 256. A session remembers which statements gave it a large result
(:class:`LargeResults`): run again, such a statement's result is fetched as Arrow from its first
row, with no first rows to make and render one by one. What most callers do with a result is
print it (the result CSV, the CLI's table, the operations page's table), and its text is made
from the Arrow columns a column at a time (:meth:`ResultValues.text_columns`); Python values
are made only when a caller asks for :attr:`ResultValues.rows`, a column at a time too, exactly
as ``fetchall()`` makes them:

- integers, ``BOOLEAN``, ``DOUBLE``, ``FLOAT`` and ``VARCHAR`` with Arrow's own conversion
  (the same Python ``int``, ``bool``, ``float`` and ``str``);
- ``DECIMAL(p,s)`` through its text (Arrow prints the fixed scale, ``Decimal`` keeps it), the
  same ``Decimal`` as DuckDB's, trailing zeros included;
- ``DATE`` from its day number (``date.fromordinal``), with DuckDB's ``infinity`` dates as
  ``date.max``/``date.min`` like ``fetchall()``; a date outside Python's range (DuckDB gives its
  text) is converted by DuckDB itself.

A result with a column of any other type (timestamps, intervals, lists, structs, ``HUGEINT``,
``UUID``, ``BLOB``...) is fetched with ``fetchall()``: only the types above are converted here,
and the tests compare both ways value by value and type by type.

The text of an Arrow column is Arrow's own cast to text where it is the text Athena prints
(:func:`lakehouse.athena.trino.output.render`): integers, ``BOOLEAN``, ``VARCHAR``, ``DATE``
within Python's range and ``DECIMAL`` of scale 6 at most (a larger scale can print as ``1E-7``);
any other column is rendered value by value from its Python values. The first rows, already
Python values, are rendered the same way. Nothing here calls ``pyarrow.array`` on Python values:
pyarrow then checks whether they are pandas objects, which imports pandas (0.55-0.65 CPU s, more
than the rest of a one-off dashboard call at 10,000 tenants); text is put into Arrow from its
buffers (:func:`_strings`). The result CSV (:meth:`ResultValues.write_csv`) hands Arrow's CSV
writer the columns it prints as Athena does as they are, so a result printed as CSV only does
not load ``pyarrow.compute`` either.

A caller that only prints its results (``lakehouse athena``) asks for them as text
(:func:`fetch_text`): when every column is of a type whose DuckDB text is Athena's (integers,
``BOOLEAN``, ``VARCHAR``, ``DECIMAL`` of any scale, ``DATE`` with its ``infinity`` dates as
``9999-12-31`` and ``0001-01-01``), DuckDB casts the columns to text itself and the result is
kept as those strings (:class:`ResultText`); its CSV is built from them a column at a time, so
such a call never imports pyarrow (about 0.2 CPU s, more than the rest of a one-off dashboard
call's result handling at 10,000 tenants). Its Python values are made from the text when asked,
exactly as ``fetchall()`` makes them (the tests compare both ways).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, TypeVar

from lakehouse.athena.trino.output import renderer

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

_AS_ARROW = frozenset(
    {
        "BOOLEAN",
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "FLOAT",
        "DOUBLE",
        "VARCHAR",
    }
)
# DuckDB warns that Arrow output of an executed statement copies its rows; that copy is the
# point here (it costs a fraction of what building the values one by one in fetchall() costs).
warnings.filterwarnings(
    "ignore",
    message="Arrow output on a DB-API result makes an extra copy",
    category=UserWarning,
    module=re.escape(__name__),
)
_FIRST_ROWS = 256
# Fetched one by one when pyarrow is loaded already: the 19-column dashboard's text and CSV cost
# about the same either way at 64 rows, less through Arrow above (see the module's notes).
_FIRST_ROWS_ARROW_LOADED = 64
# Statements a session remembers as giving a large result (LargeResults).
_LARGE_RESULTS_KEPT = 256
_Null = TypeVar("_Null", str, None)
_DECIMAL = re.compile(r"DECIMAL\(\d+,(\d+)\)")
# Arrow prints a DECIMAL of a larger scale in scientific notation below 1e-6 (``1E-7``).
_ARROW_TEXT_MAX_SCALE = 6
# Day 0 of a DATE (1970-01-01) as a proleptic Gregorian ordinal, and the range of dt.date.
_EPOCH = dt.date(1970, 1, 1).toordinal()
_FIRST_DAY = dt.date.min.toordinal() - _EPOCH
_LAST_DAY = dt.date.max.toordinal() - _EPOCH
# DuckDB's DATE 'infinity' and '-infinity', as Arrow day numbers.
_INFINITY = 2**31 - 1
_MINUS_INFINITY = -(2**31) + 1
_MAX_INT32 = 2**31 - 1


class ResultValues:
    """The values of one result: rows already in Python, then (a large result) Arrow columns.

    Args:
        types: The DuckDB type of each column (``cursor.description``).
        first: Rows as Python tuples (all of them when ``rest`` is None).
        rest: The rows after ``first`` as an Arrow table, every column of a type that
            :func:`fetch_values` converts itself.
    """

    def __init__(
        self,
        types: Sequence[str],
        first: list[tuple[Any, ...]],
        rest: pa.Table | None = None,
    ) -> None:
        self.types = tuple(types)
        self._first = first
        self._rest = rest if rest is not None and rest.num_rows else None
        self._rows: list[tuple[Any, ...]] | None = None if self._rest is not None else first

    @property
    def columnar(self) -> bool:
        """Whether rows after the first ones are held as Arrow columns (a large result)."""
        return self._rest is not None

    def __len__(self) -> int:
        return len(self._first) + (0 if self._rest is None else self._rest.num_rows)

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        """Every row as a tuple of Python values, as ``fetchall()`` gives them (made once)."""
        if self._rows is None:
            assert self._rest is not None
            columns = [_column(t, self._rest.column(i)) for i, t in enumerate(self.types)]
            self._rows = [*self._first, *zip(*columns, strict=True)]
        return self._rows

    def text_columns(self) -> list[pa.ChunkedArray] | None:
        """Every column as Athena prints its values (strings, NULL as null), or None for a
        result held as Python rows only (print those with :attr:`rows`)."""
        if self._rest is None:
            return None
        import pyarrow as pa

        out = []
        for i, t in enumerate(self.types):
            rest = _text(t, self._rest.column(i))
            if not self._first:  # fetched as Arrow from the first row (LargeResults)
                out.append(rest)
                continue
            # The first rows are Python values already: their text is the renderer's, the
            # same text as the rest's (the tests compare both), and made into Arrow without
            # ``pa.array`` of Python values (see :func:`_strings`).
            render = renderer(t)
            head = _strings([render(row[i]) for row in self._first])
            out.append(pa.chunked_array([head, *rest.chunks]))
        return out

    def text_rows(self, null: _Null) -> list[list[str | _Null]]:
        """Every row with every value as Athena prints it, NULL as ``null``."""
        columns = self.text_columns()
        if columns is None:
            renderers = [renderer(t) for t in self.types]
            return [
                [null if (v := r(x)) is None else v for x, r in zip(row, renderers, strict=True)]
                for row in self.rows
            ]
        import pyarrow.compute as pc

        if null is not None:
            columns = [pc.fill_null(c, null) for c in columns]
        texts = [c.to_pylist() for c in columns]
        return [list(row) for row in zip(*texts, strict=True)]

    def write_csv(self, fh: IO[bytes], columns: Sequence[str]) -> None:
        """Write Athena's result CSV of a :attr:`columnar` result to ``fh`` with Arrow's CSV
        writer: a header, every value quoted, NULL empty and unquoted.

        The first rows are written from their text (the Python renderers'), the rest from
        the Arrow columns: a column whose Arrow text is Athena's as it is (Arrow's writer
        casts it to text itself), any other column as its text (:func:`_text`). So a result
        printed as CSV only (``lakehouse athena``) never loads ``pyarrow.compute``, whose
        import costs more CPU (about 75 ms) than the casts of 10,000 rows.
        """
        if self._rest is None:
            raise ValueError("a result held as Python rows is written by results.write_csv")
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        names = list(columns)
        if self._first:
            head = [
                _strings([render(row[i]) for row in self._first])
                for i, render in enumerate(renderer(t) for t in self.types)
            ]
            pa_csv.write_csv(
                pa.Table.from_arrays(head, names=names),
                fh,
                pa_csv.WriteOptions(quoting_style="all_valid"),
            )
        rest = []
        for i, t in enumerate(self.types):
            column = self._rest.column(i)
            rest.append(column if _arrow_text(t, column) else _text(t, column))
        pa_csv.write_csv(
            pa.Table.from_arrays(rest, names=names),
            fh,
            # One batch: the writer casts each batch's columns on its own (1,024 rows by
            # default), and one cast of a column costs less than ten of its slices.
            pa_csv.WriteOptions(
                include_header=not self._first,
                quoting_style="all_valid",
                batch_size=max(self._rest.num_rows, 1),
            ),
        )


def fetch_values(cursor: duckdb.DuckDBPyConnection, arrow_first: bool = False) -> ResultValues:
    """Every row of ``cursor``'s pending result, fetched for :class:`ResultValues`.

    ``arrow_first``: the result is expected to be large (:class:`LargeResults`); with pyarrow
    loaded, every row is then fetched as Arrow columns, none one by one first. The values and
    their text are the same either way (a small result too: it is then held as columns).
    """
    description = cursor.description
    types = [str(d[1]) for d in description or ()]
    if not description or not all(_converted(t) for t in types):
        return ResultValues(types, cursor.fetchall())
    if arrow_first and "pyarrow" in sys.modules:
        reader = cursor.to_arrow_reader()
        return ResultValues(types, [], None if reader is None else reader.read_all())
    # A small result costs less one row at a time than through Arrow (and loading pyarrow).
    probe = _FIRST_ROWS_ARROW_LOADED if "pyarrow" in sys.modules else _FIRST_ROWS
    first = cursor.fetchmany(probe)
    if len(first) < probe:
        return ResultValues(types, first)
    # pyarrow is loaded from here on only: a small result (most queries) never loads it, and
    # ``lakehouse athena`` starts faster without it.
    reader = cursor.to_arrow_reader()  # the rows after the first ones
    if reader is None:
        return ResultValues(types, first)
    return ResultValues(types, first, reader.read_all())


def is_large(values: ResultValues) -> bool:
    """Whether ``values`` has more rows than an engine with pyarrow loaded fetches one by one
    (the first rows :func:`fetch_values` makes Python values of before the Arrow columns)."""
    return len(values) >= _FIRST_ROWS_ARROW_LOADED


class LargeResults:
    """The statements whose latest result on one session was large (:func:`is_large`).

    Such a statement's next result is fetched as Arrow columns from its first row: a warm
    engine serving the same large query again (a dashboard over every tenant, 10,000 rows)
    then neither makes its first 64 rows Python values nor renders them one by one, and DuckDB
    hands over the whole result at once instead of its first rows and then the rest. The
    memory is a hint only: either way the values, their text and the result CSV are the same
    (the tests compare them byte for byte), so a statement whose result shrank pays Arrow's
    fixed cost once and is forgotten. At most ``limit`` statements are remembered (the least
    recently run go first), by a hash of their text; thread-safe (a kept tenant session serves
    several leases).
    """

    def __init__(self, limit: int = _LARGE_RESULTS_KEPT) -> None:
        self._limit = limit
        self._large: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, sql: object) -> bool:
        with self._lock:
            return hash(sql) in self._large

    def fetch(self, cursor: duckdb.DuckDBPyConnection, sql: str) -> ResultValues:
        """:func:`fetch_values` of ``cursor``'s pending result of ``sql``, remembering whether
        it was large for the next run of ``sql``."""
        key = hash(sql)
        with self._lock:
            large = key in self._large
        values = fetch_values(cursor, arrow_first=large)
        with self._lock:
            if is_large(values):
                self._large[key] = None
                self._large.move_to_end(key)
                while len(self._large) > self._limit:
                    self._large.popitem(last=False)
            else:
                self._large.pop(key, None)
        return values


# DuckDB's text of a value of these types is Athena's (see :func:`fetch_text`).
_TEXT_AS_IS = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
        "BOOLEAN",
        "DATE",
    }
)
# The name the text query gives the statement's result (it reads the result only).
_TEXT_OF = "athena_text_of"


class ResultText(ResultValues):
    """A result fetched as the text Athena prints: each row a tuple of ``str`` (None is NULL).

    Args:
        types: The DuckDB type of each column (each one :func:`fetch_text` casts).
        cells: Every row as its values' text.
    """

    def __init__(self, types: Sequence[str], cells: list[tuple[str | None, ...]]) -> None:
        super().__init__(types, [])
        self._cells = cells
        self._rows = None

    def __len__(self) -> int:
        return len(self._cells)

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        """Every row as ``fetchall()`` gives it, made from the text (once)."""
        if self._rows is None:
            columns = []
            for i, t in enumerate(self.types):
                parse = _from_text(t)
                texts = [row[i] for row in self._cells]
                columns.append(
                    texts if parse is None else [None if v is None else parse(v) for v in texts]
                )
            self._rows = list(zip(*columns, strict=True)) if columns else []
        return self._rows

    def text_rows(self, null: _Null) -> list[list[str | _Null]]:
        if null is None:
            return [list(row) for row in self._cells]
        return [[null if v is None else v for v in row] for row in self._cells]

    def csv_lines(self) -> list[str]:
        """Every row as its line of Athena's result CSV (every value quoted, NULL empty), no
        line feed, built a column at a time: a column's values are quoted and their quotes
        doubled only where it holds any, NULL is marked and the marks removed from the lines
        that hold one."""
        if not self._cells:
            return []
        mark = "\x00"  # NULL, until the lines are joined: no value here holds one (checked)
        columns: list[Sequence[str]] = []
        for column in zip(*self._cells, strict=True):
            present: Sequence[str] = (
                [mark if v is None else v for v in column] if None in column else column  # type: ignore[misc]
            )
            text = "".join(v for v in column if v is not None)
            if mark in text:
                return [_csv_line(row) for row in self._cells]
            if '"' in text:
                present = [v.replace('"', '""') for v in present]
            columns.append(present)
        lines = ['"' + '","'.join(row) + '"' for row in zip(*columns, strict=True)]
        null = '"' + mark + '"'
        return [line.replace(null, "") if mark in line else line for line in lines]

    def write_csv(self, fh: IO[bytes], columns: Sequence[str]) -> None:
        """Write Athena's result CSV to ``fh``: a header, then :meth:`csv_lines`."""
        lines = [_csv_line(tuple(columns)), *self.csv_lines()]
        fh.write(("\n".join(lines) + "\n").encode("utf-8"))


def csv_field(value: str | None) -> str:
    """One field of Athena's result CSV: the text double-quoted (quotes doubled), NULL empty."""
    return "" if value is None else '"' + value.replace('"', '""') + '"'


def _csv_line(values: Sequence[str | None]) -> str:
    return ",".join(map(csv_field, values))


def text_select(types: Sequence[str]) -> str | None:
    """The select list that casts each column of a result of ``types`` (by position) to the
    text Athena prints, or None when a column's DuckDB text is not Athena's."""
    out = []
    for i, t in enumerate(types, start=1):
        if t == "VARCHAR":
            out.append(f"#{i}")
        elif t == "DATE":
            # DuckDB prints 'infinity'; its Python value (and so Athena's text here) is
            # date.max, and date.min for '-infinity'.
            out.append(
                f"case #{i} when 'infinity'::date then '9999-12-31' "
                f"when '-infinity'::date then '0001-01-01' else cast(#{i} as varchar) end"
            )
        elif t in _TEXT_AS_IS or _DECIMAL.fullmatch(t):
            out.append(f"cast(#{i} as varchar)")
        else:
            return None
    return ", ".join(out) if out else None


def fetch_text(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[ResultText, list[Any]] | None:
    """The result of ``sql`` as text (and its column descriptions), cast by DuckDB, or None
    when it is not one SELECT, a column is of a type :func:`text_select` does not cast, or
    DuckDB cannot bind it (nothing has run then: the caller runs it as usual and reports its
    error)."""
    import duckdb

    try:
        statements = con.extract_statements(sql)
    except duckdb.Error:
        return None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        return None
    query = sql.rstrip("; \t\r\n\f\v")
    try:
        relation = con.sql(query)  # a SELECT is bound here, not run
    except duckdb.Error:
        return None
    if relation is None:
        return None
    description = list(relation.description)
    types = [str(d[1]) for d in description]
    select = text_select(types)
    if select is None:
        return None
    # The statement as a subquery (a line feed ends a trailing comment), its columns by
    # position (names may repeat); DuckDB keeps the subquery's order.
    cells = con.execute(f"select {select} from (\n{query}\n) as {_TEXT_OF}").fetchall()
    return ResultText(types, cells), description


def _from_text(type_name: str) -> Callable[[str], Any] | None:
    """How ``fetchall()``'s value of a column is made from its text (None: the text is it)."""
    if type_name == "VARCHAR":
        return None
    if type_name == "BOOLEAN":
        return "true".__eq__
    if type_name == "DATE":
        return _date_of_text
    if _DECIMAL.fullmatch(type_name):
        return Decimal
    return int


def _date_of_text(text: str) -> Any:
    """A DATE's Python value from its text: a date outside Python's range stays text, as
    ``fetchall()`` gives it (``10000-01-01``, ``0001-12-31 (BC)``)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return text


def fetch_rows(cursor: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """Every row of ``cursor``'s pending result (what ``cursor.fetchall()`` would return)."""
    return fetch_values(cursor).rows


def _text(type_name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column's values as Athena prints them (see the module's notes)."""
    import pyarrow as pa

    if _arrow_text(type_name, column):
        import pyarrow.compute as pc

        return pc.cast(column, pa.string())
    render = renderer(type_name)
    return pa.chunked_array([_strings([render(v) for v in _column(type_name, column)])])


def _arrow_text(type_name: str, column: pa.ChunkedArray) -> bool:
    """Whether Arrow's cast of ``column`` to text is the text Athena prints."""
    decimal = _DECIMAL.fullmatch(type_name)
    if decimal is not None:
        return int(decimal.group(1)) <= _ARROW_TEXT_MAX_SCALE
    if type_name == "DATE":
        return _days_in_range(column)
    return type_name not in ("FLOAT", "DOUBLE")  # Java prints those (3.0, 1.0E10)


def _days_in_range(column: pa.ChunkedArray) -> bool:
    """Whether every day number of a ``DATE`` column lies in Python's (and Arrow's text's)
    range, read from its buffers (no ``pyarrow.compute``): the validity bitmap (bit i of
    byte i // 8, least significant first) and the int32 day numbers, whose slots under a
    null hold anything."""
    import numpy as np

    for chunk in column.chunks:
        validity, values = chunk.buffers()[:2]
        start, end = chunk.offset, chunk.offset + len(chunk)
        days = np.frombuffer(values, dtype=np.int32)[start:end]
        if chunk.null_count:
            bits = np.frombuffer(validity, dtype=np.uint8)
            days = days[np.unpackbits(bits, bitorder="little")[start:end].astype(bool)]
        if len(days) and (int(days.min()) < _FIRST_DAY or int(days.max()) > _LAST_DAY):
            return False
    return True


def _strings(texts: Sequence[str | None]) -> pa.StringArray:
    """An Arrow string array of ``texts`` (None is null), built from its buffers, not with
    ``pyarrow.array`` (which imports pandas, see the module's notes): Arrow's columnar layout,
    a validity bitmap (bit i of byte i // 8, least significant first), int32 offsets and the
    UTF-8 bytes.
    https://arrow.apache.org/docs/format/Columnar.html#variable-size-binary-layout
    """
    import numpy as np
    import pyarrow as pa

    count = len(texts)
    encoded = [b"" if text is None else text.encode("utf-8") for text in texts]
    data = b"".join(encoded)
    if len(data) > _MAX_INT32:
        raise ValueError(f"{len(data)} bytes of text exceed an Arrow string array's offsets")
    offsets = np.fromiter(
        itertools.accumulate(map(len, encoded), initial=0), dtype=np.int32, count=count + 1
    )
    present = np.frombuffer(bytes([text is not None for text in texts]), dtype=np.uint8)
    nulls = count - int(present.sum())
    valid = pa.py_buffer(np.packbits(present, bitorder="little")) if nulls else None
    return pa.StringArray.from_buffers(
        count, pa.py_buffer(offsets), pa.py_buffer(data), valid, nulls
    )


def _converted(type_name: str) -> bool:
    return type_name in _AS_ARROW or type_name == "DATE" or bool(_DECIMAL.fullmatch(type_name))


def _column(type_name: str, column: pa.ChunkedArray) -> list[Any]:
    if type_name == "DATE":
        return _dates(column)
    if type_name.startswith("DECIMAL"):
        import pyarrow as pa
        import pyarrow.compute as pc

        text: list[str | None] = pc.cast(column, pa.string()).to_pylist()
        if column.null_count == 0:
            return list(map(Decimal, text))  # type: ignore[arg-type]  # no None in it
        return [None if s is None else Decimal(s) for s in text]
    values: list[Any] = column.to_pylist()
    return values


def _dates(column: pa.ChunkedArray) -> list[Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = pc.cast(column, pa.int32())
    days: list[int | None] = numbers.to_pylist()
    lowest, highest = (v.as_py() for v in pc.min_max(numbers).values())
    if lowest is None:
        return days  # every value is null
    if lowest >= _FIRST_DAY and highest <= _LAST_DAY:
        ordinal: Callable[[int], dt.date] = dt.date.fromordinal
        return [None if d is None else ordinal(d + _EPOCH) for d in days]
    out: list[Any] = []
    for d in days:
        if d is None or _FIRST_DAY <= d <= _LAST_DAY:
            out.append(None if d is None else dt.date.fromordinal(d + _EPOCH))
        elif d == _INFINITY:
            out.append(dt.date.max)
        elif d == _MINUS_INFINITY:
            out.append(dt.date.min)
        else:
            out.append(_duckdb_date(d))
    return out


def _duckdb_date(days: int) -> Any:
    """DuckDB's own Python value of a DATE outside Python's range (its text)."""
    import duckdb

    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        row = con.execute("select date '1970-01-01' + cast(? as integer)", [days]).fetchone()
    finally:
        con.close()
    return None if row is None else row[0]
