"""Athena (Trino) SQL to DuckDB SQL that gives Trino's answer, or a refusal naming what is missing.

The tree is qualified and typed with sqlglot's optimizer against the catalog's schema, then every
node is rewritten bottom-up (children first, lambda bodies with their parameters typed) where
DuckDB's meaning differs from Trino's:

- ``/`` of two integers truncates (``7 / 2`` is 3); decimal ``/`` is exact, rounded half up to
  Trino's scale; ``+ - * %`` of decimals give Trino's precision and scale;
- a date plus a day, month or year interval (and ``date_add``, ``date_trunc``) stays a date;
- functions are looked up in :data:`lakehouse.athena.trino.functions.FUNCTIONS` by their Trino
  name: a function that is not there is refused with ``FUNCTION_NOT_FOUND`` naming it, a construct
  the local engine cannot reproduce exactly with ``NOT_SUPPORTED`` naming it (zones other than
  UTC, Java-only regular expression syntax, ...);
- ``typeof`` is answered from the inferred type; intervals in the output are printed as Athena
  prints them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, OptimizeError, SqlglotError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify_columns import qualify_columns
from sqlglot.optimizer.qualify_tables import qualify_tables
from sqlglot.schema import MappingSchema

from lakehouse.athena.trino import types as ty
from lakehouse.errors import LakehouseError

READ_DIALECT = "athena"
_DUCKDB = Dialect.get_or_raise("duckdb")
_ATHENA = Dialect.get_or_raise(READ_DIALECT)


class TranslationRefusedError(LakehouseError):
    """The local engine cannot give Athena's answer; ``code`` is the Athena error name."""

    def __init__(self, code: str, function: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.function = function


def refuse(function: str, why: str, code: str = "NOT_SUPPORTED") -> TranslationRefusedError:
    return TranslationRefusedError(code, function, f"{function}: {why}")


Rule = Callable[["Translator", exp.Expr], exp.Expr | None]


@dataclass
class Translator:
    """One translation: the lambda parameters in scope and the rules to apply."""

    rules: dict[str, Rule]
    names: Callable[[exp.Expr], str | None]
    node_rules: dict[type[exp.Expr], Rule] = field(default_factory=dict)
    lambda_env: list[dict[str, exp.DataType]] = field(default_factory=list)

    # -- traversal ----------------------------------------------------------------------------

    def visit(self, node: exp.Expr) -> exp.Expr:
        for child in _children_sources_first(node):
            if isinstance(child, exp.Lambda):
                continue  # typed and visited by the function that owns it
            self.visit(child)
        return self.rewrite(node)

    def visit_lambda(self, lam: exp.Expr, params: list[exp.DataType]) -> exp.Expr:
        """Type ``lam``'s parameters with ``params`` and translate its body."""
        if not isinstance(lam, exp.Lambda):
            return lam
        names = [p.name.lower() for p in lam.expressions]
        self.lambda_env.append(dict(zip(names, params + [ty.UNKNOWN] * len(names), strict=False)))
        try:
            body = self.visit(lam.this)
        finally:
            self.lambda_env.pop()
        lam.set("this", body)
        lam.type = ty.type_of(body)
        return lam

    def visit_lambdas_untyped(self, node: exp.Expr) -> None:
        for child in list(node.iter_expressions()):
            if isinstance(child, exp.Lambda):
                self.visit_lambda(child, [])

    def lambda_param_type(self, ref: exp.Expr) -> exp.DataType | None:
        if not is_lambda_ref(ref):
            return None
        for env in reversed(self.lambda_env):
            if ref.name.lower() in env:
                return env[ref.name.lower()]
        return None

    # -- rewriting ----------------------------------------------------------------------------

    def rewrite(self, node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column | exp.Identifier):
            t = self.lambda_param_type(node)
            if t is None and isinstance(node, exp.Column):
                t = source_column_type(node)
            if t is not None and ty.is_known(t):
                node.type = t
            return node
        if isinstance(node, exp.Func) and not isinstance(node, _OPERATOR_FUNCS):
            name = self.names(node)
            if name is None:
                return node  # an operator (AND, OR, ...) that sqlglot models as a function
            rule = self.rules.get(name)
            if rule is None:
                raise TranslationRefusedError(
                    "FUNCTION_NOT_FOUND",
                    name,
                    f"function {name} is not supported by the local engine (it has no "
                    "implementation that gives Athena's answer); run this query on Athena",
                )
            self.visit_lambdas_untyped(node) if not _has_lambda_rule(rule) else None
            replacement = rule(self, node)
            if replacement is not None and replacement is not node:
                node.replace(replacement)
                return replacement
            return node
        handler = self.node_rules.get(type(node)) or _NODE_RULES.get(type(node))
        if handler is not None:
            replacement = handler(self, node)
            if replacement is not None and replacement is not node:
                node.replace(replacement)
                return replacement
        return node


_SOURCE_KEYS = ("with", "with_", "from", "from_", "joins", "laterals")


def _children_sources_first(node: exp.Expr) -> list[exp.Expr]:
    """Children in evaluation order: a SELECT's sources before the expressions that read them."""
    children = list(node.iter_expressions())
    if not isinstance(node, exp.Select):
        return children
    first = [c for c in children if c.arg_key in _SOURCE_KEYS]
    return first + [c for c in children if c.arg_key not in _SOURCE_KEYS]


def _projection_type(query: exp.Expr, name: str) -> exp.DataType | None:
    while isinstance(query, exp.SetOperation | exp.Subquery):
        query = query.this
    if not isinstance(query, exp.Select):
        return None
    for projection in query.expressions:
        if projection.alias_or_name.lower() == name:
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            return ty.type_of(inner)
    return None


def source_column_type(column: exp.Column) -> exp.DataType | None:
    """The translated type of a column of a subquery, CTE or VALUES in the same scope."""
    select = column.find_ancestor(exp.Select)
    if select is None or not column.table:
        return None
    sources: list[exp.Expr] = []
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is not None:
        sources.append(from_.this)
    sources.extend(j.this for j in select.args.get("joins") or [])
    name = column.name.lower()
    for source in sources:
        if source.alias_or_name.lower() != column.table.lower():
            continue
        if isinstance(source, exp.Subquery):
            inner = source.this
            if isinstance(inner, exp.Values):
                return _values_type(inner, source, name)
            return _projection_type(inner, name)
        if isinstance(source, exp.Values):
            return _values_type(source, source, name)
        if isinstance(source, exp.Table) and not source.db:
            cte = _find_cte(select, source.name.lower())
            if cte is not None:
                return _projection_type(cte.this, name)
    return None


def _values_type(values: exp.Values, aliased: exp.Expr, name: str) -> exp.DataType | None:
    columns = [c.lower() for c in aliased.alias_column_names]
    if name not in columns or not values.expressions:
        return None
    index = columns.index(name)
    for row in values.expressions:
        items = row.expressions if isinstance(row, exp.Tuple) else [row]
        if index < len(items) and ty.is_known(ty.type_of(items[index])):
            return ty.type_of(items[index])
    return None


def _find_cte(node: exp.Expr, name: str) -> exp.CTE | None:
    scope: exp.Expr | None = node
    while scope is not None:
        with_ = (
            (scope.args.get("with_") or scope.args.get("with"))
            if isinstance(scope, exp.Query)
            else None
        )
        if with_ is not None:
            for cte in with_.expressions:
                if isinstance(cte, exp.CTE) and cte.alias_or_name.lower() == name:
                    return cte
        scope = scope.parent
    return None


def is_lambda_ref(node: exp.Expr) -> bool:
    """A reference to a lambda parameter: sqlglot parses them as bare identifiers."""
    if isinstance(node, exp.Column):
        return not node.table
    return isinstance(node, exp.Identifier) and not isinstance(
        node.parent, exp.Column | exp.Lambda | exp.Alias | exp.Table | exp.TableAlias | exp.Dot
    )


def _has_lambda_rule(rule: Rule) -> bool:
    return bool(getattr(rule, "handles_lambdas", False))


# Func subclasses that are operators or syntax rather than named functions.
_OPERATOR_FUNCS: tuple[type[exp.Expr], ...] = (
    exp.Cast,
    exp.TryCast,
    exp.Case,
    exp.If,
    exp.Coalesce,
    exp.Nullif,
    exp.Bracket,
    exp.Array,
    exp.Struct,
    exp.Tuple,
    exp.Count,
    exp.Extract,
    exp.Typeof,
    exp.Try,
    exp.Interval,
    exp.All,
    exp.Any,
    exp.Exists,
    exp.Unnest,
)


def typed(node: exp.Expr, dt: exp.DataType) -> exp.Expr:
    node.type = dt
    return node


def call(name: str, *args: exp.Expr, dt: exp.DataType | None = None) -> exp.Expr:
    node = exp.Anonymous(this=name, expressions=list(args))
    if dt is not None:
        node.type = dt
    return node


def cast(node: exp.Expr, dt: exp.DataType) -> exp.Expr:
    return typed(exp.Cast(this=node, to=dt.copy()), dt)


def duck_type(dt: exp.DataType) -> exp.DataType:
    """A Trino type as DuckDB spells it (VARCHAR(n) is plain VARCHAR)."""
    if dt.this in (ty.T.VARCHAR, ty.T.CHAR, ty.T.TEXT):
        return exp.DataType(this=ty.T.VARCHAR)
    return dt


# -- operators ---------------------------------------------------------------------------------


def _literal(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.Literal)
    node.type = ty.literal_type(node)
    return None


def _unscaled(node: exp.Expr, scale: int) -> exp.Expr:
    """The decimal's digits as a HUGEINT (``1.50`` at scale 2 is 150)."""
    scaled: exp.Expr = exp.Cast(this=node, to=ty.decimal(38, scale))
    if scale:
        factor = exp.Cast(this=exp.Literal.number(10**scale), to=ty.decimal(38, 0))
        scaled = exp.Mul(this=scaled, expression=factor)
    return exp.Cast(this=exp.Paren(this=scaled), to=ty.build("HUGEINT"))


def _arith(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.Binary)
    left, right = ty.type_of(node.left), ty.type_of(node.right)
    op = type(node)
    if op in (exp.Add, exp.Sub) and (_is_temporal(left) or _is_temporal(right)):
        return _temporal_arith(node, left, right)
    if ty.is_year_month(left) or left.this == ty.T.INTERVAL:
        node.type = left
        return None
    if not (ty.is_known(left) and ty.is_known(right)):
        if op in (exp.Div, exp.Mod) and not _is_null(node.left) and not _is_null(node.right):
            raise refuse(
                "/" if op is exp.Div else "%",
                "the types of the operands are not known locally, so Trino's integer or "
                "decimal division cannot be chosen; CAST the operands",
            )
        node.type = ty.UNKNOWN
        return None
    result = ty.arithmetic(op, left, right)
    if not ty.is_known(result):
        node.type = ty.UNKNOWN
        return None
    if ty.is_integer(result):
        if op is exp.Div:
            return typed(exp.IntDiv(this=node.left, expression=node.right), result)
        node.type = result
        return None
    if ty.is_decimal(result):
        _, s = ty.decimal_params(result) or (38, 0)
        if op is exp.Div:
            _, ls = ty.decimal_params(left) or (38, 0)
            _, rs = ty.decimal_params(right) or (38, 0)
            factor = exp.Cast(
                this=exp.Literal.string(str(10 ** (s - ls + rs))), to=ty.build("HUGEINT")
            )
            quotient = call(
                "athena_decimal_div", _unscaled(node.left, ls), _unscaled(node.right, rs), factor
            )
            value: exp.Expr = exp.Cast(this=quotient, to=ty.decimal(38, 0))
            if s:
                step = exp.Cast(this=exp.Literal.string(f"0.{'0' * (s - 1)}1"), to=ty.decimal(s, s))
                value = exp.Mul(this=value, expression=step)
            return cast(exp.Paren(this=value), result)
        inner = node.copy()
        return cast(exp.Paren(this=inner), result)
    node.type = result
    return None


def _is_null(node: exp.Expr) -> bool:
    return isinstance(node, exp.Null)


def _is_temporal(dt: exp.DataType) -> bool:
    return dt.this in (
        ty.T.DATE,
        ty.T.TIMESTAMP,
        ty.T.TIMESTAMPTZ,
        ty.T.TIME,
        ty.T.INTERVAL,
    )


def _temporal_arith(node: exp.Binary, left: exp.DataType, right: exp.DataType) -> exp.Expr | None:
    if left.this == ty.T.INTERVAL and right.this == ty.T.INTERVAL:
        if ty.is_year_month(left) != ty.is_year_month(right):
            raise refuse("+", "a year-month interval cannot be added to a day-second interval")
        node.type = left
        return None
    if left.this == ty.T.DATE and right.this == ty.T.INTERVAL:
        interval_node = node.right
        if isinstance(interval_node, exp.Interval) and not _date_unit(interval_node):
            raise refuse(
                "+", "Trino cannot add hours, minutes or seconds to a date; CAST it to timestamp"
            )
        return cast(exp.Paren(this=node.copy()), ty.DATE)
    if left.this == ty.T.DATE and right.this == ty.T.DATE:
        raise refuse("-", "date minus date has no local equivalent; use date_diff")
    node.type = left if left.this != ty.T.INTERVAL else right
    return None


def _date_unit(node: exp.Interval) -> bool:
    unit = node.unit.name.upper() if node.unit else ""
    return unit.rstrip("S") in ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR")


def _interval(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.Interval)
    unit = node.unit.name.upper().rstrip("S") if node.unit else ""
    if " TO " in unit or not unit:
        raise refuse("interval", f"interval qualifier {unit or '(none)'} is not supported")
    node.type = ty.interval(unit in ty.YEAR_MONTH_UNITS)
    return None


def _neg(t: Translator, node: exp.Expr) -> exp.Expr | None:
    node.type = ty.type_of(node.this)
    return None


def _cast(t: Translator, node: exp.Expr) -> exp.Expr | None:
    from lakehouse.athena.trino.functions import translate_cast

    return translate_cast(t, node)


def _dpipe(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.DPipe)
    left, right = ty.type_of(node.left), ty.type_of(node.right)
    if ty.is_array(left) and ty.is_array(right):
        return call("list_concat", node.left, node.right, dt=left)
    if ty.is_array(left):
        return call("list_append", node.left, node.right, dt=left)
    if ty.is_array(right):
        return call("list_prepend", node.left, node.right, dt=right)
    unknown = not ty.is_known(left) or not ty.is_known(right)
    if unknown and not (_is_null(node.left) or _is_null(node.right)):
        raise refuse("||", "the operand types are not known locally; CAST them")
    node.set("safe", None)
    node.type = ty.VARCHAR
    return None


def _comparison(t: Translator, node: exp.Expr) -> exp.Expr | None:
    node.type = ty.BOOLEAN
    return None


def _bracket(t: Translator, node: exp.Expr) -> exp.Expr | None:
    from lakehouse.athena.trino.functions import translate_subscript

    return translate_subscript(t, node)


def _typeof(t: Translator, node: exp.Expr) -> exp.Expr | None:
    dt = ty.type_of(node.this)
    if not ty.is_known(dt) and not _is_null(node.this):
        raise refuse("typeof", "the type of the argument is not known locally")
    try:
        name = ty.trino_name(dt) if ty.is_known(dt) else "unknown"
    except ValueError as exc:
        raise refuse("typeof", str(exc)) from exc
    literal = exp.Literal.string(name)
    if node.this.find(exp.AggFunc, exp.Window) is None:
        return typed(literal, ty.VARCHAR)
    # Keep an aggregate in the expression so that the query still aggregates.
    keep = exp.Case(ifs=[exp.If(this=exp.Is(this=node.this, expression=exp.Null()), true=literal)])
    keep.set("default", literal.copy())
    return typed(keep, ty.VARCHAR)


def _paren(t: Translator, node: exp.Expr) -> exp.Expr | None:
    node.type = ty.type_of(node.this)
    return None


def _case(t: Translator, node: exp.Expr) -> exp.Expr | None:
    branches = [i.args.get("true") for i in node.args.get("ifs") or []]
    branches.append(node.args.get("default"))
    known = [ty.type_of(b) for b in branches if b is not None and ty.is_known(ty.type_of(b))]
    if known:
        node.type = known[0]
    return None


_NODE_RULES: dict[type[exp.Expr], Rule] = {
    exp.Literal: _literal,
    exp.Add: _arith,
    exp.Sub: _arith,
    exp.Mul: _arith,
    exp.Div: _arith,
    exp.Mod: _arith,
    exp.Neg: _neg,
    exp.Interval: _interval,
    exp.Cast: _cast,
    exp.TryCast: _cast,
    exp.DPipe: _dpipe,
    exp.EQ: _comparison,
    exp.NEQ: _comparison,
    exp.GT: _comparison,
    exp.GTE: _comparison,
    exp.LT: _comparison,
    exp.LTE: _comparison,
    exp.Bracket: _bracket,
    exp.Typeof: _typeof,
    exp.Paren: _paren,
    exp.Case: _case,
}


# -- the entry points --------------------------------------------------------------------------

_NAME_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_BARE_NAME_RE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*$")


_NAME_CACHE: dict[tuple[object, ...], str | None] = {}


def trino_function_name(node: exp.Expr) -> str | None:
    """The name Athena users write for ``node`` (``cardinality`` for sqlglot's ArraySize).

    sqlglot's class for a Trino function is rendered back in Athena's dialect once per class
    and shape of arguments: the same class can print as different functions depending on a
    literal argument (sqlglot's SHA2 is sha256 or sha512 by its length), so literals, units and
    flags are part of the key, the other arguments only by kind.
    """
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    key = (type(node), *sorted(_shape(k, v) for k, v in node.args.items() if v is not None))
    if key in _NAME_CACHE:
        return _NAME_CACHE[key]
    name = _render_name(node)
    _NAME_CACHE[key] = name
    return name


def _shape(key: str, value: object) -> tuple[str, str]:
    if isinstance(value, list):
        return key, f"list{len(value)}"
    if isinstance(value, exp.Literal | exp.Var | exp.DataType | exp.Boolean):
        return key, value.sql()
    if isinstance(value, exp.Expr):
        return key, "expr"
    return key, repr(value)


def _render_name(node: exp.Expr) -> str | None:
    try:
        text = _ATHENA.generate(node, copy=True)
    except SqlglotError:
        return None
    if _BARE_NAME_RE.match(text):
        return text.strip().lower()  # CURRENT_TIMESTAMP, CURRENT_DATE: calls without parentheses
    m = _NAME_RE.match(text)
    if m is None or not _one_call(text, m.end() - 1):
        return None
    return m.group(1).lower()


def _one_call(text: str, open_at: int) -> bool:
    """Whether the parenthesis at ``open_at`` closes at the end of ``text`` (one call)."""
    depth, quote = 0, ""
    for i in range(open_at, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[i + 1 :].strip() == ""
    return False


def _athena_output_names(tree: exp.Expr) -> None:
    """Athena names unnamed result columns _col0, _col1, ... by position."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if isinstance(select, exp.Subquery):
        select = select.this
    if isinstance(select, exp.Select):
        for i, projection in enumerate(list(select.expressions)):
            if not isinstance(projection, exp.Alias | exp.Column | exp.Star):
                projection.replace(exp.alias_(projection.copy(), f"_col{i}"))


def _print_intervals(tree: exp.Expr) -> None:
    """Intervals in the result are printed as Athena prints them (``3-5``, ``2 03:00:00.000``)."""
    select = tree
    if not isinstance(select, exp.Select):
        return
    for projection in list(select.expressions):
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        dt = ty.type_of(inner)
        if dt.this != ty.T.INTERVAL:
            continue
        macro = "athena_interval_ym_text" if ty.is_year_month(dt) else "athena_interval_ds_text"
        inner.replace(call(macro, inner.copy(), dt=ty.VARCHAR))


def translate(
    tree: exp.Expr,
    schema: MappingSchema | None = None,
    rules: dict[str, Rule] | None = None,
    copy: bool = True,
) -> str:
    """DuckDB SQL for a checked Athena statement, with Trino's semantics.

    ``copy=False`` rewrites ``tree`` in place (the engine does not use it afterwards), which
    saves a deep copy of the tree.

    Raises:
        TranslationRefusedError: the statement uses a function or construct the local engine cannot
            reproduce exactly; the message names it.
    """
    from lakehouse.athena.trino.functions import FUNCTIONS, NODE_RULES

    if copy:
        tree = tree.copy()
    for table in tree.find_all(exp.Table):
        if table.args.get("catalog") is not None:
            table.set("catalog", None)
    _athena_output_names(tree)
    # The parts of sqlglot's qualify that typing needs: case-insensitive names (as in Trino),
    # table aliases, columns bound to their tables and stars expanded from the schema.
    tree = normalize_identifiers(tree, dialect=READ_DIALECT)
    with contextlib.suppress(OptimizeError):  # DuckDB reports unresolvable names when it runs
        tree = qualify_tables(tree, dialect=READ_DIALECT)
        tree = qualify_columns(
            tree,
            schema or MappingSchema(dialect=READ_DIALECT),
            expand_stars=schema is not None,
            dialect=READ_DIALECT,
        )
    for alias in list(tree.find_all(exp.Alias)):
        # qualify names a column it could not resolve after itself; DuckDB would then report a
        # self-reference instead of the missing column.
        inner = alias.this
        if isinstance(inner, exp.Column) and not inner.table and inner.name == alias.alias:
            alias.replace(inner)
    tree = annotate_types(tree, schema=schema, dialect=READ_DIALECT)
    translator = Translator(
        rules=rules if rules is not None else FUNCTIONS,
        names=trino_function_name,
        node_rules=NODE_RULES,
    )
    tree = translator.visit(tree)
    _print_intervals(tree)
    try:
        return _DUCKDB.generate(tree, copy=False, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise TranslationRefusedError(
            "NOT_SUPPORTED", "query", f"no DuckDB equivalent for part of the query: {exc}"
        ) from exc
