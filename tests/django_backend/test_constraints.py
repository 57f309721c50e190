"""The CHECK and UNIQUE constraints PostgreSQL enforces are the rules ``entities.json`` declares.

Accepted values and non-negative amounts are written by hand in the Django models (and so in the
migrations); this compares what the database really holds (``pg_constraint``) with the
declaration, both ways: a declared rule the database does not enforce, or a check the
declaration does not know, fails.
"""

from __future__ import annotations

import re

import psycopg
from lakehouse_glue.model import load_declaration

# Checks between columns (e.g. an order's total = subtotal - discount + tax + shipping) are
# described in the entities' prose, not as rules; they are named here so that a new one is seen.
CROSS_COLUMN_CHECKS = {
    ("invoices", ("due_at", "issued_at")),
    ("invoices", ("order_id", "subscription_id")),
    ("invoices", ("paid_at", "status")),
    ("order_items", ("discount", "line_total", "quantity", "unit_price")),
    ("orders", ("cancelled_at", "status")),
    ("orders", ("completed_at", "status")),
    ("orders", ("discount", "shipping", "subtotal", "tax", "total")),
    ("orders", ("paid_at", "status")),
    ("orders", ("refunded_at", "status")),
    ("orders", ("shipped_at", "status")),
    ("subscriptions", ("cancelled_at", "status")),
    ("subscriptions", ("status", "trial_ends_at")),
}

#: Keys unique within a tenant (columns sorted): the business keys the entities' prose names, and
#: (id, tenant_id), the target of the same-tenant foreign keys. Named here so that a new one is
#: seen; a single-column unique key must be declared ``unique`` in entities.json instead.
TENANT_KEYS = {
    ("customers", ("email", "tenant_id")),
    ("customers", ("id", "tenant_id")),
    ("invoices", ("invoice_number", "tenant_id")),
    ("orders", ("id", "tenant_id")),
    ("orders", ("order_number", "tenant_id")),
    ("products", ("id", "tenant_id")),
    ("products", ("sku", "tenant_id")),
    ("subscriptions", ("id", "tenant_id")),
}

Rule = tuple[str, str, str, tuple[str, ...]]  # (table, column, kind, accepted values)

_LITERAL = re.compile(r"'((?:[^']|'')*)'::")
# e.g. CHECK (((price >= (0)::numeric) OR (price IS NULL))) or CHECK ((quantity >= 0))
_NON_NEGATIVE = re.compile(r"^CHECK \(+(\w+) >= \(?0\)?(::numeric)?\)( OR \(\1 IS NULL\))?\)+$")


def _rule(table: str, columns: list[str], definition: str) -> Rule:
    if (m := _NON_NEGATIVE.match(definition)) and m.group(1) == columns[0]:
        return (table, columns[0], "non_negative", ())
    assert "= ANY (" in definition, f"{table}: unrecognised check {definition}"
    values = tuple(sorted(v.replace("''", "'") for v in _LITERAL.findall(definition)))
    return (table, columns[0], "accepted_values", values)


def _database_rules(dsn: str, tables: list[str]) -> set[Rule]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            select c.relname,
                   array(select a.attname from unnest(k.conkey) as u(n)
                         join pg_attribute a on a.attrelid = c.oid and a.attnum = u.n),
                   pg_get_constraintdef(k.oid)
            from pg_constraint k
            join pg_class c on c.oid = k.conrelid
            join pg_namespace n on n.oid = c.relnamespace
            where k.contype = 'c' and n.nspname = 'public' and c.relname = any(%s)
            """,
            (tables,),
        ).fetchall()
    multi = {(t, tuple(sorted(c))) for t, c, _ in rows if len(c) > 1}
    assert multi == CROSS_COLUMN_CHECKS, multi
    return {
        _rule(table, list(columns), definition)
        for table, columns, definition in rows
        if len(columns) == 1
    }


def _declared_rules() -> set[Rule]:
    rules: set[Rule] = set()
    for entity in load_declaration().entities:
        for c in entity.columns:
            if c.non_negative:
                rules.add((entity.name, c.name, "non_negative", ()))
            if c.accepted_values is not None:
                rules.add(
                    (entity.name, c.name, "accepted_values", tuple(sorted(c.accepted_values)))
                )
    return rules


def test_check_constraints_equal_the_declared_rules(source_db: str) -> None:
    declared = _declared_rules()
    assert len(declared) > 15  # the declaration has both kinds of rule on several tables
    found = _database_rules(source_db, list(load_declaration().names))
    assert sorted(found - declared) == [], (
        "checks in PostgreSQL that entities.json does not declare"
    )
    assert sorted(declared - found) == [], "rules in entities.json that PostgreSQL does not enforce"


def _unique_keys(dsn: str, tables: list[str]) -> set[tuple[str, tuple[str, ...]]]:
    """(table, columns) of every UNIQUE constraint and unique index but the primary keys."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            select c.relname,
                   array(select a.attname from unnest(i.indkey) as u(n)
                         join pg_attribute a on a.attrelid = c.oid and a.attnum = u.n)
            from pg_index i
            join pg_class c on c.oid = i.indrelid
            join pg_namespace n on n.oid = c.relnamespace
            where i.indisunique and not i.indisprimary
              and n.nspname = 'public' and c.relname = any(%s)
            """,
            (tables,),
        ).fetchall()
    return {(table, tuple(sorted(columns))) for table, columns in rows}


def test_unique_constraints_equal_the_declared_unique_columns(source_db: str) -> None:
    """A column declared ``unique`` is unique in PostgreSQL, and a single-column unique key
    there is declared; keys within a tenant (tenant_id plus columns) are named here."""
    found = _unique_keys(source_db, list(load_declaration().names))
    declared = {
        (entity.name, (c.name,))
        for entity in load_declaration().entities
        for c in entity.columns
        if c.unique
    }
    assert declared  # the declaration has unique columns
    assert {k for k in found if len(k[1]) == 1} == declared
    assert {k for k in found if len(k[1]) > 1} == TENANT_KEYS
