"""The batch's keys named in a ``MERGE``'s join (:func:`lakehouse_glue.changes.key_filter`)."""

from __future__ import annotations

from dataclasses import replace

from lakehouse_glue.changes import filterable_key, key_filter
from lakehouse_glue.model import load_declaration
from pyspark.sql import SparkSession

CUSTOMERS = load_declaration().entity("customers")


def test_the_key_filter_keeps_exactly_the_named_keys_whatever_they_spell(
    spark: SparkSession,
) -> None:
    odd = ["it's", "back\\slash", "tail\\", "a'b\\'c", "ünïcode", "plain"]
    others = ["its", "back\\\\slash", "tail", "a'b'c", "unicode", "plain "]
    rows = spark.createDataFrame([(k,) for k in odd + others], "id string")
    condition = key_filter(CUSTOMERS, [*odd, "plain"], alias=None)
    assert condition is not None
    kept = {r.id for r in rows.where(condition).collect()}
    assert kept == set(odd)
    aliased = key_filter(CUSTOMERS, odd)
    assert aliased is not None
    assert aliased.startswith("t.`id` in (")


def test_only_a_text_key_can_be_named() -> None:
    assert filterable_key(CUSTOMERS)
    numeric = replace(
        CUSTOMERS,
        columns=tuple(
            replace(c, type="bigint") if c.name == CUSTOMERS.primary_key else c
            for c in CUSTOMERS.columns
        ),
    )
    assert not filterable_key(numeric)
    assert key_filter(numeric, ["1"]) is None
