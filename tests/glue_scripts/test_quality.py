"""Soft rules over silver and the change application on small DataFrames."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lakehouse_glue import quality
from lakehouse_glue.changes import apply_changes
from lakehouse_glue.model import load_declaration
from lakehouse_glue.quality import EarlierChecks, soft_checks, soft_rules
from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from tests.support.soft_rules import per_rule_checks
from tests.support.spark import assert_frames_equal

DECL = load_declaration()
T1, T2 = "t1", "t2"


def test_references_are_checked_within_the_same_tenant(spark: SparkSession) -> None:
    # c1 twice: silver must never hold a key twice, and the report must say so if it does.
    customers = spark.createDataFrame(
        [("c1", T1), ("c2", T2), ("c1", T1)], "id string, tenant_id string"
    )
    # o2 points at a customer of another tenant; o3 at no customer at all.
    orders = spark.createDataFrame(
        [
            (
                "o1",
                T1,
                "c1",
                "paid",
                Decimal("10.00"),
                Decimal("0"),
                Decimal("1.00"),
                Decimal("0"),
                Decimal("11.00"),
            ),
            (
                "o2",
                T1,
                "c2",
                "paid",
                Decimal("5.00"),
                Decimal("0"),
                Decimal("0"),
                Decimal("0"),
                Decimal("5.00"),
            ),
            (
                "o3",
                T2,
                "cx",
                "cancelled",
                Decimal("7.00"),
                Decimal("0"),
                Decimal("0"),
                Decimal("0"),
                Decimal("9.00"),
            ),
        ],
        "id string, tenant_id string, customer_id string, status string, subtotal decimal(12,2),"
        " discount decimal(12,2), tax decimal(12,2), shipping decimal(12,2), total decimal(12,2)",
    )
    items = spark.createDataFrame(
        [
            ("i1", T1, "o1", Decimal("4.00")),
            ("i2", T1, "o1", Decimal("6.00")),
            ("i3", T1, "o2", Decimal("4.99")),
        ],
        "id string, tenant_id string, order_id string, line_total decimal(12,2)",
    )
    results, rows = soft_checks(
        soft_rules({"customers": customers, "orders": orders, "order_items": items}, DECL)
    )
    assert rows == {"customers": 3, "orders": 3, "order_items": 3}
    got = {
        (r["entity"], r["rule"], r["detail"].split(" ")[0]): (r["violations"], r["examples"])
        for r in results
    }
    assert got[("orders", "references", "customer_id")] == (2, ["o2", "o3"])
    assert got[("order_items", "references", "order_id")] == (0, [])
    # o2: 5.00 vs 4.99; o3 is cancelled so its missing items do not count.
    assert got[("orders", "order_subtotal", "subtotal")] == (1, ["o2"])
    assert got[("orders", "order_total", "total")] == (1, ["o3"])
    assert got[("orders", "unique_key", "id")] == (0, [])
    assert got[("customers", "unique_key", "id")] == (1, ["c1"])


def test_rules_over_unchanged_tables_keep_their_earlier_result(spark: SparkSession) -> None:
    customers = spark.createDataFrame([("c1", T1), ("c1", T1)], "id string, tenant_id string")
    orders = spark.createDataFrame(
        [("o1", T1, "c1", "paid", *[Decimal(v) for v in ("10", "0", "0", "0", "10")])],
        "id string, tenant_id string, customer_id string, status string, subtotal decimal(12,2),"
        " discount decimal(12,2), tax decimal(12,2), shipping decimal(12,2), total decimal(12,2)",
    )
    tables = {"customers": customers, "orders": orders}
    rules = soft_rules(tables, DECL)
    first, rows = soft_checks(rules)
    assert not any(r["reused"] for r in first)
    by_id = {(r["entity"], r["rule"], r["detail"]): r for r in first}
    key = ("customers", "unique_key", "id is unique")
    assert by_id[key]["violations"] == 1
    # Plant a result that only reuse could produce: 99 duplicates, 500 rows.
    planted = {**by_id, key: {**by_id[key], "violations": 99}}
    earlier = EarlierChecks(planted, {**rows, "customers": 500}, frozenset({"customers"}))
    again, rows_again = soft_checks(rules, earlier)
    got = {(r["entity"], r["rule"], r["detail"]): r for r in again}
    assert got[key]["violations"] == 99
    assert got[key]["reused"] is True
    assert rows_again["customers"] == 500
    # orders changed: its rules, and the reference that reads both tables, are evaluated.
    ref = ("orders", "references", "customer_id -> customers.id within the same tenant")
    assert got[ref]["reused"] is False
    assert got[("orders", "unique_key", "id is unique")]["reused"] is False
    assert rows_again["orders"] == 1
    # Nothing unchanged: everything is evaluated again, the plant is gone.
    fresh, fresh_rows = soft_checks(rules, EarlierChecks(planted, rows, frozenset()))
    assert {(r["entity"], r["rule"], r["detail"]): r["violations"] for r in fresh}[key] == 1
    assert fresh_rows == {"customers": 2, "orders": 1}


def test_apply_changes_last_wins_and_deletes_remove(spark: SparkSession) -> None:
    entity = DECL.entity("tenants")
    cols = ", ".join(f"`{c.name}` {c.spark_type}" for c in entity.columns)
    lineage = (
        "tenant_id string, source_committed_at timestamp, source_change_seq string, "
        "processed_at timestamp"
    )
    internal = "Op string, _file_rank int, _source_file string, _row_order long"

    def row(tid: str, name: str, op: str, seq: str | None, rank: int, f: str, pos: int) -> tuple:  # type: ignore[type-arg]
        values = [tid, name, "s-" + tid, "free", "DE", True, "{}", None, None]
        return (*values, tid, None, seq, None, op, rank, f, pos)

    changes = spark.createDataFrame(
        [
            row("a", "load", "I", None, 0, "LOAD00000001.csv.gz", 0),
            row("a", "later", "U", "2".zfill(35), 1, "x.csv.gz", 0),
            row("a", "earlier", "U", "1".zfill(35), 1, "y.csv.gz", 5),
            row("b", "load", "I", None, 0, "LOAD00000001.csv.gz", 1),
            row("b", "gone", "D", "3".zfill(35), 1, "x.csv.gz", 1),
            row("c", "first", "I", "4".zfill(35), 1, "z.csv.gz", 0),
        ],
        f"{cols}, {lineage}, {internal}",
    )
    got = apply_changes(changes, None, entity).select("id", "name", "source_change_seq")
    expected = spark.createDataFrame(
        [("a", "later", "2".zfill(35)), ("c", "first", "4".zfill(35))],
        "id string, name string, source_change_seq string",
    )
    assert_frames_equal(got, expected)


def test_one_pass_per_table_gives_the_answer_of_each_rule_on_its_own(spark: SparkSession) -> None:
    """Every soft rule counted from one pass over each table equals the rule's own definition
    (``bad``, one pass per rule), on tables that break every rule in its corner cases: keys
    held twice and NULL, a duplicate slug, references to another tenant, to nothing, from a
    NULL tenant, and a NULL reference (not a violation)."""
    money = "decimal(12,2)"
    tenants = spark.createDataFrame(
        [(T1, T1, "a"), (T2, T2, "a"), ("t3", "t3", None), ("t4", "t4", None)],
        "id string, tenant_id string, slug string",
    )
    customers = spark.createDataFrame(
        [("c1", T1), ("c1", T1), ("c2", T2), (None, T1), ("c4", None), ("c5", "tx")],
        "id string, tenant_id string",
    )
    d = Decimal
    orders = spark.createDataFrame(
        [
            ("o1", T1, "c1", "paid", d("10"), d("0"), d("1"), d("0"), d("11")),
            ("o2", T1, "c2", "paid", d("5"), d("0"), d("0"), d("0"), d("6")),  # other tenant
            ("o3", T2, "cx", "cancelled", d("7"), d("0"), d("0"), d("0"), d("7")),  # nobody
            ("o4", T2, None, "paid", d("0"), d("0"), d("0"), d("0"), d("0")),  # NULL: fine
            ("o5", None, "c1", "paid", None, d("0"), d("0"), d("0"), d("1")),  # NULL tenant
            ("o5", T1, "c1", "paid", d("3"), d("1"), d("0"), d("0"), d("2")),  # key twice
        ],
        "id string, tenant_id string, customer_id string, status string, "
        f"subtotal {money}, discount {money}, tax {money}, shipping {money}, total {money}",
    )
    items = spark.createDataFrame(
        [
            ("i1", T1, "o1", d("10")),
            ("i2", T2, "o1", d("1")),  # o1 of another tenant
            ("i3", T1, "o5", d("3")),
            ("i3", T1, None, d("1")),
        ],
        f"id string, tenant_id string, order_id string, line_total {money}",
    )
    tables = {"tenants": tenants, "customers": customers, "orders": orders, "order_items": items}
    rules = soft_rules(tables, DECL)
    assert sum(1 for r in rules if r.facts) >= len(rules) - 1  # all but the subtotal rule
    one_pass, rows = soft_checks(rules)
    plain, plain_rows = per_rule_checks(rules)
    assert len(one_pass) == len(rules)
    assert {
        (r["entity"], r["rule"], r["detail"]): (r["violations"], r["examples"]) for r in one_pass
    } == plain
    assert rows == plain_rows == {"tenants": 4, "customers": 6, "orders": 6, "order_items": 4}
    got = {(r["entity"], r["rule"], r["detail"].split(" ")[0]): r for r in one_pass}

    def result(entity: str, rule: str, column: str) -> tuple[int, list[str]]:
        r = got[(entity, rule, column)]
        return r["violations"], r["examples"]

    assert result("tenants", "unique", "slug") == (1, ["a"])
    assert result("customers", "unique_key", "id") == (1, ["c1"])
    assert result("orders", "unique_key", "id") == (1, ["o5"])
    assert result("order_items", "unique_key", "id") == (1, ["i3"])
    # c2 of another tenant, cx of nobody, c1 from a NULL tenant; c5's tenant is unknown, c4's
    # NULL tenant references nothing (NOT NULL is a hard rule of silver).
    assert result("orders", "references", "customer_id") == (3, ["o2", "o3", "o5"])
    assert result("customers", "references", "tenant_id") == (1, ["c5"])
    assert result("order_items", "references", "order_id") == (1, ["i2"])
    # o5's NULL subtotal compares as nothing, like in the rule's own SQL.
    assert result("orders", "order_total", "total") == (1, ["o2"])
    assert result("orders", "order_subtotal", "subtotal") == (1, ["o2"])


def test_facts_grouped_by_hashes_never_put_a_merged_value_in_the_report(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-pass count groups facts by hashes of their values. With a hash under which
    every value collides, each key rule sees false duplicates there; the report must still
    give each rule's own answer (counted again from its rows), and the table rows."""
    customers = spark.createDataFrame(
        [("c1", T1), ("c1", T1), ("c2", T2), (None, T1), (None, T2)],
        "id string, tenant_id string",
    )
    products = spark.createDataFrame([("p1", T1), ("p2", T2)], "id string, tenant_id string")
    tenants = spark.createDataFrame(
        [(T1, T1, "a"), (T2, T2, "b")], "id string, tenant_id string, slug string"
    )
    tables = {"tenants": tenants, "customers": customers, "products": products}
    rules = soft_rules(tables, DECL)
    plain, plain_rows = per_rule_checks(rules)
    monkeypatch.setattr(
        quality, "_hashed", lambda c, *salt: F.when(c.isNotNull(), F.lit(7).cast("long"))
    )
    merged, rows = soft_checks(rules)
    got = {(r["entity"], r["rule"], r["detail"]): (r["violations"], r["examples"]) for r in merged}
    keys = [r.ident for r in rules if r.verdict == quality.DUPLICATES]
    assert len(keys) == 4  # three primary keys and the slug
    assert {k: got[k] for k in keys} == {k: plain[k] for k in keys}
    assert got[("customers", "unique_key", "id is unique")] == (2, ["c1"])
    assert got[("products", "unique_key", "id is unique")] == (0, [])
    assert rows == plain_rows == {"tenants": 2, "customers": 5, "products": 2}
