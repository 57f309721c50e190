"""A small reference reader of bronze and of the source, written independently of the replicator.

It parses RFC 4180 CSV by hand (Python 3.11's ``csv`` module cannot tell an unquoted field
from a quoted one, and the NULL marker is NULL only unquoted, as PostgreSQL's COPY writes it),
applies rows in the contract's change order and renders source rows in the contract's text
forms from ``::text`` values - so that a bug in the
replicator's formatting cannot be mirrored here.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from lakehouse_glue.model import load_bronze_contract, load_declaration
from psycopg import sql

from lakehouse.storage import Storage

Field = str | None
Row = dict[str, Field]


def parse_csv(text: str, null: str | None = None) -> list[list[Field]]:
    """RFC 4180 rows; an unquoted field equal to ``null`` (the contract's marker) is None."""
    null = load_bronze_contract().csv_null_value if null is None else null
    rows: list[list[Field]] = []
    row: list[Field] = []
    i, n = 0, len(text)
    while i < n:
        value: Field
        if text[i] == '"':
            parts: list[str] = []
            j = i + 1
            while True:
                k = text.index('"', j)
                parts.append(text[j:k])
                if k + 1 < n and text[k + 1] == '"':
                    parts.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            value = "".join(parts)
        else:
            ends = [p for p in (text.find(",", i), text.find("\n", i)) if p >= 0]
            k = min(ends) if ends else n
            value = text[i:k]
            value = None if value == null else value
            i = k
        row.append(value)
        if i >= n:
            rows.append(row)
            break
        if text[i] == ",":
            i += 1
            if i == n:
                row.append("")
                rows.append(row)
        elif text[i] == "\n":
            rows.append(row)
            row = []
            i += 1
        else:
            raise ValueError(f"bad CSV at {i}: {text[i : i + 20]!r}")
    return rows


@dataclass
class BronzeFile:
    name: str
    header: list[str]
    rows: list[Row]


def read_files(storage: Storage, table: str, schema: str = "public") -> list[BronzeFile]:
    """All files of a table, full-load files first, then CDC files by name."""
    contract = load_bronze_contract()
    folder = contract.table_folder(schema, table)
    names = storage.list_files(folder)
    loads = sorted(n for n in names if contract.is_full_load_file(n))
    cdc = sorted(n for n in names if not contract.is_full_load_file(n))
    out: list[BronzeFile] = []
    for name in loads + cdc:
        text = gzip.decompress(storage.read_bytes(f"{folder}/{name}")).decode("utf-8")
        parsed = parse_csv(text)
        header = [h or "" for h in parsed[0]]
        rows = [dict(zip(header, r, strict=True)) for r in parsed[1:]]
        out.append(BronzeFile(name, header, rows))
    return out


def change_rows(storage: Storage, table: str) -> list[Row]:
    """Every bronze row of a table in the contract's change order."""
    files = read_files(storage, table)
    contract = load_bronze_contract()
    seq = contract.change_seq_column
    load_rows = [r for f in files if contract.is_full_load_file(f.name) for r in f.rows]
    cdc_rows = [r for f in files if not contract.is_full_load_file(f.name) for r in f.rows]
    cdc_rows.sort(key=lambda r: r[seq] or "")
    return load_rows + cdc_rows


def reconstruct(storage: Storage, table: str, key: str = "id") -> dict[str, Row]:
    """Apply a table's bronze rows in change order; returns key -> source columns."""
    contract = load_bronze_contract()
    meta = {contract.op_column, contract.timestamp_column_name, contract.change_seq_column}
    state: dict[str, Row] = {}
    for r in change_rows(storage, table):
        k = r[key]
        assert k is not None
        if r[contract.op_column] == contract.op_delete:
            state.pop(k, None)
        else:
            state[k] = {c: v for c, v in r.items() if c not in meta}
    return state


def _contract_text(type_name: str, v: str | None) -> str | None:
    if v is None:
        return None
    if type_name == "timestamptz":
        return datetime.fromisoformat(v).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if type_name == "bool":
        return {"t": "true", "f": "false", "true": "true", "false": "false"}[v]
    return v


def source_rows(dsn: str, table: str, key: str = "id", schema: str = "public") -> dict[str, Row]:
    """The source table as key -> column text in the contract's forms."""
    with psycopg.connect(dsn) as conn:
        conn.execute("set timezone = 'UTC'")
        cols = conn.execute(
            """
            select a.attname::text, t.typname::text from pg_attribute a
            join pg_type t on t.oid = a.atttypid
            where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped
            order by a.attnum
            """,
            (f"{schema}.{table}",),
        ).fetchall()
        query = sql.SQL("select {} from {}").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c, _ in cols),
            sql.Identifier(schema, table),
        )
        out: dict[str, Row] = {}
        for values in conn.execute(query).fetchall():
            row = {c: _contract_text(t, v) for (c, t), v in zip(cols, values, strict=True)}
            k = row[key]
            assert k is not None
            out[k] = row
    return out


def assert_reconstructs(storage: Storage, dsn: str, tables: list[str] | None = None) -> None:
    """Every table rebuilt from bronze equals the source, row for row, column for column."""
    for table in tables or load_declaration().names:
        expected = source_rows(dsn, table)
        actual = reconstruct(storage, table)
        assert actual.keys() == expected.keys(), (
            table,
            sorted(actual.keys() - expected.keys())[:5],
            sorted(expected.keys() - actual.keys())[:5],
        )
        for k, row in expected.items():
            assert actual[k] == row, (table, k)
