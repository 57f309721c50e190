"""Random tenant queries built with sqlglot: every row they return belongs to the tenant.

Joins, subqueries (in FROM and in WHERE), CTEs (nested, shadowing a catalog table's name) and
set operations over the real test lake, with filters that name other tenants' ids. A seeded
generator makes the same few hundred queries every run.
"""

from __future__ import annotations

import random

import pytest
from sqlglot import exp

from lakehouse.athena.engine import AthenaEngine
from tests.support.lake import Lake

TABLES = ("customers", "orders", "order_items", "products", "events", "invoices", "subscriptions")
QUERIES = 300


class Generator:
    """Queries whose only output column is ``tenant_id``."""

    def __init__(self, rng: random.Random, tenant_ids: list[str]) -> None:
        self.rng = rng
        self.tenant_ids = tenant_ids
        self.ctes = 0

    def table(self) -> exp.Expr:
        database = self.rng.choice(("silver", "silver", "bronze"))
        return exp.to_table(f"{database}.{self.rng.choice(TABLES)}")

    def condition(self, column: str) -> exp.Expr:
        other = self.rng.choice(self.tenant_ids)
        kind = self.rng.randrange(4)
        if kind == 0:
            return exp.condition(f"{column} = '{other}'")
        if kind == 1:
            return exp.condition(f"{column} <> '{other}'")
        if kind == 2:
            ids = ", ".join(f"'{t}'" for t in self.tenant_ids)
            return exp.condition(f"{column} in ({ids}) or 1 = 1")
        return exp.condition(f"{column} is not null")

    def source(self, depth: int) -> exp.Expr:
        """A FROM item with a ``tenant_id`` column: a table or a derived query."""
        if depth <= 0 or self.rng.random() < 0.5:
            return self.table()
        return self.query(depth - 1).subquery(f"s{self.rng.randrange(10**6)}")

    def query(self, depth: int) -> exp.Query:
        shape = self.rng.choice(("plain", "join", "where_in", "cte", "set"))
        if depth <= 0:
            shape = "plain"
        if shape == "join":
            left, right = (self._aliased(self.source(depth - 1), name) for name in "ab")
            q = (
                exp.select("a.tenant_id")
                .from_(left)
                .join(
                    right,
                    on="a.tenant_id = b.tenant_id",
                    join_type=self.rng.choice(("", "left", "inner")) or None,
                )
            )
        elif shape == "where_in":
            inner = self.query(depth - 1)
            q = (
                exp.select("tenant_id")
                .from_(self.table())
                .where(exp.condition("tenant_id").isin(query=inner))
            )
        elif shape == "cte":
            self.ctes += 1
            # Sometimes the CTE shadows a catalog table's bare name.
            name = self.rng.choice((f"c{self.ctes}", "orders", "customers"))
            body = self.query(depth - 1)
            q = exp.select("tenant_id").from_(name).with_(name, as_=body)
        elif shape == "set":
            op = self.rng.choice((exp.union, exp.intersect, exp.except_))
            left, right = (
                exp.select("tenant_id").from_(self.query(depth - 1).subquery(f"o{i}"))
                for i in range(2)
            )
            q = op(left, right, distinct=self.rng.random() < 0.5)
            return exp.select("tenant_id").from_(q.subquery("u"))
        else:
            q = exp.select("tenant_id").from_(self.source(depth))
        if self.rng.random() < 0.5 and isinstance(q, exp.Select):
            q = q.where(self.condition(self._column(q)))
        return q.limit(200) if self.rng.random() < 0.3 else q

    @staticmethod
    def _column(q: exp.Select) -> str:
        first = q.expressions[0]
        return first.sql() if isinstance(first, exp.Column) else "tenant_id"

    @staticmethod
    def _aliased(source: exp.Expr, alias: str) -> exp.Expr:
        if isinstance(source, exp.Table):
            return source.as_(alias)
        source.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        return source


@pytest.mark.parametrize("tenant", ["acme", "initech"])
def test_generated_queries_return_only_the_tenants_rows(athena_lake: Lake, tenant: str) -> None:
    ids = sorted(athena_lake.tenant_ids.values())
    me = athena_lake.tenant_ids[tenant]
    gen = Generator(random.Random(f"isolation-{tenant}"), ids)
    queries = [gen.query(depth=3).sql(dialect="athena") for _ in range(QUERIES // 2)]
    with_rows = 0
    with AthenaEngine(athena_lake.settings, tenant=tenant, save_results=False) as engine:
        # One call: every query in one locked session (one copy of the tenant's rows).
        results = engine.execute(";\n".join(queries))
    assert len(results) == len(queries)
    for sql, result in zip(queries, results, strict=True):
        assert result.columns == ("tenant_id",), sql
        assert {row[0] for row in result.rows} <= {me}, sql
        with_rows += bool(result.rows)
    # The queries are not vacuous: most return rows.
    assert with_rows > len(queries) // 3
