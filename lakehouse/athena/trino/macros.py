"""DuckDB macros that give Trino's semantics where DuckDB's built-ins differ.

Each macro is named ``athena_<what>`` so that it can never shadow a DuckDB function, and is pure
(no file, setting or catalog access), so it is safe under the tenant lock-down. The translator
(:mod:`lakehouse.athena.trino.translator`) calls them; Athena SQL cannot name them directly
because the function allow-list only knows Trino names.
"""

from __future__ import annotations

import duckdb

from lakehouse.athena.trino import udfs
from lakehouse.athena.trino.output import java_double, java_float

MACROS: dict[str, str] = {
    # -- arrays (Trino keeps the first occurrence's order; NULL is a value in set operations) --
    "athena_distinct(l)": "list_filter(l, lambda x, i: list_position(l, x) = i)",
    "athena_array_intersect(a, b)": (
        "list_filter(athena_distinct(a), lambda x: list_position(b, x) IS NOT NULL)"
    ),
    "athena_array_union(a, b)": "athena_distinct(list_concat(a, b))",
    "athena_array_except(a, b)": (
        "list_filter(athena_distinct(a), lambda x: list_position(b, x) IS NULL)"
    ),
    "athena_array_histogram(a)": (
        "map_from_entries(list_transform(athena_distinct(list_filter(a, lambda x: x IS NOT NULL)),"
        " lambda x: {'key': x, 'value': len(list_filter(a, lambda y: y = x))}))"
    ),
    # array_max/array_min are NULL when any element is NULL (ArrayMaxFunction)
    "athena_array_max(a)": (
        "CASE WHEN list_position(a, NULL) IS NOT NULL THEN NULL ELSE list_max(a) END"
    ),
    "athena_array_min(a)": (
        "CASE WHEN list_position(a, NULL) IS NOT NULL THEN NULL ELSE list_min(a) END"
    ),
    "athena_contains(a, x)": (
        "CASE WHEN x IS NULL THEN NULL WHEN list_contains(a, x) THEN true"
        " WHEN list_position(a, NULL) IS NOT NULL THEN NULL ELSE false END"
    ),
    "athena_arrays_overlap(a, b)": (
        "CASE WHEN len(list_filter(a, lambda x: x IS NOT NULL AND list_contains(b, x))) > 0"
        " THEN true WHEN list_position(a, NULL) IS NOT NULL OR list_position(b, NULL) IS NOT NULL"
        " THEN NULL ELSE false END"
    ),
    "athena_array_position(a, x)": "coalesce(list_position(a, x), 0)",
    "athena_array_remove(a, x)": "list_filter(a, lambda e: e IS NULL OR e <> x)",
    "athena_contains_sequence(a, s)": (
        "len(s) = 0 OR coalesce(list_bool_or(list_transform(range(1, len(a) - len(s) + 2),"
        " lambda i: a[i:i + len(s) - 1] = s)), false)"
    ),
    "athena_ngrams(a, n)": (
        "CASE WHEN n <= 0 THEN error('ngrams: N must be positive') WHEN len(a) <= n THEN [a]"
        " ELSE list_transform(range(1, len(a) - n + 2), lambda i: a[i:i + n - 1]) END"
    ),
    "athena_slice(a, s, n)": (
        "CASE WHEN s = 0 THEN error('slice: SQL array indices start at 1')"
        " WHEN n < 0 THEN error('slice: length must be greater than or equal to 0')"
        " WHEN s > 0 THEN a[s:s + n - 1] WHEN len(a) + s + 1 < 1 THEN a[1:0]"
        " ELSE a[len(a) + s + 1:len(a) + s + n] END"
    ),
    "athena_trim_array(a, n)": (
        "CASE WHEN n < 0 OR n > len(a) THEN error('trim_array: size must not be negative or"
        " greater than the array length') ELSE a[1:len(a) - n] END"
    ),
    "athena_repeat(x, n)": (
        "CASE WHEN n < 0 THEN error('repeat: count argument of repeat function must be greater"
        " than or equal to 0') ELSE list_transform(range(n), lambda i: x) END"
    ),
    "athena_sequence(a, b)": "generate_series(a, b, CASE WHEN a <= b THEN 1 ELSE -1 END)",
    "athena_sequence_step(a, b, s)": (
        "CASE WHEN s = 0 THEN error('sequence: step must not be zero')"
        " WHEN (s > 0 AND a > b) OR (s < 0 AND a < b) THEN error('sequence stop value should be"
        " greater than or equal to start value if step is greater than zero otherwise stop should"
        " be less than or equal to start') ELSE generate_series(a, b, s) END"
    ),
    "athena_date_sequence(a, b)": (
        "list_transform(generate_series(CAST(a AS TIMESTAMP), CAST(b AS TIMESTAMP),"
        " CASE WHEN a <= b THEN INTERVAL 1 DAY ELSE INTERVAL (-1) DAY END),"
        " lambda t: CAST(t AS DATE))"
    ),
    "athena_map_entries(m)": "list_transform(map_entries(m), lambda e: row(e.key, e.value))",
    "athena_multimap_from_entries(e)": (
        "map(athena_distinct(list_transform(e, lambda r: r[1])),"
        " list_transform(athena_distinct(list_transform(e, lambda r: r[1])),"
        " lambda k: list_transform(list_filter(e, lambda r: r[1] = k), lambda r: r[2])))"
    ),
    "athena_any_true(t)": (
        "CASE WHEN list_position(t, true) IS NOT NULL THEN true"
        " WHEN list_position(t, NULL) IS NOT NULL THEN NULL ELSE false END"
    ),
    "athena_all_true(t)": (
        "CASE WHEN list_position(t, false) IS NOT NULL THEN false"
        " WHEN list_position(t, NULL) IS NOT NULL THEN NULL ELSE true END"
    ),
    "athena_none_true(t)": (
        "CASE WHEN list_position(t, true) IS NOT NULL THEN false"
        " WHEN list_position(t, NULL) IS NOT NULL THEN NULL ELSE true END"
    ),
    "athena_array_join(a, sep)": "array_to_string(list_filter(a, lambda x: x IS NOT NULL), sep)",
    "athena_array_join_null(a, sep, r)": (
        "array_to_string(list_transform(a, lambda x: coalesce(CAST(x AS VARCHAR), r)), sep)"
    ),
    # -- strings --
    "athena_split_part(s, d, i)": (
        "CASE WHEN i < 1 THEN error('split_part: Index must be greater than zero')"
        " WHEN i > len(string_split(s, d)) THEN NULL ELSE split_part(s, d, i) END"
    ),
    "athena_split_to_map(s, e, kv)": (
        "map_from_entries(list_transform(list_filter(string_split(s, e), lambda p: p <> ''),"
        " lambda p: {'key': split_part(p, kv, 1),"
        " 'value': substr(p, strpos(p, kv) + length(kv))}))"
    ),
    "athena_split_to_multimap(s, e, kv)": (
        "athena_multimap_from_entries(list_transform(list_filter(string_split(s, e),"
        " lambda p: p <> ''), lambda p: row(split_part(p, kv, 1),"
        " substr(p, strpos(p, kv) + length(kv)))))"
    ),
    # Trino's substr: start 0, or a start before the beginning or past the end, is ''.
    "athena_substr(s, st)": (
        "CASE WHEN st = 0 OR st > length(s) OR length(s) + st + 1 <= 0 THEN ''"
        " WHEN st < 0 THEN substring(s, length(s) + st + 1) ELSE substring(s, st) END"
    ),
    "athena_substr_len(s, st, n)": (
        "CASE WHEN st = 0 OR n <= 0 OR st > length(s) OR length(s) + st + 1 <= 0 THEN ''"
        " ELSE substring(s, CASE WHEN st < 0 THEN length(s) + st + 1 ELSE st END, n) END"
    ),
    "athena_overlay(s, r, st, n)": "substr(s, 1, st - 1) || r || substr(s, st + greatest(n, 0))",
    "athena_codepoint(s)": (
        "CASE WHEN length(s) <> 1 THEN error('codepoint: Input string must be a single character"
        " string') ELSE unicode(s) END"
    ),
    # -- regular expressions (RE2 after the translator refused Java-only syntax) --
    "athena_regexp_extract(s, p, g)": (
        "CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p, g) END"
    ),
    "athena_regexp_count(s, p)": "len(regexp_extract_all(s, p))",
    "athena_regexp_position(s, p, st, occ)": (
        "CASE WHEN st < 1 THEN error('regexp_position: start position must be a positive integer')"
        " WHEN occ < 1 THEN error('regexp_position: occurrence must be a positive integer')"
        " ELSE coalesce(list_filter(list_transform(range(1, len(regexp_extract_all(s, p)) + 1),"
        " lambda k: 1 + coalesce(list_sum(list_transform(string_split_regex(s, p)[1:k],"
        " lambda x: length(x))), 0) + coalesce(list_sum(list_transform("
        " regexp_extract_all(s, p)[1:k - 1], lambda x: length(x))), 0)),"
        " lambda pos: pos >= st)[occ], -1) END"
    ),
    # -- JSON --
    "athena_json_scalar(j, p)": (
        "CASE WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') THEN NULL"
        " ELSE json_extract_string(j, p) END"
    ),
    "athena_json_size(j, p)": (
        "CASE json_type(j, p) WHEN 'OBJECT' THEN len(json_keys(j, p))"
        " WHEN 'ARRAY' THEN json_array_length(j, p)"
        " ELSE CASE WHEN json_type(j, p) IS NULL THEN NULL ELSE 0 END END"
    ),
    "athena_json_array_length(j)": (
        "CASE WHEN json_type(j) = 'ARRAY' THEN json_array_length(j) END"
    ),
    "athena_is_json_scalar(j)": "json_type(j) NOT IN ('OBJECT', 'ARRAY')",
    "athena_json_to_varchar(j)": (
        "CASE json_type(j) WHEN 'NULL' THEN NULL"
        " WHEN 'OBJECT' THEN error('Cannot cast JSON object to varchar')"
        " WHEN 'ARRAY' THEN error('Cannot cast JSON array to varchar')"
        " ELSE json_extract_string(j, '$') END"
    ),
    # -- numbers --
    "athena_decimal_div(n, d, f)": (
        "CASE WHEN d = 0 THEN error('Division by zero')"
        " ELSE sign(n) * sign(d) * ((2 * abs(n) * f + abs(d)) // (2 * abs(d))) END"
    ),
    "athena_width_bucket(x, b1, b2, n)": (
        "CASE WHEN n <= 0 THEN error('width_bucket: bucketCount must be greater than 0')"
        " WHEN b1 = b2 THEN error('width_bucket: bounds cannot equal each other')"
        " WHEN b1 < b2 THEN (CASE WHEN x < b1 THEN 0 WHEN x >= b2 THEN n + 1"
        " ELSE CAST(floor((x - b1) / (b2 - b1) * n) AS BIGINT) + 1 END)"
        " ELSE (CASE WHEN x > b1 THEN 0 WHEN x <= b2 THEN n + 1"
        " ELSE CAST(floor((b1 - x) / (b1 - b2) * n) AS BIGINT) + 1 END) END"
    ),
    # -- intervals as Athena prints them --
    "athena_interval_ym_text(i)": (
        "CAST(datepart('year', i) AS VARCHAR) || '-' || CAST(datepart('month', i) AS VARCHAR)"
    ),
    "athena_ms_text(ms)": (
        "CASE WHEN ms < 0 THEN '-' ELSE '' END || CAST(abs(ms) // 86400000 AS VARCHAR) || ' '"
        " || lpad(CAST(abs(ms) % 86400000 // 3600000 AS VARCHAR), 2, '0') || ':'"
        " || lpad(CAST(abs(ms) % 3600000 // 60000 AS VARCHAR), 2, '0') || ':'"
        " || lpad(CAST(abs(ms) % 60000 // 1000 AS VARCHAR), 2, '0') || '.'"
        " || lpad(CAST(abs(ms) % 1000 AS VARCHAR), 3, '0')"
    ),
    "athena_interval_ds_text(i)": "athena_ms_text(CAST(round(epoch(i) * 1000) AS BIGINT))",
}


def install(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the macros and register the Python UDFs on ``connection`` (idempotent)."""
    udfs.register(connection)
    connection.create_function(  # type: ignore[call-overload]
        "athena_double_to_varchar",
        lambda v: None if v is None else java_double(v),
        [duckdb.sqltype("DOUBLE")],  # type: ignore[list-item]
        duckdb.sqltype("VARCHAR"),  # type: ignore[arg-type]
        null_handling="special",
        side_effects=False,
    )
    connection.create_function(  # type: ignore[call-overload]
        "athena_real_to_varchar",
        lambda v: None if v is None else java_float(v),
        [duckdb.sqltype("FLOAT")],  # type: ignore[list-item]
        duckdb.sqltype("VARCHAR"),  # type: ignore[arg-type]
        null_handling="special",
        side_effects=False,
    )
    for signature, body in MACROS.items():
        connection.execute(f"create or replace macro {signature} as {body}")
