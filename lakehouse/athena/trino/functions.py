"""The functions the local engine implements with Trino's semantics: the allow-list.

:data:`FUNCTIONS` maps each Trino function name to the rule that translates a call to DuckDB (a
built-in, a macro of :mod:`lakehouse.athena.trino.macros` or a Python UDF of
:mod:`lakehouse.athena.trino.udfs`). A name that is not a key is refused with
``FUNCTION_NOT_FOUND`` naming it, so the allow-list is exactly what the translation supports; the
conformance suite (``tests/lakehouse/athena/conformance/``) runs the documented examples of each.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.time import format_time

from lakehouse.athena.trino import types as ty
from lakehouse.athena.trino.translator import (
    Rule,
    Translator,
    _unscaled,
    call,
    cast,
    duck_type,
    is_lambda_ref,
    refuse,
    typed,
)

DT = exp.DataType
T = exp.DType


def args(node: exp.Expr) -> list[exp.Expr]:
    """The call's arguments in the order they were written (for sqlglot's generic classes)."""
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    out: list[exp.Expr] = []
    for key in type(node).arg_types:
        value = node.args.get(key)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, exp.Expr):
                out.append(v)
    return out


def t_of(node: exp.Expr) -> DT:
    return ty.type_of(node)


def lambdas(rule: Rule) -> Rule:
    rule.handles_lambdas = True  # type: ignore[attr-defined]
    return rule


def native(result: DT | Callable[[list[exp.Expr]], DT] | None = None) -> Rule:
    """sqlglot's own DuckDB translation gives Trino's answer (proved by the conformance suite)."""

    def rule(t: Translator, node: exp.Expr) -> exp.Expr | None:
        if result is not None:
            node.type = result(args(node)) if callable(result) else result
        return None

    return rule


def fn(
    duck: str,
    result: DT | Callable[[list[exp.Expr]], DT] | None = None,
    arity: tuple[int, ...] | None = None,
    cast_args: DT | None = None,
) -> Rule:
    """A DuckDB function (or macro or UDF) that takes the Trino arguments unchanged."""

    def rule(t: Translator, node: exp.Expr) -> exp.Expr | None:
        a = args(node)
        if arity is not None and len(a) not in arity:
            raise refuse(
                t.names(node) or duck,
                f"called with {len(a)} arguments; the local engine "
                f"supports {' or '.join(map(str, arity))}",
            )
        if cast_args is not None:
            a = [cast(x, cast_args) for x in a]
        dt = result(a) if callable(result) else (result or ty.UNKNOWN)
        return call(duck, *a, dt=dt)

    return rule


def same_as_first(a: list[exp.Expr]) -> DT:
    return t_of(a[0]) if a else ty.UNKNOWN


def element_of_first(a: list[exp.Expr]) -> DT:
    return ty.element(t_of(a[0])) if a else ty.UNKNOWN


def array_of(dt: DT) -> DT:
    return DT(this=T.ARRAY, expressions=[dt.copy()], nested=True)


def map_of(k: DT, v: DT) -> DT:
    return DT(this=T.MAP, expressions=[k.copy(), v.copy()], nested=True)


def literal_str(node: exp.Expr, function: str, what: str) -> str:
    if isinstance(node, exp.Literal) and node.is_string:
        return node.name
    raise refuse(function, f"the {what} must be a string literal locally")


# -- numbers -----------------------------------------------------------------------------------


def _round(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    dt = t_of(a[0])
    if len(a) == 1 or not ty.is_decimal(dt):
        node.type = dt
        if ty.is_integer(dt) and len(a) == 2:
            return cast(call("round", a[0], a[1]), dt)
        return None
    # round(x, d) keeps the type of x: round(DECIMAL '1.234', 2) is 1.230.
    return cast(call("round", a[0], a[1]), dt)


def _sign(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)
    dt = t_of(x)
    if ty.is_decimal(dt):
        return cast(call("sign", x), ty.decimal(1, 0))
    return cast(call("sign", x), dt if ty.is_known(dt) else ty.DOUBLE)


def _truncate(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    dt = t_of(a[0])
    if len(a) == 1:
        return cast(call("trunc", a[0]), dt)
    if not ty.is_decimal(dt) and not ty.is_float(dt):
        raise refuse("truncate", "truncate(x, d) is supported for decimal and double x")
    return cast(call("trunc", a[0], a[1]), dt)


def _log(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    if len(a) != 2:
        raise refuse("log", "Trino's log takes a base and a value")
    return call("log", a[0], a[1], dt=ty.DOUBLE)


def _width_bucket(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    if len(a) != 4:
        raise refuse("width_bucket", "width_bucket(x, bins) is not supported locally")
    x, b1, b2, n = a
    return call(
        "athena_width_bucket",
        *[cast(v, ty.DOUBLE) for v in (x, b1, b2)],
        cast(n, ty.BIGINT),
        dt=ty.BIGINT,
    )


def _e(t: Translator, node: exp.Expr) -> exp.Expr | None:
    return call("exp", exp.Literal.number(1), dt=ty.DOUBLE)


def _const_double(text: str) -> Rule:
    def rule(t: Translator, node: exp.Expr) -> exp.Expr | None:
        return cast(exp.Literal.string(text), ty.DOUBLE)

    return rule


def _vector(duck: str) -> Rule:
    def rule(t: Translator, node: exp.Expr) -> exp.Expr | None:
        a = args(node)
        if any(ty.is_map(t_of(x)) for x in a):
            raise refuse(t.names(node) or duck, "sparse (map) vectors are not supported locally")
        double_list = array_of(ty.DOUBLE)
        return call(duck, *[cast(x, double_list) for x in a], dt=ty.DOUBLE)

    return rule


def _cosine_distance(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    double_list = array_of(ty.DOUBLE)
    sim = call("list_cosine_similarity", *[cast(x, double_list) for x in a], dt=ty.DOUBLE)
    return typed(exp.Sub(this=exp.Literal.number(1), expression=sim), ty.DOUBLE)


def _bitwise_binary(op: type[exp.Expr]) -> Rule:
    def rule(t: Translator, node: exp.Expr) -> exp.Expr | None:
        x, y = args(node)
        return typed(op(this=cast(x, ty.BIGINT), expression=cast(y, ty.BIGINT)), ty.BIGINT)

    return rule


def _bitwise_not(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)
    return typed(exp.BitwiseNot(this=cast(x, ty.BIGINT)), ty.BIGINT)


def _bitwise_xor(t: Translator, node: exp.Expr) -> exp.Expr | None:
    x, y = args(node)
    return call("xor", cast(x, ty.BIGINT), cast(y, ty.BIGINT), dt=ty.BIGINT)


_BITS = {T.TINYINT: 8, T.SMALLINT: 16, T.INT: 32, T.BIGINT: 64}


def _shift(udf: str) -> Rule:
    """Trino shifts within the value's own width (8, 16, 32 or 64 bits)."""

    def rule(t: Translator, node: exp.Expr) -> exp.Expr | None:
        value, shift = args(node)
        dt = t_of(value)
        if dt.this not in _BITS:
            raise refuse(t.names(node) or udf, "the value must be an integer type")
        bits = exp.Literal.number(_BITS[dt.this])
        result = call(udf, cast(value, ty.BIGINT), cast(shift, ty.BIGINT), bits)
        return cast(result, dt)

    return rule


# -- strings -----------------------------------------------------------------------------------


def _length(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)
    if t_of(x).this in (T.VARBINARY, T.BINARY, T.BLOB):
        return call("octet_length", x, dt=ty.BIGINT)
    return call("length", x, dt=ty.BIGINT)


