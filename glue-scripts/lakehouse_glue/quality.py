"""Data-quality rules generated from ``entities.json``: hard rules quarantine, soft rules report.

Hard rules (a violating change is quarantined with the reason and is NOT applied to silver):

* ``unreadable_file`` / ``unexpected_file`` / ``missing_header`` / ``malformed_header`` /
  ``missing_column``: the whole file is quarantined (a truncated gzip, a file that is not
  ``.csv.gz``, a header without a required column).
* ``malformed_row``: a CSV record with the wrong number of fields.
* ``unknown_op``: ``Op`` is not I, U or D.
* ``unparsable_value``: a value that does not parse as its declared type (decimal precision and
  scale, boolean, timestamp, date, uuid, JSON).
* ``not_null``: NULL in a column declared NOT NULL (for deletes only the key columns matter).
* ``accepted_values``: a value outside the declared ``accepted_values`` (after cleaning).
* ``non_negative``: a negative amount where the declaration says ``non_negative``.

Soft rules (computed over the final silver by ``publish_quality_report``, reported, never
removing rows, because the row is the source's truth and dropping it would make silver disagree
with PostgreSQL): primary key unique, declared ``unique`` columns, references within the same
tenant, order subtotal = sum of the items' line totals (orders not cancelled), order total =
subtotal - discount + tax + shipping.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import operator
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue.bronze import CORRUPT_COLUMN, FILE_RANK, ROW_ORDER, SOURCE_FILE, raw_columns
from lakehouse_glue.casting import timestamp_utc, typed_value
from lakehouse_glue.changes import CHANGE_SEQ, COMMITTED_AT, OP, TENANT_ID
from lakehouse_glue.model import BronzeContract, Declaration, Entity

FILE_RULES = (
    "unreadable_file",
    "unexpected_file",
    "missing_header",
    "malformed_header",
    "missing_column",
)
ROW_RULES = (
    "malformed_row",
    "unknown_op",
    "unparsable_value",
    "not_null",
    "accepted_values",
    "non_negative",
)
#: A batch whose entity's declared types the silver table cannot take (see iceberg.evolve).
SCHEMA_RULE = "incompatible_schema_change"
HARD_RULES = (*FILE_RULES, *ROW_RULES, SCHEMA_RULE)
#: What a hard rule judges: a whole file, a row, or the batch against the table's schema.
RULE_SCOPES = {**dict.fromkeys(FILE_RULES, "file"), SCHEMA_RULE: "table"}
VIOLATIONS = "_violations"
RAW_PREFIX = "raw__"
QUARANTINE_META = (
    "quarantine_rule",
    "quarantine_reason",
    "source_file",
    "raw_record",
    "quarantined_at",
)

Cleaner = Callable[[DataFrame], DataFrame]

#: Added to the reason of an empty field in a typed column: bronze written with the old
#: convention (NULL as an empty field, before ``csv_null_value`` became a marker).
OLD_NULL_HINT = (
    " (an empty field: NULL is written as the contract's csv_null_value marker; if this bronze "
    "was written with NULL as an empty field, rebuild it: 'lakehouse replicate --resync', then "
    "'lakehouse pipeline run --full-refresh')"
)


def _short(c: SparkColumn) -> SparkColumn:
    return F.coalesce(F.substring(c, 1, 120), F.lit("NULL"))


@dataclass(frozen=True)
class _Check:
    """A hard rule on one row: when it is broken, and the violation it then records."""

    broken: SparkColumn
    violation: SparkColumn


def _violation(cond: SparkColumn, rule: str, reason: SparkColumn) -> _Check:
    return _Check(cond, F.when(cond, F.struct(F.lit(rule).alias("rule"), reason.alias("reason"))))


#: The type of ``_violations``: one (rule, reason) per hard rule a row breaks.
VIOLATIONS_TYPE = "array<struct<rule:string,reason:string>>"


def _violations(checks: list[_Check]) -> SparkColumn:
    """The rules a row breaks, in the order of ``checks``; empty for a good row.

    Building the array needs a lambda (``filter``), which Spark evaluates row by row without
    generated code, and with it every check below it: that cost half of typing and checking a
    row. Nearly every row breaks no rule, so the array is only built for a row where one of the
    conditions (plain expressions, in generated code) holds; a NULL condition holds as little
    here as in its own ``when``.
    """
    broken = reduce(operator.or_, (c.broken for c in checks))
    every = F.filter(F.array(*[c.violation for c in checks]), lambda v: v.isNotNull())
    return F.when(broken, every).otherwise(F.array().cast(VIOLATIONS_TYPE))


def type_and_check(
    raw: DataFrame, entity: Entity, contract: BronzeContract, clean: Cleaner | None = None
) -> DataFrame:
    """Raw bronze rows -> typed, cleaned rows with a ``_violations`` array of hard-rule breaks.

    The result has the declared columns (typed), ``Op``, ``source_committed_at``,
    ``source_change_seq``, the raw strings as ``raw__<name>``, and the internal ordering
    columns. ``clean`` (the entity's cleaning rules) runs on the typed declared columns before the
    value rules, so accepted values are checked on normalised values.
    """
    names = raw_columns(entity, contract)
    op_raw = F.col(f"`{contract.op_column}`")
    ts_raw = F.col(f"`{contract.timestamp_column_name}`")
    typed_cols: list[SparkColumn] = []
    ok_cols: list[SparkColumn] = []
    for col in entity.columns:
        typed, parsed = typed_value(F.col(f"`{col.name}`"), col)
        typed_cols.append(typed.alias(col.name))
        ok_cols.append(parsed.alias(f"_ok__{col.name}"))
    ts = timestamp_utc(ts_raw)
    frame = raw.select(
        *[F.col(f"`{n}`").alias(RAW_PREFIX + n) for n in names],
        *typed_cols,
        *ok_cols,
        op_raw.alias(OP),
        ts.alias(COMMITTED_AT),
        (ts_raw.isNull() | ts.isNotNull()).alias(f"_ok__{COMMITTED_AT}"),
        F.col(f"`{contract.change_seq_column}`").alias(CHANGE_SEQ),
        F.col(CORRUPT_COLUMN),
        F.col(SOURCE_FILE),
        F.col(FILE_RANK),
        F.col(ROW_ORDER),
    )
    if clean is not None:
        frame = clean(frame)

    is_delete = F.coalesce(F.col(OP) == F.lit(contract.op_delete), F.lit(False))
    keys = {entity.primary_key, entity.tenant_column}
    checks: list[_Check] = [
        _violation(
            F.col(CORRUPT_COLUMN).isNotNull(),
            "malformed_row",
            F.concat(F.lit("row has the wrong number of fields: "), _short(F.col(CORRUPT_COLUMN))),
        ),
        _violation(
            ~F.coalesce(
                F.col(OP).isin(contract.op_insert, contract.op_update, contract.op_delete),
                F.lit(False),
            ),
            "unknown_op",
            F.concat(F.lit(f"{contract.op_column} is "), _short(F.col(OP))),
        ),
        _violation(
            ~F.col(f"_ok__{COMMITTED_AT}"),
            "unparsable_value",
            F.concat(
                F.lit(f"{contract.timestamp_column_name}: cannot parse "),
                _short(F.col(RAW_PREFIX + contract.timestamp_column_name)),
                F.lit(" as timestamp"),
            ),
        ),
        _violation(
            F.col(COMMITTED_AT).isNull() & F.col(f"_ok__{COMMITTED_AT}"),
            "not_null",
            F.lit(f"{contract.timestamp_column_name} is NULL"),
        ),
    ]
    for col in entity.columns:
        applies = F.lit(True) if col.name in keys else ~is_delete
        c = F.col(col.name)
        what = "JSON" if col.type == "json" else col.spark_type
        raw_value = F.col(RAW_PREFIX + col.name)
        checks.append(
            _violation(
                applies & ~F.col(f"_ok__{col.name}"),
                "unparsable_value",
                F.concat(
                    F.lit(f"{col.name}: cannot parse "),
                    _short(raw_value),
                    F.lit(f" as {what}"),
                    # An empty typed field is NULL in bronze written before NULL had a marker.
                    F.when(raw_value == F.lit(""), F.lit(OLD_NULL_HINT)).otherwise(F.lit("")),
                ),
            )
        )
        if not col.nullable or col.name in keys:
            checks.append(
                _violation(
                    applies & c.isNull() & F.col(f"_ok__{col.name}"),
                    "not_null",
                    F.lit(
                        f"{col.name} is NULL but declared NOT NULL (bronze NULL marker "
                        f"{contract.csv_null_value!r}; a source text equal to it is a collision, "
                        "see docs/bronze-contract.md)"
                    ),
                )
            )
        if col.accepted_values:
            allowed = ", ".join(col.accepted_values)
            checks.append(
                _violation(
                    applies & c.isNotNull() & ~c.isin(*col.accepted_values),
                    "accepted_values",
                    F.concat(F.lit(f"{col.name}: "), _short(c), F.lit(f" is not one of {allowed}")),
                )
            )
        if col.non_negative:
            checks.append(
                _violation(
                    applies & c.isNotNull() & (c < F.lit(0)),
                    "non_negative",
                    F.concat(F.lit(f"{col.name}: "), _short(c.cast("string")), F.lit(" < 0")),
                )
            )
    frame = frame.withColumn(VIOLATIONS, _violations(checks)).drop(
        *[f"_ok__{c.name}" for c in entity.columns], f"_ok__{COMMITTED_AT}"
    )
    return frame


def good_rows(checked: DataFrame) -> DataFrame:
    return checked.where(F.size(F.col(VIOLATIONS)) == 0)


def bad_rows(checked: DataFrame) -> DataFrame:
    return checked.where(F.size(F.col(VIOLATIONS)) > 0)


def quarantine_rows(
    checked_bad: DataFrame, entity: Entity, contract: BronzeContract, at: datetime
) -> DataFrame:
    """Bad rows in quarantine shape: raw strings + rule, reason, file, raw record, time."""
    names = raw_columns(entity, contract)
    return checked_bad.select(
        *[F.col(RAW_PREFIX + n).alias(n) for n in names],
        F.col(VIOLATIONS)[0]["rule"].alias("quarantine_rule"),
        F.concat_ws("; ", F.transform(F.col(VIOLATIONS), lambda v: v["reason"])).alias(
            "quarantine_reason"
        ),
        F.col(SOURCE_FILE).alias("source_file"),
        F.col(CORRUPT_COLUMN).alias("raw_record"),
        F.lit(at).cast("timestamp").alias("quarantined_at"),
    )


def file_quarantine_rows(
    spark: SparkSession,
    files: list[tuple[str, str, str]],
    entity: Entity,
    contract: BronzeContract,
    at: datetime,
) -> DataFrame:
    """One quarantine row per bad file ``(uri, rule, reason)``; raw columns are NULL."""
    names = raw_columns(entity, contract)
    schema = ", ".join(
        [f"`{n}` string" for n in names]
        + [
            "quarantine_rule string",
            "quarantine_reason string",
            "source_file string",
            "raw_record string",
            "quarantined_at timestamp",
        ]
    )
    rows = [(*([None] * len(names)), rule, reason, uri, None, at) for uri, rule, reason in files]
    return spark.createDataFrame(rows, schema)


def rule_counts(checked: DataFrame) -> dict[str, int]:
    """Rows breaking each hard row rule (a row breaking two rules counts for both)."""
    exploded = checked.select(
        F.explode(F.array_distinct(F.transform(F.col(VIOLATIONS), lambda v: v["rule"]))).alias(
            "rule"
        )
    )
    counts = {rule: 0 for rule in ROW_RULES}
    for row in exploded.groupBy("rule").count().collect():
        counts[str(row["rule"])] = int(row["count"])
    return counts


# --- soft rules over the final silver -------------------------------------------------------

#: How a rule's result is read from its facts (see :func:`soft_checks`): a violation per
#: value held by more than one fact, or per judged fact whose value has no target fact.
DUPLICATES, UNMATCHED = "duplicates", "unmatched"


@dataclass(frozen=True)
class Facts:
    """What a rule takes of ONE table's rows: a fact ``(tenant, value)`` per row.

    A judged fact is a row the rule judges; a target fact (``judged`` false) is a value a
    judged fact may match (the referenced keys). ``where``: only rows where it is true.
    """

    table: str
    rows: DataFrame  # the table's silver rows
    value: SparkColumn
    tenant: SparkColumn | None = None
    judged: bool = True
    where: SparkColumn | None = None


@dataclass(frozen=True)
class SoftRule:
    """One soft rule over silver, with its violating rows defined lazily (not yet evaluated).

    ``bad`` defines the rule row by row; ``facts`` and ``verdict`` say how
    :func:`soft_checks` counts the same answer from one pass over each table. A rule without
    facts is counted from ``bad``.
    """

    entity: str
    rule: str
    detail: str
    bad: DataFrame  # the violating rows; with ``counts_rows``, every key and its row count
    key: str  # the column that names a violating row in the examples
    inputs: tuple[str, ...]  # the tables the rule reads
    counts_rows: bool = False  # the primary key check, which also counts the table's rows
    facts: tuple[Facts, ...] = ()
    verdict: str = ""

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.entity, self.rule, self.detail)


#: How many example keys the report keeps per rule.
EXAMPLES = 5


def _key_rules(entity: Entity, df: DataFrame) -> list[SoftRule]:
    """The primary key and the declared unique columns of one table."""
    pk = entity.primary_key
    rules = [
        SoftRule(
            entity.name,
            "unique_key",
            f"{pk} is unique",
            df.groupBy(pk).count(),
            pk,
            (entity.name,),
            counts_rows=True,
            facts=(Facts(entity.name, df, F.col(pk)),),
            verdict=DUPLICATES,
        )
    ]
    for col in entity.columns:
        if col.unique:
            present = F.col(col.name).isNotNull()
            dup = df.where(present).groupBy(col.name).count().where(F.col("count") > 1)
            rules.append(
                SoftRule(
                    entity.name,
                    "unique",
                    f"{col.name} is unique",
                    dup,
                    col.name,
                    (entity.name,),
                    facts=(Facts(entity.name, df, F.col(col.name), where=present),),
                    verdict=DUPLICATES,
                )
            )
    return rules


def _reference_rule(
    entity: Entity, df: DataFrame, col_name: str, target_entity: Entity, ref: DataFrame
) -> SoftRule:
    """``col_name`` names a row of ``target_entity`` of the same tenant."""
    target_pk = target_entity.primary_key
    ref_keys = ref.select(F.col(TENANT_ID).alias("_ref_tenant"), F.col(target_pk).alias("_ref_id"))
    src = df.where(F.col(col_name).isNotNull())
    missing = src.join(
        ref_keys,
        (src[TENANT_ID] == ref_keys["_ref_tenant"]) & (src[col_name] == ref_keys["_ref_id"]),
        "left_anti",
    )
    # A target key with a NULL tenant or id matches nothing in the join: no target fact.
    target_present = F.col(TENANT_ID).isNotNull() & F.col(target_pk).isNotNull()
    return SoftRule(
        entity.name,
        "references",
        f"{col_name} -> {target_entity.name}.{target_pk} within the same tenant",
        missing,
        entity.primary_key,
        (entity.name, target_entity.name),
        facts=(
            Facts(
                entity.name,
                df,
                F.col(col_name),
                F.col(TENANT_ID),
                where=F.col(col_name).isNotNull(),
            ),
            Facts(
                target_entity.name,
                ref,
                F.col(target_pk),
                F.col(TENANT_ID),
                judged=False,
                where=target_present,
            ),
        ),
        verdict=UNMATCHED,
    )


def _order_rules(orders: DataFrame, items: DataFrame) -> list[SoftRule]:
    """An order's subtotal is its items' line totals; its total adds up."""
    sums = items.groupBy(F.col("order_id").alias("_oid"), F.col(TENANT_ID).alias("_tid")).agg(
        F.sum("line_total").alias("_items_total")
    )
    joined = orders.join(
        sums, (orders["id"] == sums["_oid"]) & (orders[TENANT_ID] == sums["_tid"]), "left"
    )
    wrong = joined.where(
        (F.col("status") != F.lit("cancelled"))
        & (F.col("subtotal") != F.coalesce(F.col("_items_total"), F.lit(0)))
    )
    formula = F.col("subtotal") - F.col("discount") + F.col("tax") + F.col("shipping")
    wrong_total = F.col("total") != formula
    return [
        # A comparison of each order with a sum over its items: counted from ``bad`` (a
        # join), not from facts.
        SoftRule(
            "orders",
            "order_subtotal",
            "subtotal = sum(order_items.line_total), not cancelled",
            wrong,
            "id",
            ("orders", "order_items"),
        ),
        SoftRule(
            "orders",
            "order_total",
            "total = subtotal - discount + tax + shipping",
            orders.where(wrong_total),
            "id",
            ("orders",),
            # One judged fact per violating order, none shared: no fact has a target.
            facts=(Facts("orders", orders, F.col("id"), where=wrong_total),),
            verdict=UNMATCHED,
        ),
    ]


def soft_rules(tables: dict[str, DataFrame], declaration: Declaration) -> list[SoftRule]:
    """Every soft rule that applies to the tables given (entity name -> silver DataFrame).

    Entities without a silver table are skipped; their references count as unchecked.
    """
    rules: list[SoftRule] = []
    for entity in declaration.entities:
        df = tables.get(entity.name)
        if df is None:
            continue
        rules.extend(_key_rules(entity, df))
        for col_name, target in entity.references.items():
            ref = tables.get(target)
            if ref is not None:
                rules.append(_reference_rule(entity, df, col_name, declaration.entity(target), ref))
    orders, items = tables.get("orders"), tables.get("order_items")
    if orders is not None and items is not None:
        rules.extend(_order_rules(orders, items))
    return rules


def _summary(index: int, rule: SoftRule) -> DataFrame:
    """One row for a rule: its index, violations, example keys and (key rule) the table rows."""
    key = F.col(rule.key).cast("string")
    if rule.counts_rows:
        dup = F.col("count") > 1
        return rule.bad.agg(
            F.lit(index).alias("_i"),
            F.count_if(dup).alias("n"),
            F.slice(F.collect_list(F.when(dup, key)), 1, EXAMPLES).alias("examples"),
            F.sum("count").cast("long").alias("rows"),
        )
    return rule.bad.agg(
        F.lit(index).alias("_i"),
        F.count(F.lit(1)).alias("n"),
        F.slice(F.collect_list(key), 1, EXAMPLES).alias("examples"),
        F.lit(None).cast("long").alias("rows"),
    )


def _hashed(c: SparkColumn, *salt: SparkColumn) -> SparkColumn:
    """A 64-bit hash of ``c`` (seeded by ``salt``), NULL where ``c`` is NULL."""
    return F.when(c.isNotNull(), F.xxhash64(*salt, c))


def _from_facts(todo: list[tuple[int, SoftRule]]) -> DataFrame | None:
    """The violations and row counts of the rules in ``todo`` that have facts, from ONE pass
    over each table they read (no examples: see :func:`soft_checks`).

    Every table's rows become the facts ``(rule, tenant, value, judged)`` of every rule (one
    ``stack``); all facts are grouped by ``(rule, tenant, value)`` (how many judged, how
    many targets), then by rule. A key held twice is a group of two judged facts; a reference
    without its row is a group with no target fact.

    The groups are keyed by hashes, not by the text: the tenant's 64-bit hash and two 64-bit
    hashes of the value (NULL kept NULL), a fixed-width key instead of two 36-character UUIDs.
    Equal values always share a group, so a duplicate is never missed and a count of zero
    duplicates is exact; a rule found broken is counted again from its own rows by
    :func:`soft_checks`, so a collision never shows in the report either. The only error left
    is a reference without its row whose tenant and 128-bit value hash both equal a target's
    (odds about 2^-128 per pair of values).
    """
    by_table: dict[str, tuple[DataFrame, list[SparkColumn]]] = {}
    verdicts: dict[int, SoftRule] = {}
    salt = F.lit(1)
    for i, rule in todo:
        if not rule.facts:
            continue
        verdicts[i] = rule
        for facts in rule.facts:
            # A fact outside ``where`` gets no rule (NULL) and is dropped after the stack.
            r = F.lit(i) if facts.where is None else F.when(facts.where, F.lit(i))
            value = facts.value.cast("string")
            by_table.setdefault(facts.table, (facts.rows, []))[1].extend(
                (
                    r,
                    F.lit(None).cast("long")
                    if facts.tenant is None
                    else _hashed(facts.tenant.cast("string")),
                    _hashed(value),
                    _hashed(value, salt),
                    F.lit(1 if facts.judged else 0),
                )
            )
    if not by_table:
        return None
    # ``stack`` makes a row's facts plain rows in generated code; an array of structs to
    # explode is built and read back field by field for every row.
    frames = [
        rows.select(F.stack(F.lit(len(facts) // 5), *facts).alias("r", "t", "v", "w", "s")).where(
            F.col("r").isNotNull()
        )
        for _, (rows, facts) in sorted(by_table.items(), key=lambda item: item[0])
    ]
    union = reduce(DataFrame.unionAll, frames)
    groups = union.groupBy("r", "t", "v", "w").agg(
        F.sum("s").alias("n"), F.count_if(F.col("s") == 0).alias("targets")
    )
    n = F.col("n")
    per_rule = groups.groupBy("r").agg(
        F.count_if(n > 1).alias("_dups"),
        F.sum(F.when((F.col("targets") == 0) & (n > 0), n)).alias("_unmatched"),
        F.sum(n).alias("_rows"),
    )
    dups = [i for i, rule in verdicts.items() if rule.verdict == DUPLICATES]
    counts_rows = [i for i, rule in verdicts.items() if rule.counts_rows]
    return per_rule.select(
        F.col("r").alias("_i"),
        F.when(F.col("r").isin(dups), F.col("_dups")).otherwise(F.col("_unmatched")).alias("n"),
        F.array().cast("array<string>").alias("examples"),
        F.when(F.col("r").isin(counts_rows), F.col("_rows")).cast("long").alias("rows"),
    )


@dataclass(frozen=True)
class EarlierChecks:
    """Soft-rule results of an earlier report that still hold for the tables left unchanged."""

    results: dict[tuple[str, str, str], dict[str, Any]]  # (entity, rule, detail) -> result
    rows: dict[str, int]  # silver rows per entity
    unchanged: frozenset[str]  # entities whose silver has not changed since


def rules_version(rules: list[SoftRule]) -> str:
    """Changes whenever the soft rules may give other answers: their code or their list."""
    idents = sorted(r.ident for r in rules)
    text = inspect.getsource(sys.modules[__name__]) + json.dumps(idents)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _collect(
    frames: list[DataFrame],
) -> dict[int, tuple[int, list[str], int | None]]:
    """Collect ``_summary``-shaped frames as one union: rule index -> (n, examples, rows)."""
    found: dict[int, tuple[int, list[str], int | None]] = {}
    if not frames:
        return found
    for row in reduce(DataFrame.union, frames).collect():
        rows = row["rows"]
        found[int(row["_i"])] = (
            int(row["n"] or 0),
            sorted(row["examples"] or []),
            None if rows is None else int(rows),
        )
    return found


def soft_checks(
    rules: list[SoftRule],
    earlier: EarlierChecks | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Evaluate the rules of :func:`soft_rules` and count the rows of their tables.

    Returns the rule results and the rows of each table. A rule whose every input table is in
    ``earlier.unchanged`` keeps its earlier result (marked ``"reused": true``): the rules are
    pure functions of the tables they read.

    Everything else is evaluated in ONE Spark query: the rules with facts from one pass over
    each table (:func:`_from_facts`), the others from their own rows (``bad``). A rule with
    facts found broken there is then counted again, with its examples, from its own rows (a
    second query, only then): the facts are grouped by hashes of their values, which never
    hide a duplicate but could merge two values. The tests compare this with every rule
    counted from its own rows, one pass per rule (the rules' plain definition,
    ``tests/support/soft_rules.py``).
    """

    def kept(rule: SoftRule) -> dict[str, Any] | None:
        if earlier is None or not set(rule.inputs) <= earlier.unchanged:
            return None
        if rule.counts_rows and rule.entity not in earlier.rows:
            return None
        return earlier.results.get(rule.ident)

    todo = [(i, rule) for i, rule in enumerate(rules) if kept(rule) is None]
    frames: list[DataFrame] = []
    by_facts = _from_facts(todo)
    if by_facts is not None:
        frames.append(by_facts)
    frames.extend(_summary(i, rule) for i, rule in todo if by_facts is None or not rule.facts)
    found = _collect(frames)
    if by_facts is not None:
        # Rules found broken: their exact count and example keys, from their own rows.
        found.update(
            _collect(
                [_summary(i, rule) for i, rule in todo if rule.facts and found.get(i, (0,))[0] > 0]
            )
        )
    results: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for i, rule in enumerate(rules):
        previous = kept(rule)
        if previous is not None:
            assert earlier is not None
            results.append({**previous, "reused": True})
            if rule.counts_rows:
                counts[rule.entity] = earlier.rows[rule.entity]
            continue
        n, examples, rows = found.get(i, (0, [], None))
        results.append(
            {
                "entity": rule.entity,
                "rule": rule.rule,
                "severity": "soft",
                "detail": rule.detail,
                "violations": n,
                "examples": examples,
                "reused": False,
            }
        )
        if rule.counts_rows:
            counts[rule.entity] = rows or 0
    return results, counts