def _concat(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    types = [t_of(x) for x in a]
    if a and all(ty.is_array(dt) for dt in types):
        return call("list_concat", *a, dt=types[0]) if len(a) == 2 else _concat_many(a, types[0])
    if any(ty.is_array(dt) for dt in types):
        raise refuse("concat", "mixing arrays and elements is not supported locally; use ||")
    # Trino's concat is NULL when any argument is NULL (DuckDB's concat skips NULLs).
    out: exp.Expr = a[0]
    for x in a[1:]:
        out = exp.DPipe(this=out, expression=x, safe=None)
    return typed(exp.Paren(this=out), ty.VARCHAR)


def _concat_many(a: list[exp.Expr], dt: DT) -> exp.Expr:
    out = a[0]
    for x in a[1:]:
        out = call("list_concat", out, x, dt=dt)
    return out


def _concat_ws(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    if len(a) == 2 and ty.is_array(t_of(a[1])):
        return call("athena_array_join", a[1], a[0], dt=ty.VARCHAR)
    return call("concat_ws", *a, dt=ty.VARCHAR)


def _strpos(t: Translator, node: exp.Expr) -> exp.Expr | None:
    text = node.this
    sub = node.args["substr"]
    instance = node.args.get("occurrence") or node.args.get("position")
    if instance is not None:
        return call("athena_strpos_instance", text, sub, instance, dt=ty.BIGINT)
    return call("strpos", text, sub, dt=ty.BIGINT)


def _split(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    if len(a) == 3:
        return call("athena_split_limit", *a, dt=array_of(ty.VARCHAR))
    return call("string_split", *a, dt=array_of(ty.VARCHAR))


def _substring(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    if len(a) == 3:
        return call("athena_substr_len", a[0], a[1], a[2], dt=ty.VARCHAR)
    return call("athena_substr", a[0], a[1], dt=ty.VARCHAR)


def _reverse(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)
    dt = t_of(x)
    if ty.is_array(dt):
        return call("list_reverse", x, dt=dt)
    return call("reverse", x, dt=ty.VARCHAR)


def _replace(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    if len(a) == 2:
        a.append(exp.Literal.string(""))
    return call("replace", *a, dt=ty.VARCHAR)


def _pad(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.Pad)
    a = [node.this, node.expression, node.args.get("fill_pattern")]
    if a[2] is None:
        raise refuse("lpad", "Trino's lpad/rpad need the padding string")
    return call("lpad" if node.args.get("is_left") else "rpad", *a, dt=ty.VARCHAR)


# Java's Character.isWhitespace, which Trino's trim functions remove (DuckDB's remove spaces only).
_WHITESPACE = (
    " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2008\u2009\u200a\u2028\u2029\u205f\u3000"
)


def _trim(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.Trim)
    chars = node.expression if node.expression is not None else exp.Literal.string(_WHITESPACE)
    position = (node.args.get("position") or "BOTH").upper()
    duck = {"LEADING": "ltrim", "TRAILING": "rtrim"}.get(position, "trim")
    return call(duck, node.this, chars, dt=ty.VARCHAR)


def _overlay(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    text, replacement, start = a[0], a[1], a[2]
    length = a[3] if len(a) > 3 else call("length", replacement)
    return call("athena_overlay", text, replacement, start, length, dt=ty.VARCHAR)


def _normalize(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    form = "NFC"
    if len(a) == 2:
        form = a[1].name.upper()
    if form not in ("NFC", "NFD", "NFKC", "NFKD"):
        raise refuse("normalize", f"unknown normalization form {form}")
    return call("athena_normalize", a[0], exp.Literal.string(form), dt=ty.VARCHAR)


def _to_utf8(t: Translator, node: exp.Expr) -> exp.Expr | None:
    return call("encode", node.this, dt=DT(this=T.VARBINARY))


def _digest(duck: str) -> Rule:
    def rule(t: Translator, node: exp.Expr) -> exp.Expr | None:
        x = node.this if not isinstance(node, exp.Anonymous) else args(node)[0]
        if t_of(x).this not in (T.VARBINARY, T.BINARY, T.BLOB):
            raise refuse(duck, "the argument must be a varbinary (use to_utf8)")
        return call("unhex", call(duck, x), dt=DT(this=T.VARBINARY))

    return rule


def _sha512(t: Translator, node: exp.Expr) -> exp.Expr | None:
    x = node.this if not isinstance(node, exp.Anonymous) else args(node)[0]
    return call("athena_sha512", x, dt=DT(this=T.VARBINARY))


def _from_utf8(t: Translator, node: exp.Expr) -> exp.Expr | None:
    return call("athena_from_utf8", node.this, dt=ty.VARCHAR)


def _timezone(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)
    if t_of(x).this != T.TIMESTAMPTZ:
        raise refuse("timezone", "the argument must be a timestamp with time zone")
    null = exp.Is(this=x, expression=exp.Null())
    return typed(
        exp.Case(ifs=[exp.If(this=null, true=exp.Null())], default=exp.Literal.string("UTC")),
        ty.VARCHAR,
    )


# -- regular expressions: Java syntax that RE2 would read differently is refused ---------------

_JAVA_ONLY = [
    (re.compile(r"\(\?<?[=!]"), "lookaround assertions"),
    (re.compile(r"\(\?>"), "atomic groups"),
    (re.compile(r"(?<!\\)[*+?}]\+"), "possessive quantifiers"),
    (re.compile(r"\\[1-9]|\\k<"), "back-references"),
    (re.compile(r"\\[GZ]"), "\\G and \\Z anchors"),
    (re.compile(r"\\p\{(?:Is|In|java)"), "Java character property classes"),
    (re.compile(r"\(\?[a-z]*[dux][a-z]*[):]"), "the (?d), (?u) and (?x) flags"),
    (re.compile(r"\[[^\]]*\[|&&"), "character class union and intersection"),
    (re.compile(r"\\[QE]"), "\\Q...\\E quoting"),
]


def _pattern(node: exp.Expr, function: str) -> exp.Expr:
    text = literal_str(node, function, "pattern")
    for regex, what in _JAVA_ONLY:
        if regex.search(text):
            raise refuse(
                function,
                f"the pattern uses {what}, which Java regular expressions (Athena) support and "
                "RE2 (the local engine) reads differently or not at all",
            )
    return node


def _regexp_like(t: Translator, node: exp.Expr) -> exp.Expr | None:
    s, p = args(node)[:2]
    return call("regexp_matches", s, _pattern(p, "regexp_like"), dt=ty.BOOLEAN)


def _regexp_extract(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.RegexpExtract)
    group = node.args.get("group") or exp.Literal.number(0)
    pattern = _pattern(node.expression, "regexp_extract")
    return call("athena_regexp_extract", node.this, pattern, group, dt=ty.VARCHAR)


def _regexp_extract_all(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.RegexpExtractAll)
    group = node.args.get("group") or exp.Literal.number(0)
    pattern = _pattern(node.expression, "regexp_extract_all")
    return call("regexp_extract_all", node.this, pattern, group, dt=array_of(ty.VARCHAR))


def _java_replacement(text: str, groups: int) -> str:
    """A Java replacement string (``$1``, ``\\$``) in RE2's syntax (``\\1``, ``$``)."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\\\\" if nxt == "\\" else nxt)
            i += 2
        elif ch == "$":
            m = re.match(r"\$(\d+)", text[i:])
            if m is None:
                raise refuse(
                    "regexp_replace", "named group references (${name}) in the replacement"
                )
            digits = m.group(1)
            # Java reads as many digits as still name an existing group.
            n = digits[0]
            for d in digits[1:]:
                if int(n + d) <= groups:
                    n += d
                else:
                    break
            if int(n) > groups:
                raise refuse(
                    "regexp_replace", f"the replacement names group {n}, which the pattern lacks"
                )
            out.append("\\" + n)
            i += 1 + len(n)
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _group_count(pattern: str) -> int:
    return len(re.findall(r"(?<!\\)\((?!\?)", pattern)) + len(
        re.findall(r"\(\?P?<[A-Za-z]", pattern)
    )


@lambdas
def _regexp_replace(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.RegexpReplace)
    pattern = _pattern(node.expression, "regexp_replace")
    replacement = node.args.get("replacement")
    if isinstance(replacement, exp.Lambda):
        return _regexp_replace_lambda(t, node.this, pattern, replacement)
    if replacement is None:
        repl: exp.Expr = exp.Literal.string("")
    else:
        text = literal_str(replacement, "regexp_replace", "replacement")
        repl = exp.Literal.string(_java_replacement(text, _group_count(pattern.name)))
    return call("regexp_replace", node.this, pattern, repl, exp.Literal.string("g"), dt=ty.VARCHAR)


def _regexp_replace_lambda(
    t: Translator, text: exp.Expr, pattern: exp.Expr, lam: exp.Lambda
) -> exp.Expr:
    """Each match replaced by the lambda of its groups, rebuilt from the text between matches.

    ``string_split_regex`` gives the text around the matches and ``regexp_extract_all`` each
    group of every match; a group that does not take part in a match would be '' here and NULL
    in Trino, so patterns with optional groups or alternation are refused.
    """
    groups = _group_count(pattern.name)
    if groups == 0 or re.search(r"\|", pattern.name) or re.search(r"\)[?*]", pattern.name):
        raise refuse(
            "regexp_replace",
            "a lambda replacement needs a pattern of plain capturing groups locally "
            "(no alternation or optional groups)",
        )
    t.visit_lambda(lam, [array_of(ty.VARCHAR)])
    (param,) = _lambda_params(lam)
    index = exp.column("_athena_i")
    group_values = [
        call(
            "list_extract",
            call("regexp_extract_all", text.copy(), pattern.copy(), exp.Literal.number(g)),
            index.copy(),
        )
        for g in range(1, groups + 1)
    ]
    body = _substitute(lam.this, {param.lower(): call("list_value", *group_values)})
    segments = call("string_split_regex", text.copy(), pattern.copy())
    pieces = call(
        "list_transform",
        call("range", exp.Literal.number(1), call("len", segments.copy())),
        _new_lambda(
            ["_athena_i"],
            exp.DPipe(
                this=exp.Paren(this=body),
                expression=call(
                    "list_extract",
                    segments.copy(),
                    exp.Add(this=index.copy(), expression=exp.Literal.number(1)),
                ),
            ),
        ),
    )
    out = exp.DPipe(
        this=call("list_extract", segments, exp.Literal.number(1)),
        expression=call("array_to_string", pieces, exp.Literal.string("")),
    )
    return typed(exp.Paren(this=out), ty.VARCHAR)


def _quantified(kind: type[exp.Expr]) -> Rule:
    def rule(t: Translator, node: exp.Expr) -> exp.Expr | None:
        (query,) = args(node)
        if not isinstance(query, exp.Values | exp.Query | exp.Subquery):
            raise refuse(kind.__name__.lower(), "needs a subquery")
        if isinstance(query, exp.Values):
            query = exp.select("*").from_(exp.Subquery(this=query))
        if not isinstance(query, exp.Subquery):
            query = exp.Subquery(this=query)
        return typed(kind(this=query), ty.UNKNOWN)

    return rule


def _regexp_split(t: Translator, node: exp.Expr) -> exp.Expr | None:
    s, p = args(node)[:2]
    return call("string_split_regex", s, _pattern(p, "regexp_split"), dt=array_of(ty.VARCHAR))


def _regexp_count(t: Translator, node: exp.Expr) -> exp.Expr | None:
    s, p = args(node)[:2]
    return call("athena_regexp_count", s, _pattern(p, "regexp_count"), dt=ty.BIGINT)


def _regexp_position(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    s, p = a[0], _pattern(a[1], "regexp_position")
    start = a[2] if len(a) > 2 else exp.Literal.number(1)
    occurrence = a[3] if len(a) > 3 else exp.Literal.number(1)
    return cast(call("athena_regexp_position", s, p, start, occurrence), ty.INTEGER)


# -- arrays and lambdas ------------------------------------------------------------------------


def _lambda_params(lam: exp.Expr) -> list[str]:
    return [p.name for p in lam.expressions] if isinstance(lam, exp.Lambda) else []


def _substitute(body: exp.Expr, mapping: dict[str, exp.Expr]) -> exp.Expr:
    """``body`` with the lambda parameters replaced by expressions (lowercase names)."""

    def swap(n: exp.Expr) -> exp.Expr:
        if is_lambda_ref(n) and n.name.lower() in mapping:
            return mapping[n.name.lower()].copy()
        return n

    return body.copy().transform(swap)


def _new_lambda(params: list[str], body: exp.Expr) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(p) for p in params])


@lambdas
def _transform(t: Translator, node: exp.Expr) -> exp.Expr | None:
    arr, lam = node.this, node.expression
    t.visit_lambda(lam, [ty.element(t_of(arr))])
    return call("list_transform", arr, lam, dt=array_of(t_of(lam)))


@lambdas
def _filter(t: Translator, node: exp.Expr) -> exp.Expr | None:
    arr, lam = node.this, node.expression
    t.visit_lambda(lam, [ty.element(t_of(arr))])
    return call("list_filter", arr, lam, dt=t_of(arr))


def _match(macro: str) -> Rule:
    @lambdas
    def rule(t: Translator, node: exp.Expr) -> exp.Expr | None:
        arr, lam = args(node)
        t.visit_lambda(lam, [ty.element(t_of(arr))])
        return call(macro, call("list_transform", arr, lam), dt=ty.BOOLEAN)

    return rule


@lambdas
def _reduce(t: Translator, node: exp.Expr) -> exp.Expr | None:
    arr, initial, merge = node.this, node.args["initial"], node.args["merge"]
    finish = node.args.get("finish")
    t.visit_lambda(merge, [t_of(initial), ty.element(t_of(arr))])
    state = t_of(initial)
    reduced: exp.Expr = call("list_reduce", arr, merge, initial, dt=state)
    if ty.is_known(state) and state.this != T.STRUCT:
        reduced = cast(reduced, state)
    if finish is None:
        return reduced
    t.visit_lambda(finish, [state])
    (param,) = _lambda_params(finish)
    assert isinstance(finish, exp.Lambda)
    out = _substitute(finish.this, {param.lower(): exp.Paren(this=reduced)})
    return typed(out, t_of(finish))


@lambdas
def _zip_with(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a, b, lam = args(node)
    t.visit_lambda(lam, [ty.element(t_of(a)), ty.element(t_of(b))])
    x, y = _lambda_params(lam)
    assert isinstance(lam, exp.Lambda)
    pair = exp.column("_athena_pair")
    body = _substitute(
        lam.this,
        {
            x.lower(): call("struct_extract", pair.copy(), exp.Literal.number(1)),
            y.lower(): call("struct_extract", pair.copy(), exp.Literal.number(2)),
        },
    )
    zipped = call("list_zip", a, b)
    return call(
        "list_transform", zipped, _new_lambda(["_athena_pair"], body), dt=array_of(t_of(lam))
    )


@lambdas
def _array_sort(t: Translator, node: exp.Expr) -> exp.Expr | None:
    arr = node.this
    comparator = node.args.get("expression")
    if comparator is None:
        return call(
            "list_sort",
            arr,
            exp.Literal.string("ASC"),
            exp.Literal.string("NULLS LAST"),
            dt=t_of(arr),
        )
    elem = ty.element(t_of(arr))
    t.visit_lambda(comparator, [elem, elem])
    x, y = _lambda_params(comparator)
    assert isinstance(comparator, exp.Lambda)
    # A stable insertion sort with list_reduce: each element goes before the first element of
    # the sorted prefix that the comparator puts after it.
    acc, new, e = exp.column("_athena_acc"), exp.column("_athena_new"), exp.column("_athena_e")
    first_new = call("list_extract", new.copy(), exp.Literal.number(1))
    before = exp.LT(
        this=exp.Paren(this=_substitute(comparator.this, {x.lower(): first_new, y.lower(): e})),
        expression=exp.Literal.number(0),
    )
    position = call(
        "list_position",
        call("list_transform", acc.copy(), _new_lambda(["_athena_e"], before)),
        exp.true(),
    )
    insert = exp.Case(
        ifs=[
            exp.If(
                this=exp.Is(this=position, expression=exp.Null()),
                true=call("list_concat", acc.copy(), new.copy()),
            )
        ],
        default=call(
            "list_concat",
            call(
                "list_concat",
                call(
                    "list_slice",
                    acc.copy(),
                    exp.Literal.number(1),
                    exp.Sub(this=position.copy(), expression=exp.Literal.number(1)),
                ),
                new.copy(),
            ),
            call("list_slice", acc.copy(), position.copy(), call("len", acc.copy())),
        ),
    )
    singletons = call(
        "list_transform",
        arr,
        _new_lambda(["_athena_v"], exp.Array(expressions=[exp.column("_athena_v")])),
    )
    empty = call("list_slice", arr.copy(), exp.Literal.number(1), exp.Literal.number(0))
    return call(
        "list_reduce",
        singletons,
        _new_lambda(["_athena_acc", "_athena_new"], insert),
        empty,
        dt=t_of(arr),
    )


@lambdas
def _map_filter(t: Translator, node: exp.Expr) -> exp.Expr | None:
    m, lam = args(node)
    k_t, v_t = ty.map_types(t_of(m))
    t.visit_lambda(lam, [k_t, v_t])
    k, v = _lambda_params(lam)
    assert isinstance(lam, exp.Lambda)
    entry = exp.column("_athena_e")
    body = _substitute(
        lam.this,
        {
            k.lower(): exp.Dot(this=entry.copy(), expression=exp.to_identifier("key")),
            v.lower(): exp.Dot(this=entry.copy(), expression=exp.to_identifier("value")),
        },
    )
    kept = call("list_filter", call("map_entries", m), _new_lambda(["_athena_e"], body))
    return call("map_from_entries", kept, dt=t_of(m))


def _map_transform(which: str) -> Rule:
    @lambdas
    def rule(t: Translator, node: exp.Expr) -> exp.Expr | None:
        m, lam = args(node)
        k_t, v_t = ty.map_types(t_of(m))
        t.visit_lambda(lam, [k_t, v_t])
        k, v = _lambda_params(lam)
        assert isinstance(lam, exp.Lambda)
        entry = exp.column("_athena_e")
        key = exp.Dot(this=entry.copy(), expression=exp.to_identifier("key"))
        value = exp.Dot(this=entry.copy(), expression=exp.to_identifier("value"))
        body = _substitute(lam.this, {k.lower(): key, v.lower(): value})
        new_entry = exp.Struct(
            expressions=[
                exp.PropertyEQ(
                    this=exp.to_identifier("key"), expression=body if which == "key" else key.copy()
                ),
                exp.PropertyEQ(
                    this=exp.to_identifier("value"),
                    expression=body if which == "value" else value.copy(),
                ),
            ]
        )
        entries = call(
            "list_transform", call("map_entries", m), _new_lambda(["_athena_e"], new_entry)
        )
        out_t = map_of(t_of(lam), v_t) if which == "key" else map_of(k_t, t_of(lam))
        return call("map_from_entries", entries, dt=out_t)

    return rule


@lambdas
def _map_zip_with(t: Translator, node: exp.Expr) -> exp.Expr | None:
    m1, m2, lam = args(node)
    k_t, v1_t = ty.map_types(t_of(m1))
    _, v2_t = ty.map_types(t_of(m2))
    t.visit_lambda(lam, [k_t, v1_t, v2_t])
    k, v1, v2 = _lambda_params(lam)
    assert isinstance(lam, exp.Lambda)
    key = exp.column("_athena_k")
    body = _substitute(
        lam.this,
        {
            k.lower(): key.copy(),
            v1.lower(): call("map_extract_value", m1.copy(), key.copy()),
            v2.lower(): call("map_extract_value", m2.copy(), key.copy()),
        },
    )
    keys = call("athena_distinct", call("list_concat", call("map_keys", m1), call("map_keys", m2)))
    return call(
        "map",
        keys,
        call("list_transform", keys.copy(), _new_lambda(["_athena_k"], body)),
        dt=map_of(k_t, t_of(lam)),
    )


def _sequence(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    start_t = t_of(a[0])
    if start_t.this in (T.DATE, T.TIMESTAMP):
        if len(a) == 2 and start_t.this == T.DATE:
            return call("athena_date_sequence", a[0], a[1], dt=array_of(ty.DATE))
        step = a[2] if len(a) > 2 else None
        if isinstance(step, exp.Interval) and not ty.is_year_month(t_of(step)):
            series = call(
                "generate_series", cast(a[0], ty.TIMESTAMP), cast(a[1], ty.TIMESTAMP), step
            )
            if start_t.this == T.DATE:
                v = exp.column("_athena_t")
                return call(
                    "list_transform",
                    series,
                    _new_lambda(["_athena_t"], cast(v, ty.DATE)),
                    dt=array_of(ty.DATE),
                )
            return typed(series, array_of(ty.TIMESTAMP))
        raise refuse(
            "sequence",
            "date and timestamp sequences with month or year steps are not supported locally "
            "(Trino adds multiples of the step to the start; DuckDB steps from the previous value)",
        )
    if len(a) == 2:
        return call(
            "athena_sequence", cast(a[0], ty.BIGINT), cast(a[1], ty.BIGINT), dt=array_of(ty.BIGINT)
        )
    return call("athena_sequence_step", *[cast(x, ty.BIGINT) for x in a], dt=array_of(ty.BIGINT))


def _cardinality(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)
    dt = t_of(x)
    if ty.is_map(dt):
        return call("cardinality", x, dt=ty.BIGINT)
    if ty.is_array(dt):
        return call("len", x, dt=ty.BIGINT)
    raise refuse("cardinality", "the argument's type is not known locally")


def _trino_index(node: exp.Bracket) -> exp.Expr:
    """The subscript as written: sqlglot stores ``a[2]``'s literal 2 as 1 (0-based)."""
    (index,) = node.expressions
    if node.args.get("offset") != 1 and isinstance(index, exp.Literal) and index.is_int:
        return typed(exp.Literal.number(int(index.name) + 1), ty.BIGINT)
    return index if isinstance(index, exp.Expr) else exp.Null()


def _element_at(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.Bracket)
    container = node.this
    index = _trino_index(node)
    dt = t_of(container)
    if ty.is_map(dt):
        return call("map_extract_value", container, index, dt=ty.map_types(dt)[1])
    if ty.is_array(dt):
        zero = exp.EQ(this=index.copy(), expression=exp.Literal.number(0))
        return typed(
            exp.Case(
                ifs=[
                    exp.If(
                        this=zero,
                        true=call("error", exp.Literal.string("SQL array indices start at 1")),
                    )
                ],
                default=call("list_extract", container, index),
            ),
            ty.element(dt),
        )
    raise refuse("element_at", "the type of the array or map is not known locally")


def translate_subscript(t: Translator, node: exp.Expr) -> exp.Expr | None:
    """``a[i]`` fails out of bounds and ``m[k]`` fails for a missing key, as in Trino."""
    assert isinstance(node, exp.Bracket)
    if node.args.get("safe"):
        return _element_at(t, node)
    container = node.this
    if len(node.expressions) != 1:
        raise refuse("[]", "only single subscripts are supported")
    dt = t_of(container)
    index = _trino_index(node) if ty.is_array(dt) else node.expressions[0]
    if ty.is_array(dt):
        check = exp.Case(
            ifs=[
                exp.If(
                    this=exp.or_(
                        exp.LT(this=index.copy(), expression=exp.Literal.number(1)),
                        exp.GT(this=index.copy(), expression=call("len", container.copy())),
                    ),
                    true=call("error", exp.Literal.string("Array subscript out of bounds")),
                )
            ],
            default=call("list_extract", container, index),
        )
        return typed(check, ty.element(dt))
    if ty.is_map(dt):
        check = exp.Case(
            ifs=[
                exp.If(
                    this=exp.Not(this=call("map_contains", container.copy(), index.copy())),
                    true=call("error", exp.Literal.string("Key not present in map")),
                )
            ],
            default=call("map_extract_value", container, index),
        )
        return typed(check, ty.map_types(dt)[1])
    if dt.this in (T.STRUCT,):
        return None
    raise refuse("[]", "the type of the subscripted value is not known locally")


def _array_ctor(t: Translator, node: exp.Expr) -> exp.Expr | None:
    items = list(node.expressions)
    known = [t_of(x) for x in items if ty.is_known(t_of(x))]
    if not known:
        node.type = array_of(ty.UNKNOWN)
        return None
    elem = known[0]
    for other in known[1:]:
        if ty.is_numeric(elem) and ty.is_numeric(other) and not ty.is_float(elem):
            if ty.is_integer(elem) and ty.is_integer(other):
                elem = ty.wider_integer(elem, other)
            elif ty.is_float(other):
                elem = other
            else:
                ep, es = ty.decimal_params(elem) or (38, 0)
                op, os_ = ty.decimal_params(other) or (38, 0)
                scale = max(es, os_)
                elem = ty.decimal(max(ep - es, op - os_) + scale, scale)
    if any(t_of(x) != elem for x in items if ty.is_known(t_of(x))) and ty.is_numeric(elem):
        # Trino coerces the elements to their common type (ARRAY[1, 1.2] is decimal(2,1)[]).
        for x in items:
            if ty.is_known(t_of(x)) and t_of(x) != elem:
                x.replace(cast(x.copy(), elem))
    node.type = array_of(elem)
    return None


def _map_ctor(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    if not a:
        return typed(exp.Anonymous(this="map", expressions=[]), map_of(ty.UNKNOWN, ty.UNKNOWN))
    keys, values = a
    return call("map", keys, values, dt=map_of(ty.element(t_of(keys)), ty.element(t_of(values))))


def _map_from_entries(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (entries,) = args(node)
    return call("map_from_entries", entries)


def _array_join(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    arr = a[0]
    if ty.is_float(ty.element(t_of(arr))):
        v = exp.column("_athena_v")
        arr = call(
            "list_transform", arr, _new_lambda(["_athena_v"], call("athena_double_to_varchar", v))
        )
    if len(a) == 3:
        return call("athena_array_join_null", arr, a[1], a[2], dt=ty.VARCHAR)
    return call("athena_array_join", arr, a[1], dt=ty.VARCHAR)


def _zip(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    if len(a) < 2:
        raise refuse("zip", "zip needs at least two arrays")
    return call("list_zip", *a)


# -- JSON --------------------------------------------------------------------------------------


def _json_path(node: exp.Expr, function: str) -> exp.Expr:
    """A Trino JSONPath literal as DuckDB reads it (``$.store[book]`` -> ``$.store.book``)."""
    if isinstance(node, exp.JSONPath):
        text = node.sql("trino").strip("'")
    else:
        text = literal_str(node, function, "JSON path")
    text = re.sub(r"\[\"([^\"]+)\"\]", lambda m: '."' + m.group(1) + '"', text)
    text = re.sub(r"\[([A-Za-z_][A-Za-z0-9_]*)\]", r".\1", text)
    if not text.startswith("$"):
        raise refuse(function, f"JSON path {text!r} must start with $")
    if re.search(r"\[\s*-|\*|\.\.|\?\(", text):
        raise refuse(
            function, f"JSON path {text!r} uses features the local engine reads differently"
        )
    return exp.Literal.string(text)


def _as_json_text(node: exp.Expr) -> exp.Expr:
    dt = t_of(node)
    return node if dt.this == T.JSON else cast(node, ty.VARCHAR)


def _json_extract(t: Translator, node: exp.Expr) -> exp.Expr | None:
    path = _json_path(node.expression, "json_extract")
    return call("json_extract", _as_json_text(node.this), path, dt=ty.JSON)


def _json_extract_scalar(t: Translator, node: exp.Expr) -> exp.Expr | None:
    path = _json_path(node.expression, "json_extract_scalar")
    return call("athena_json_scalar", _as_json_text(node.this), path, dt=ty.VARCHAR)


def _json_size(t: Translator, node: exp.Expr) -> exp.Expr | None:
    j, p = args(node)
    return call("athena_json_size", _as_json_text(j), _json_path(p, "json_size"), dt=ty.BIGINT)


def _json_array_contains(t: Translator, node: exp.Expr) -> exp.Expr | None:
    j, v = args(node)
    dt = t_of(v)
    if dt.this == T.BOOLEAN:
        udf, v2 = "athena_json_array_contains_boolean", v
    elif ty.is_numeric(dt):
        udf, v2 = "athena_json_array_contains_number", cast(v, ty.DOUBLE)
    elif dt.this in (T.VARCHAR, T.TEXT, T.CHAR):
        udf, v2 = "athena_json_array_contains_string", v
    else:
        raise refuse("json_array_contains", "the value's type is not known locally")
    return call(udf, cast(_as_json_text(j), ty.VARCHAR), v2, dt=ty.BOOLEAN)


def _json_format(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (j,) = args(node)
    return cast(call("json", j), ty.VARCHAR)


def _json_parse(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (j,) = args(node)
    return call("json", j, dt=ty.JSON)


# -- casts -------------------------------------------------------------------------------------


def translate_cast(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.Cast)
    to = node.to
    src = t_of(node.this)
    safe = isinstance(node, exp.TryCast) or bool(node.args.get("safe"))
    # DECIMAL '1.50' (no "safe" key: the parser built it from a typed literal) has the
    # literal's own precision and scale; CAST('1.50' AS DECIMAL) is decimal(38,0).
    if to.this == T.DECIMAL and not to.expressions and isinstance(node.this, exp.Literal):
        if "safe" not in node.args and node.this.is_string:
            dt = ty.decimal_literal_type(node.this.name)
            return cast(node.this, dt)
        to = ty.decimal(38, 0)
    if to.this == T.JSON:
        return call("to_json", node.this, dt=ty.JSON)
    if src.this == T.JSON and to.this in (T.VARCHAR, T.TEXT):
        return call("athena_json_to_varchar", node.this, dt=ty.VARCHAR)
    if to.this in (T.VARCHAR, T.TEXT, T.CHAR):
        text = _cast_to_varchar(node, src)
        if text is not None:
            return text
    if ty.is_integer(to) and (ty.is_float(src) or ty.is_decimal(src)):
        # Trino rounds half away from zero; DuckDB rounds doubles half to even.
        inner = call("round", node.this)
        out = exp.TryCast(this=inner, to=to.copy()) if safe else exp.Cast(this=inner, to=to.copy())
        return typed(out, to)
    literal = isinstance(node.this, exp.Literal) and node.this.is_string
    if to.this in (T.TIMESTAMPTZ, T.TIMETZ) and literal:
        _check_utc_literal(node.this.name)
    node.set("to", duck_type(to))
    node.type = to
    return None


def _cast_to_varchar(node: exp.Cast, src: exp.DataType) -> exp.Expr | None:
    """A cast to varchar printed as Trino prints the source type (None: DuckDB's own cast)."""
    if src.this == T.FLOAT:
        return call("athena_real_to_varchar", node.this, dt=ty.VARCHAR)
    if ty.is_float(src):
        return call("athena_double_to_varchar", node.this, dt=ty.VARCHAR)
    if src.this == T.TIMESTAMP:
        precision = int(src.expressions[0].name) if src.expressions else 3
        fraction = {0: "", 3: ".%g", 6: ".%f"}.get(precision)
        if fraction is None:
            raise refuse("cast", f"timestamp({precision}) to varchar is not supported locally")
        fmt = exp.Literal.string("%Y-%m-%d %H:%M:%S" + fraction)
        return call("strftime", node.this, fmt, dt=ty.VARCHAR)
    if not ty.is_known(src) and not isinstance(node.this, exp.Null) and src.this != T.NULL:
        raise refuse("cast", "the type of the value cast to varchar is not known locally")
    return None


_ZONE_RE = re.compile(r"(?:\s+|(?<=\d))([A-Za-z][\w/+\-]*|[+-]\d{1,2}(?::?\d{2})?)\s*$")


def _check_utc_literal(text: str, function: str = "timestamp with time zone") -> None:
    m = _ZONE_RE.search(text.strip())
    zone = m.group(1) if m else "UTC"
    if zone.upper() not in ("UTC", "Z", "+00:00", "+0000", "+00", "GMT", "ETC/UTC"):
        raise refuse(
            function,
            f"zone {zone!r}: the local engine keeps timestamps with time zone in UTC only "
            "(Athena would keep and print the zone)",
        )


# -- dates and times ---------------------------------------------------------------------------

_DATE_UNITS = {"day", "week", "month", "quarter", "year"}
_UNITS = {"millisecond", "second", "minute", "hour", *_DATE_UNITS}


def _unit(node: exp.Expr | None, function: str) -> str:
    if node is None:
        raise refuse(function, "the unit is missing")
    text = node.name.lower()
    if text not in _UNITS:
        raise refuse(function, f"unit {text!r} is not one of {', '.join(sorted(_UNITS))}")
    return text


def _date_add(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.DateAdd)
    unit = _unit(node.args.get("unit"), "date_add")
    value, target = node.expression, node.this
    dt = t_of(target)
    if dt.this == T.DATE and unit not in _DATE_UNITS:
        raise refuse("date_add", f"Trino cannot add {unit}s to a date")
    count = cast(value, ty.BIGINT)
    factor = {"week": ("day", 7), "quarter": ("month", 3)}.get(unit)
    if factor:
        unit, n = factor
        count = typed(exp.Mul(this=count, expression=exp.Literal.number(n)), ty.BIGINT)
    if unit == "millisecond":
        interval: exp.Expr = call("to_milliseconds", count)
    else:
        interval = exp.Interval(this=exp.Paren(this=count), unit=exp.var(unit.upper()))
    total = exp.Add(this=target, expression=interval)
    out_t = dt if ty.is_known(dt) else ty.TIMESTAMP
    return (
        cast(exp.Paren(this=total), duck_type(out_t))
        if dt.this == T.DATE
        else typed(exp.Paren(this=total), out_t)
    )


def _date_diff(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.DateDiff)
    unit = _unit(node.args.get("unit"), "date_diff")
    start, end = node.expression, node.this
    # Trino counts whole units elapsed (Joda), as DuckDB's date_sub does (date_diff counts
    # boundaries crossed).
    return call("date_sub", exp.Literal.string(unit), start, end, dt=ty.BIGINT)


def _date_trunc(t: Translator, node: exp.Expr) -> exp.Expr | None:
    unit = _unit(node.args.get("unit"), "date_trunc")
    x = node.this
    dt = t_of(x)
    out = call("date_trunc", exp.Literal.string(unit), x)
    if dt.this == T.DATE:
        if unit not in _DATE_UNITS:
            raise refuse("date_trunc", f"Trino cannot truncate a date to {unit}")
        return cast(out, ty.DATE)
    return typed(out, dt if ty.is_known(dt) else ty.TIMESTAMP)


def _part(duck: str, modulo: int | None = None) -> Rule:
    def rule(t: Translator, node: exp.Expr) -> exp.Expr | None:
        (x,) = args(node)
        _refuse_zoned(t_of(x), t.names(node) or duck)
        out = call(duck, x)
        if modulo:
            out = exp.Mod(this=out, expression=exp.Literal.number(modulo))
        return cast(exp.Paren(this=out), ty.BIGINT)

    return rule


def _refuse_zoned(dt: DT, function: str) -> None:
    del dt, function  # zoned values are UTC locally (others are refused where they are made)


_EXTRACT = {
    "year": "year",
    "quarter": "quarter",
    "month": "month",
    "week": "weekofyear",
    "day": "day",
    "day_of_month": "day",
    "day_of_week": "isodow",
    "dow": "isodow",
    "day_of_year": "dayofyear",
    "doy": "dayofyear",
    "year_of_week": "isoyear",
    "yow": "isoyear",
    "hour": "hour",
    "minute": "minute",
    "second": "second",
}


def _extract(t: Translator, node: exp.Expr) -> exp.Expr | None:
    assert isinstance(node, exp.Extract)
    field = node.this.name.lower()
    duck = _EXTRACT.get(field)
    if duck is None:
        raise refuse("extract", f"field {field.upper()} is not supported locally")
    return cast(call(duck, node.expression), ty.BIGINT)


# MySQL date_format specifiers -> strftime (None: Trino does not support it and fails)
_MYSQL = {
    "a": "%a", "b": "%b", "c": "%-m", "d": "%d", "e": "%-d", "f": "%f", "H": "%H", "h": "%I",
    "I": "%I", "i": "%M", "j": "%j", "k": "%-H", "l": "%-I", "M": "%B", "m": "%m", "p": "%p",
    "r": "%I:%M:%S %p", "S": "%S", "s": "%S", "T": "%H:%M:%S", "v": "%V", "W": "%A", "x": "%G",
    "Y": "%Y", "y": "%y", "%": "%%", "D": None, "U": None, "u": None, "V": None, "w": None,
    "X": None,
}  # fmt: skip


def _mysql_format(fmt: str, function: str) -> str:
    out, i = [], 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            spec = fmt[i + 1]
            if spec in _MYSQL:
                mapped = _MYSQL[spec]
                if mapped is None:
                    raise refuse(function, f"%{spec} is not supported by Trino either")
                out.append(mapped)
            else:
                out.append(spec.replace("%", "%%"))
            i += 2
        else:
            out.append("%%" if ch == "%" else ch)
            i += 1
    return "".join(out)


def _mysql_text(node: exp.Expr, function: str) -> str:
    """The MySQL format as written (sqlglot stores it converted to strftime)."""
    stored = literal_str(node, function, "format")
    athena = Dialect.get_or_raise("athena")
    return format_time(stored, athena.INVERSE_TIME_MAPPING, athena.INVERSE_TIME_TRIE) or stored


def _date_format(t: Translator, node: exp.Expr) -> exp.Expr | None:
    fmt = _mysql_text(node.args["format"], "date_format")
    return call(
        "strftime", node.this, exp.Literal.string(_mysql_format(fmt, "date_format")), dt=ty.VARCHAR
    )


def _date_parse(t: Translator, node: exp.Expr) -> exp.Expr | None:
    fmt = _mysql_text(node.args["format"], "date_parse")
    if any(s in fmt for s in ("%a", "%W", "%j", "%v", "%x", "%r")):
        raise refuse("date_parse", "parsing weekdays, day of year or week dates is not supported")
    parsed = call("strptime", node.this, exp.Literal.string(_mysql_format(fmt, "date_parse")))
    if "%y" in fmt:
        # Trino reads two-digit years as 1970-2069; strptime reads 69 as 1969.
        parsed = exp.Case(
            ifs=[
                exp.If(
                    this=exp.EQ(
                        this=call("year", parsed.copy()), expression=exp.Literal.number(1969)
                    ),
                    true=exp.Add(
                        this=parsed.copy(),
                        expression=exp.Interval(
                            this=exp.Literal.string("100"), unit=exp.var("YEAR")
                        ),
                    ),
                )
            ],
            default=parsed,
        )
    return cast(parsed, ty.TIMESTAMP)


_JODA = [
    ("yyyy", "%Y"), ("yy", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"), ("M", "%-m"),
    ("dd", "%d"), ("d", "%-d"), ("HH", "%H"), ("H", "%-H"), ("hh", "%I"), ("h", "%-I"),
    ("mm", "%M"), ("m", "%-M"), ("ss", "%S"), ("s", "%-S"), ("SSS", "%g"), ("a", "%p"),
    ("EEEE", "%A"), ("EEE", "%a"), ("DDD", "%j"), ("D", "%-j"), ("ZZ", "+00:00"), ("Z", "+0000"),
]  # fmt: skip


def _joda_format(fmt: str, function: str) -> str:
    out, i = [], 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "'":
            end = fmt.find("'", i + 1)
            if end < 0:
                raise refuse(function, "unterminated quoted text in the pattern")
            literal = fmt[i + 1 : end] if end > i + 1 else "'"
            out.append(literal.replace("%", "%%"))
            i = end + 1
            continue
        if ch.isalpha():
            run = len(fmt) - i - len(fmt[i:].lstrip(ch))
            token = fmt[i : i + run]
            for pattern, mapped in _JODA:
                if token == pattern:
                    out.append(mapped)
                    break
            else:
                if ch == "y" and run > 4:
                    raise refuse(function, f"pattern letters {token!r}")
                if ch == "E" and run < 3:
                    out.append("%a")
                elif ch == "y" and run in (1, 3):
                    out.append("%Y")
                else:
                    raise refuse(function, f"pattern letters {token!r} are not supported locally")
            i += run
            continue
        out.append("%%" if ch == "%" else ch)
        i += 1
    return "".join(out)


def _format_datetime(t: Translator, node: exp.Expr) -> exp.Expr | None:
    x, f = args(node)
    fmt = literal_str(f, "format_datetime", "format")
    return call(
        "strftime", x, exp.Literal.string(_joda_format(fmt, "format_datetime")), dt=ty.VARCHAR
    )


def _parse_datetime(t: Translator, node: exp.Expr) -> exp.Expr | None:
    x, f = args(node)
    fmt = literal_str(f, "parse_datetime", "format")
    if any(c in fmt for c in "zZE"):
        raise refuse("parse_datetime", "zone and weekday pattern letters are not supported locally")
    parsed = call("strptime", x, exp.Literal.string(_joda_format(fmt, "parse_datetime")))
    return cast(parsed, ty.TIMESTAMPTZ)


def _to_iso8601(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)
    dt = t_of(x)
    formats = {
        T.DATE: "%Y-%m-%d",
        T.TIMESTAMP: "%Y-%m-%dT%H:%M:%S.%g",
        T.TIMESTAMPTZ: "%Y-%m-%dT%H:%M:%S.%gZ",
    }
    if dt.this not in formats:
        raise refuse("to_iso8601", "the argument's type is not known locally")
    return call("strftime", x, exp.Literal.string(formats[dt.this]), dt=ty.VARCHAR)


def _from_unixtime(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    if len(a) > 1:
        zone = a[1]
        if not (isinstance(zone, exp.Literal) and zone.name.upper() in ("UTC", "Z")):
            raise refuse("from_unixtime", "zones other than UTC are not supported locally")
    return call("to_timestamp", cast(a[0], ty.DOUBLE), dt=ty.TIMESTAMPTZ)


def _at_time_zone(t: Translator, node: exp.Expr) -> exp.Expr | None:
    zone = node.args.get("zone")
    if isinstance(zone, exp.Literal) and zone.name.upper() in ("UTC", "Z"):
        x: exp.Expr = node.this
        if t_of(x).this == T.TIMESTAMPTZ:
            return x
        return cast(x, ty.TIMESTAMPTZ)
    raise refuse("at time zone", "zones other than UTC are not supported locally")


def _with_timezone(function: str) -> Rule:
    def rule(t: Translator, node: exp.Expr) -> exp.Expr | None:
        x, zone = args(node)
        if isinstance(zone, exp.Literal) and zone.name.upper() in ("UTC", "Z"):
            return cast(x, ty.TIMESTAMPTZ)
        raise refuse(function, "zones other than UTC are not supported locally")

    return rule


def _from_iso8601_timestamp(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)
    if isinstance(x, exp.Literal):
        _check_utc_literal(x.name.replace("T", " "), "from_iso8601_timestamp")
    else:
        raise refuse("from_iso8601_timestamp", "only literal arguments are supported locally")
    return cast(x, ty.TIMESTAMPTZ)


def _zone_field(t: Translator, node: exp.Expr) -> exp.Expr | None:
    """The zone's hour or minute offset: 0, since zoned values are UTC locally."""
    (x,) = args(node)
    if t_of(x).this != T.TIMESTAMPTZ:
        raise refuse(t.names(node) or "timezone_hour", "needs a timestamp with time zone")
    null = exp.Is(this=x, expression=exp.Null())
    zero = exp.Literal.number(0)
    return cast(exp.Case(ifs=[exp.If(this=null, true=exp.Null())], default=zero), ty.BIGINT)


def _localtimestamp(t: Translator, node: exp.Expr) -> exp.Expr | None:
    return cast(exp.CurrentTimestamp(), ty.build("TIMESTAMP(3)"))


def _current_timezone(t: Translator, node: exp.Expr) -> exp.Expr | None:
    return typed(exp.Literal.string("UTC"), ty.VARCHAR)


def _to_milliseconds(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)
    if ty.is_year_month(t_of(x)):
        raise refuse("to_milliseconds", "takes a day-to-second interval")
    return cast(
        call("round", exp.Mul(this=call("epoch", x), expression=exp.Literal.number(1000))),
        ty.BIGINT,
    )


def _date(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)
    return cast(x, ty.DATE)


# -- aggregates --------------------------------------------------------------------------------


def _avg(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)
    dt = t_of(x)
    if not ty.is_decimal(dt):
        node.type = ty.DOUBLE if ty.is_known(dt) else ty.UNKNOWN
        return None
    # avg of a decimal is a decimal of the same type, rounded half up (DuckDB gives a double).
    if isinstance(node.parent, exp.Window):
        raise refuse("avg", "avg of a decimal in a window is not supported locally")
    p, s = ty.decimal_params(dt) or (38, 0)
    total = exp.Sum(this=x.copy())
    count = exp.Count(this=x.copy())
    one = exp.Cast(this=exp.Literal.string("1"), to=ty.build("HUGEINT"))
    q = call(
        "athena_decimal_div", _unscaled(total, s), exp.Cast(this=count, to=ty.build("HUGEINT")), one
    )
    value: exp.Expr = exp.Cast(this=q, to=ty.decimal(38, 0))
    if s:
        value = exp.Mul(
            this=value,
            expression=exp.Cast(
                this=exp.Literal.string(f"0.{'0' * (s - 1)}1"), to=ty.decimal(s, s)
            ),
        )
    guarded = exp.Case(
        ifs=[
            exp.If(
                this=exp.EQ(this=count.copy(), expression=exp.Literal.number(0)), true=exp.Null()
            )
        ],
        default=value,
    )
    return cast(exp.Paren(this=guarded), ty.decimal(p, s))


def _sum(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)[:1]
    dt = t_of(x)
    if ty.is_integer(dt) and isinstance(node.parent, exp.Window):
        node.type = ty.BIGINT
        return None
    if ty.is_integer(dt):
        return cast(node.copy(), ty.BIGINT)
    if ty.is_decimal(dt):
        _, s = ty.decimal_params(dt) or (38, 0)
        node.type = ty.decimal(38, s)
        return None
    node.type = dt
    return None


def _approx_distinct(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    return typed(exp.Count(this=exp.Distinct(expressions=[a[0]])), ty.BIGINT)


def _approx_percentile(t: Translator, node: exp.Expr) -> exp.Expr | None:
    a = args(node)
    if (
        len(a) != 2
        or not isinstance(a[1], exp.Literal)
        or a[1].name not in ("0", "1", "0.0", "1.0")
    ):
        raise refuse(
            "approx_percentile",
            "only percentages 0 and 1 (the minimum and maximum) give Athena's exact answer "
            "locally; Athena's estimate for other percentages depends on its digest",
        )
    duck = "min" if float(a[1].name) == 0 else "max"
    return typed(exp.Anonymous(this=duck, expressions=[a[0]]), t_of(a[0]))


def _listagg(t: Translator, node: exp.Expr) -> exp.Expr | None:
    return None


def _geometric_mean(t: Translator, node: exp.Expr) -> exp.Expr | None:
    (x,) = args(node)
    return call("exp", exp.Avg(this=call("ln", x)), dt=ty.DOUBLE)


FUNCTIONS: dict[str, Rule] = {
    # Spellings sqlglot folds into another name (mod -> %, now -> current_timestamp,
    # position -> strpos): listed so that the allow-list names them; the folded name's rule runs.
    "mod": native(same_as_first),
    "now": native(ty.TIMESTAMPTZ),
    "position": _strpos,
    # math
    "abs": native(same_as_first),
    "cbrt": fn("athena_cbrt", ty.DOUBLE, cast_args=ty.DOUBLE),
    "ceil": native(same_as_first),
    "ceiling": native(same_as_first),
    "degrees": native(ty.DOUBLE),
    "e": _e,
    "exp": native(ty.DOUBLE),
    "floor": native(same_as_first),
    "ln": native(ty.DOUBLE),
    "log": _log,
    "log2": native(ty.DOUBLE),
    "log10": native(ty.DOUBLE),
    "pi": native(ty.DOUBLE),
    "pow": fn("pow", ty.DOUBLE, cast_args=ty.DOUBLE),
    "power": fn("pow", ty.DOUBLE, cast_args=ty.DOUBLE),
    "radians": native(ty.DOUBLE),
    "round": _round,
    "sign": _sign,
    "sqrt": native(ty.DOUBLE),
    "truncate": _truncate,
    "width_bucket": _width_bucket,
    "rand": native(ty.DOUBLE),
    "random": native(ty.DOUBLE),
    "acos": native(ty.DOUBLE),
    "asin": native(ty.DOUBLE),
    "atan": native(ty.DOUBLE),
    "atan2": native(ty.DOUBLE),
    "cos": native(ty.DOUBLE),
    "cosh": native(ty.DOUBLE),
    "sin": native(ty.DOUBLE),
    "sinh": native(ty.DOUBLE),
    "tan": native(ty.DOUBLE),
    "tanh": native(ty.DOUBLE),
    "infinity": _const_double("Infinity"),
    "nan": _const_double("NaN"),
    "is_finite": fn("isfinite", ty.BOOLEAN, cast_args=ty.DOUBLE),
    "is_infinite": fn("isinf", ty.BOOLEAN, cast_args=ty.DOUBLE),
    "is_nan": fn("isnan", ty.BOOLEAN, cast_args=ty.DOUBLE),
    "from_base": fn("athena_from_base", ty.BIGINT),
    "to_base": fn("athena_to_base", ty.VARCHAR),
    "cosine_similarity": _vector("list_cosine_similarity"),
    "cosine_distance": _cosine_distance,
    "euclidean_distance": _vector("list_distance"),
    "dot_product": _vector("list_inner_product"),
    "normal_cdf": fn("athena_normal_cdf", ty.DOUBLE, cast_args=ty.DOUBLE),
    "inverse_normal_cdf": fn("athena_inverse_normal_cdf", ty.DOUBLE, cast_args=ty.DOUBLE),
    # bitwise
    "bit_count": fn("athena_bit_count", ty.BIGINT, cast_args=ty.BIGINT),
    "bitwise_and": _bitwise_binary(exp.BitwiseAnd),
    "bitwise_or": _bitwise_binary(exp.BitwiseOr),
    "bitwise_xor": _bitwise_xor,
    "bitwise_not": _bitwise_not,
    "bitwise_left_shift": _shift("athena_left_shift"),
    "bitwise_right_shift": _shift("athena_right_shift"),
    "bitwise_right_shift_arithmetic": _shift("athena_right_shift_arithmetic"),
    # strings
    "chr": native(ty.VARCHAR),
    "codepoint": fn("athena_codepoint", ty.INTEGER),
    "concat": _concat,
    "concat_ws": _concat_ws,
    "ends_with": native(ty.BOOLEAN),
    "hamming_distance": fn("hamming", ty.BIGINT),
    "length": _length,
    "levenshtein_distance": fn("levenshtein", ty.BIGINT),
    "lower": native(ty.VARCHAR),
    "lpad": _pad,
    "rpad": _pad,
    "ltrim": _trim,
    "rtrim": _trim,
    "trim": _trim,
    "luhn_check": fn("athena_luhn_check", ty.BOOLEAN),
    "overlay": _overlay,
    "replace": _replace,
    "reverse": _reverse,
    "soundex": fn("athena_soundex", ty.VARCHAR),
    "split": _split,
    "split_part": fn("athena_split_part", ty.VARCHAR),
    "split_to_map": fn("athena_split_to_map", map_of(ty.VARCHAR, ty.VARCHAR)),
    "split_to_multimap": fn("athena_split_to_multimap", map_of(ty.VARCHAR, array_of(ty.VARCHAR))),
    "strpos": _strpos,
    "starts_with": native(ty.BOOLEAN),
    "substr": _substring,
    "substring": _substring,
    "translate": native(ty.VARCHAR),
    "upper": native(ty.VARCHAR),
    "normalize": _normalize,
    "to_utf8": _to_utf8,
    "from_utf8": _from_utf8,
    "to_hex": fn("hex", ty.VARCHAR),
    "from_hex": fn("unhex", DT(this=T.VARBINARY)),
    "to_base64": fn("to_base64", ty.VARCHAR),
    "from_base64": fn("from_base64", DT(this=T.VARBINARY)),
    "md5": _digest("md5"),
    "sha1": _digest("sha1"),
    "sha256": _digest("sha256"),
    "crc32": fn("athena_crc32", ty.BIGINT),
    "to_base64url": fn("athena_to_base64url", ty.VARCHAR),
    "from_base64url": fn("athena_from_base64url", DT(this=T.VARBINARY)),
    "to_base32": fn("athena_to_base32", ty.VARCHAR),
    "from_base32": fn("athena_from_base32", DT(this=T.VARBINARY)),
    "from_big_endian_32": fn("athena_from_big_endian_32", ty.INTEGER),
    "from_big_endian_64": fn("athena_from_big_endian_64", ty.BIGINT),
    "to_big_endian_32": fn("athena_to_big_endian_32", DT(this=T.VARBINARY)),
    "to_big_endian_64": fn("athena_to_big_endian_64", DT(this=T.VARBINARY)),
    "from_ieee754_32": fn("athena_from_ieee754_32", DT(this=T.FLOAT)),
    "from_ieee754_64": fn("athena_from_ieee754_64", ty.DOUBLE),
    "to_ieee754_32": fn("athena_to_ieee754_32", DT(this=T.VARBINARY)),
    "to_ieee754_64": fn("athena_to_ieee754_64", DT(this=T.VARBINARY)),
    "sha512": _sha512,
    "hmac_md5": fn("athena_hmac_md5", DT(this=T.VARBINARY)),
    "hmac_sha1": fn("athena_hmac_sha1", DT(this=T.VARBINARY)),
    "hmac_sha256": fn("athena_hmac_sha256", DT(this=T.VARBINARY)),
    "hmac_sha512": fn("athena_hmac_sha512", DT(this=T.VARBINARY)),
    # regular expressions
    "regexp_count": _regexp_count,
    "regexp_extract": _regexp_extract,
    "regexp_extract_all": _regexp_extract_all,
    "regexp_like": _regexp_like,
    "regexp_position": _regexp_position,
    "regexp_replace": _regexp_replace,
    "regexp_split": _regexp_split,
    # quantified comparisons (sqlglot reads ALL (VALUES ...) as a call)
    "all": _quantified(exp.All),
    "any": _quantified(exp.Any),
    "some": _quantified(exp.Any),
    # URL
    "url_extract_fragment": fn("athena_url_extract_fragment", ty.VARCHAR),
    "url_extract_host": fn("athena_url_extract_host", ty.VARCHAR),
    "url_extract_parameter": fn("athena_url_extract_parameter", ty.VARCHAR),
    "url_extract_path": fn("athena_url_extract_path", ty.VARCHAR),
    "url_extract_port": fn("athena_url_extract_port", ty.BIGINT),
    "url_extract_protocol": fn("athena_url_extract_protocol", ty.VARCHAR),
    "url_extract_query": fn("athena_url_extract_query", ty.VARCHAR),
    "url_encode": fn("athena_url_encode", ty.VARCHAR),
    "url_decode": fn("athena_url_decode", ty.VARCHAR),
    # JSON
    "is_json_scalar": fn("athena_is_json_scalar", ty.BOOLEAN),
    "json_array_contains": _json_array_contains,
    "json_array_get": fn("athena_json_array_get", ty.JSON),
    "json_array_length": fn("athena_json_array_length", ty.BIGINT),
    "json_extract": _json_extract,
    "json_extract_scalar": _json_extract_scalar,
    "json_format": _json_format,
    "json_parse": _json_parse,
    "json_size": _json_size,
    # arrays and maps
    "all_match": _match("athena_all_true"),
    "any_match": _match("athena_any_true"),
    "none_match": _match("athena_none_true"),
    "array_distinct": fn("athena_distinct", same_as_first),
    "array_except": fn("athena_array_except", same_as_first),
    "array_histogram": fn(
        "athena_array_histogram", lambda a: map_of(ty.element(t_of(a[0])), ty.BIGINT)
    ),
    "array_intersect": fn("athena_array_intersect", same_as_first),
    "array_join": _array_join,
    "array_max": fn("athena_array_max", element_of_first),
    "array_min": fn("athena_array_min", element_of_first),
    "array_position": fn("athena_array_position", ty.BIGINT),
    "array_remove": fn("athena_array_remove", same_as_first),
    "array_sort": _array_sort,
    "array_union": fn("athena_array_union", same_as_first),
    "arrays_overlap": fn("athena_arrays_overlap", ty.BOOLEAN),
    "cardinality": _cardinality,
    "contains": fn("athena_contains", ty.BOOLEAN),
    "contains_sequence": fn("athena_contains_sequence", ty.BOOLEAN),
    "element_at": lambda t, node: _element_at(t, node),
    "filter": _filter,
    "flatten": fn("flatten", element_of_first),
    "ngrams": fn("athena_ngrams", lambda a: array_of(t_of(a[0]))),
    "reduce": _reduce,
    "repeat": fn("athena_repeat", lambda a: array_of(t_of(a[0]))),
    "sequence": _sequence,
    "slice": fn("athena_slice", same_as_first),
    "trim_array": fn("athena_trim_array", same_as_first),
    "transform": _transform,
    "zip": _zip,
    "zip_with": _zip_with,
    "map": _map_ctor,
    "map_concat": fn("map_concat", same_as_first),
    "map_entries": fn("athena_map_entries"),
    "map_filter": _map_filter,
    "map_from_entries": _map_from_entries,
    "map_keys": fn("map_keys", lambda a: array_of(ty.map_types(t_of(a[0]))[0])),
    "map_values": fn("map_values", lambda a: array_of(ty.map_types(t_of(a[0]))[1])),
    "map_zip_with": _map_zip_with,
    "multimap_from_entries": fn("athena_multimap_from_entries"),
    "transform_keys": _map_transform("key"),
    "transform_values": _map_transform("value"),
    # dates and times
    "current_date": native(ty.DATE),
    "current_timestamp": native(ty.TIMESTAMPTZ),
    "current_timezone": _current_timezone,
    "timezone": _timezone,
    "timezone_hour": _zone_field,
    "timezone_minute": _zone_field,
    "localtimestamp": _localtimestamp,
    "date": _date,
    "date_add": _date_add,
    "date_diff": _date_diff,
    "date_format": _date_format,
    "date_parse": _date_parse,
    "date_trunc": _date_trunc,
    "day": _part("day"),
    "day_of_month": _part("day"),
    "day_of_week": _part("isodow"),
    "dow": _part("isodow"),
    "day_of_year": _part("dayofyear"),
    "doy": _part("dayofyear"),
    "format_datetime": _format_datetime,
    "from_iso8601_date": fn("athena_from_iso8601_date", ty.DATE),
    "from_iso8601_timestamp": _from_iso8601_timestamp,
    "from_unixtime": _from_unixtime,
    "hour": _part("hour"),
    "human_readable_seconds": fn("athena_human_readable_seconds", ty.VARCHAR, cast_args=ty.DOUBLE),
    "last_day_of_month": fn("last_day", ty.DATE),
    "millisecond": _part("millisecond", 1000),
    "minute": _part("minute"),
    "month": _part("month"),
    "parse_datetime": _parse_datetime,
    "parse_duration": fn("athena_parse_duration", ty.interval(False)),
    "quarter": _part("quarter"),
    "second": _part("second"),
    "to_iso8601": _to_iso8601,
    "to_milliseconds": _to_milliseconds,
    "to_unixtime": fn("epoch", ty.DOUBLE),
    "week": _part("weekofyear"),
    "week_of_year": _part("weekofyear"),
    "with_timezone": _with_timezone("with_timezone"),
    "at_timezone": _with_timezone("at_timezone"),
    "year": _part("year"),
    "year_of_week": _part("isoyear"),
    "yow": _part("isoyear"),
    # conversion
    "parse_data_size": fn("athena_parse_data_size", ty.decimal(38, 0)),
    # aggregates
    "avg": _avg,
    "sum": _sum,
    "min": native(same_as_first),
    "max": native(same_as_first),
    "count_if": native(ty.BIGINT),
    "bool_and": native(ty.BOOLEAN),
    "bool_or": native(ty.BOOLEAN),
    "every": fn("bool_and", ty.BOOLEAN),
    "greatest": native(same_as_first),
    "least": native(same_as_first),
    "arbitrary": native(same_as_first),
    "any_value": native(same_as_first),
    "array_agg": native(lambda a: array_of(t_of(a[0]))),
    "max_by": native(same_as_first),
    "min_by": native(same_as_first),
    "approx_distinct": _approx_distinct,
    "approx_percentile": _approx_percentile,
    "listagg": _listagg,
    "geometric_mean": _geometric_mean,
    "stddev": native(ty.DOUBLE),
    "stddev_samp": native(ty.DOUBLE),
    "stddev_pop": native(ty.DOUBLE),
    "variance": native(ty.DOUBLE),
    "var_samp": native(ty.DOUBLE),
    "var_pop": native(ty.DOUBLE),
    "corr": native(ty.DOUBLE),
    "covar_pop": native(ty.DOUBLE),
    "covar_samp": native(ty.DOUBLE),
    "regr_slope": native(ty.DOUBLE),
    "regr_intercept": native(ty.DOUBLE),
    "bitwise_and_agg": fn("bit_and", ty.BIGINT),
    "bitwise_or_agg": fn("bit_or", ty.BIGINT),
    # window functions
    "row_number": native(ty.BIGINT),
    "rank": native(ty.BIGINT),
    "dense_rank": native(ty.BIGINT),
    "percent_rank": native(ty.DOUBLE),
    "cume_dist": native(ty.DOUBLE),
    "ntile": native(ty.BIGINT),
    "lag": native(same_as_first),
    "lead": native(same_as_first),
    "first_value": native(same_as_first),
    "last_value": native(same_as_first),
    "nth_value": native(same_as_first),
}


def _count(t: Translator, node: exp.Expr) -> exp.Expr | None:
    node.type = ty.BIGINT
    return None


def _first_known(t: Translator, node: exp.Expr) -> exp.Expr | None:
    for x in args(node):
        if ty.is_known(t_of(x)):
            node.type = t_of(x)
            break
    return None


def _if(t: Translator, node: exp.Expr) -> exp.Expr | None:
    for key in ("true", "false"):
        x = node.args.get(key)
        if x is not None and ty.is_known(t_of(x)):
            node.type = t_of(x)
            break
    return None


NODE_RULES: dict[type[exp.Expr], Rule] = {
    exp.Array: _array_ctor,
    exp.AtTimeZone: _at_time_zone,
    exp.Extract: _extract,
    exp.Count: _count,
    exp.Coalesce: _first_known,
    exp.Nullif: _first_known,
    exp.If: _if,
}
