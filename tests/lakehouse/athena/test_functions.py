"""The function allow-list: every listed function runs, nothing DuckDB-only is listed."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from lakehouse.athena import functions, translate
from lakehouse.athena.guard import READ_DIALECT

# One call per supported function that the translation and DuckDB run today.
SAMPLES: dict[str, str] = {
    "abs": "abs(1)",
    "acos": "acos(1)",
    "approx_distinct": "approx_distinct(1)",
    "approx_percentile": "approx_percentile(1, 1)",
    "arbitrary": "arbitrary(1)",
    "array_agg": "array_agg(1)",
    "array_distinct": "array_distinct(ARRAY[1, 2, 3])",
    "array_except": "array_except(ARRAY[1, 2, 3], ARRAY[1, 2, 3])",
    "array_intersect": "array_intersect(ARRAY[1, 2, 3], ARRAY[1, 2, 3])",
    "array_join": "array_join(ARRAY[1, 2, 3], 'abc')",
    "array_max": "array_max(ARRAY[1, 2, 3])",
    "array_min": "array_min(ARRAY[1, 2, 3])",
    "array_position": "array_position(ARRAY[1, 2, 3], 1)",
    "array_remove": "array_remove(ARRAY[1, 2, 3], 1)",
    "array_sort": "array_sort(ARRAY[1, 2, 3])",
    "asin": "asin(1)",
    "atan": "atan(1)",
    "atan2": "atan2(1, 1)",
    "avg": "avg(1)",
    "bar": "bar(1, 1, 1)",
    "bit_count": "bit_count(1)",
    "bitwise_and": "bitwise_and(1, 1)",
    "bitwise_and_agg": "bitwise_and_agg(1)",
    "bitwise_not": "bitwise_not(1)",
    "bitwise_or": "bitwise_or(1, 1)",
    "bitwise_or_agg": "bitwise_or_agg(1)",
    "bitwise_xor": "bitwise_xor(1, 1)",
    "bool_and": "bool_and(1)",
    "bool_or": "bool_or(1)",
    "cardinality": "cardinality(ARRAY[1, 2, 3])",
    "cbrt": "cbrt(1)",
    "ceil": "ceil(1)",
    "ceiling": "ceiling(1)",
    "chr": "chr(1)",
    "coalesce": "coalesce(1)",
    "concat": "concat(1)",
    "concat_ws": "concat_ws('abc', 1)",
    "contains": "contains(ARRAY[1, 2, 3], 1)",
    "corr": "corr(1, 1)",
    "cos": "cos(1)",
    "cosh": "cosh(1)",
    "count": "count()",
    "count_if": "count_if(true)",
    "covar_pop": "covar_pop(1, 1)",
    "covar_samp": "covar_samp(1, 1)",
    "cume_dist": "cume_dist() OVER (ORDER BY 1)",
    "current_date": "current_date()",
    "current_time": "current_time()",
    "current_timestamp": "current_timestamp()",
    "current_user": "current_user()",
    "date": "date(DATE '2024-01-01')",
    "date_add": "date_add('day', 1, TIMESTAMP '2024-01-01 00:00:00')",
    "date_diff": "date_diff('day', DATE '2024-01-01', DATE '2024-03-01')",
    "date_format": "date_format(TIMESTAMP '2024-01-31 10:00:00', '%Y-%m')",
    "date_parse": "date_parse('abc', 'abc')",
    "date_trunc": "date_trunc('day', DATE '2024-01-01')",
    "day": "day(DATE '2024-01-01')",
    "day_of_month": "day_of_month(DATE '2024-01-01')",
    "day_of_week": "day_of_week(DATE '2024-01-01')",
    "day_of_year": "day_of_year(DATE '2024-01-01')",
    "degrees": "degrees(1)",
    "dense_rank": "dense_rank() OVER (ORDER BY 1)",
    "dow": "dow(DATE '2024-01-01')",
    "doy": "doy(DATE '2024-01-01')",
    "element_at": "element_at('abc', 1)",
    "exp": "exp(1)",
    "filter": "filter(ARRAY[1, 2, 3], x -> x + 1)",
    "first_value": "first_value(1) OVER (ORDER BY 1)",
    "floor": "floor(1)",
    "format": "format('abc')",
    "from_hex": "from_hex('abc')",
    "from_iso8601_date": "from_iso8601_date(DATE '2024-01-01')",
    "from_iso8601_timestamp": "from_iso8601_timestamp(DATE '2024-01-01')",
    "from_iso8601_timestamp_nanos": "from_iso8601_timestamp_nanos(DATE '2024-01-01')",
    "from_unixtime": "from_unixtime(1)",
    "from_utf8": "from_utf8('abc')",
    "geometric_mean": "geometric_mean(1)",
    "greatest": "greatest(1)",
    "histogram": "histogram(1)",
    "hour": "hour(DATE '2024-01-01')",
    "is_nan": "is_nan(1)",
    "json_array_length": "json_array_length(2.5)",
    "json_extract": "json_extract(2.5, 1)",
    "json_extract_scalar": "json_extract_scalar(2.5, 1)",
    "json_format": "json_format(1)",
    "json_parse": "json_parse(2.5)",
    "json_query": "json_query(2.5, 1)",
    "json_value": "json_value(2.5, 1)",
    "kurtosis": "kurtosis(1)",
    "lag": "lag(1) OVER (ORDER BY 1)",
    "last_day_of_month": "last_day_of_month(DATE '2024-01-01')",
    "last_value": "last_value(1) OVER (ORDER BY 1)",
    "lead": "lead(1) OVER (ORDER BY 1)",
    "least": "least(1)",
    "length": "length('abc')",
    "levenshtein_distance": "levenshtein_distance('abc', 'abc')",
    "listagg": "listagg(1)",
    "ln": "ln(1)",
    "localtime": "localtime()",
    "localtimestamp": "localtimestamp()",
    "log": "log(1)",
    "log10": "log10()",
    "log2": "log2()",
    "lower": "lower('abc')",
    "lpad": "lpad('abc', 1)",
    "ltrim": "ltrim('abc')",
    "map_concat": "map_concat(MAP(ARRAY['a'], ARRAY[1]), MAP(ARRAY['a'], ARRAY[1]))",
    "map_entries": "map_entries(MAP(ARRAY['a'], ARRAY[1]))",
    "map_keys": "map_keys(MAP(ARRAY['a'], ARRAY[1]))",
    "map_values": "map_values(MAP(ARRAY['a'], ARRAY[1]))",
    "max": "max(1)",
    "max_by": "max_by(1, 1)",
    "md5": "md5('abc')",
    "millisecond": "millisecond(DATE '2024-01-01')",
    "min": "min(1)",
    "min_by": "min_by(1, 1)",
    "minute": "minute(DATE '2024-01-01')",
    "mod": "mod(1, 1)",
    "month": "month(DATE '2024-01-01')",
    "now": "now()",
    "nth_value": "nth_value(1, 1) OVER (ORDER BY 1)",
    "ntile": "ntile(1) OVER (ORDER BY 1)",
    "nullif": "nullif(1, 1)",
    "parse_datetime": "parse_datetime('abc', 'abc')",
    "percent_rank": "percent_rank() OVER (ORDER BY 1)",
    "pi": "pi()",
    "position": "position('abc', 'abc')",
    "pow": "pow(1, 1)",
    "power": "power(1, 1)",
    "quarter": "quarter(DATE '2024-01-01')",
    "radians": "radians(1)",
    "rand": "rand()",
    "random": "random()",
    "rank": "rank() OVER (ORDER BY 1)",
    "reduce": "reduce(ARRAY[1, 2, 3], 1, (s, x) -> s + x)",
    "regexp_count": "regexp_count('abc', 'abc')",
    "regexp_extract": "regexp_extract('abc', 'abc')",
    "regexp_extract_all": "regexp_extract_all('abc', 'abc')",
    "regexp_like": "regexp_like('abc', 'abc')",
    "regexp_replace": "regexp_replace('abc', 'abc')",
    "regexp_split": "regexp_split('abc', 'abc')",
    "regr_intercept": "regr_intercept(1, 1)",
    "regr_slope": "regr_slope(1, 1)",
    "repeat": "repeat('abc', 1)",
    "replace": "replace('abc', 'abc')",
    "reverse": "reverse('abc')",
    "round": "round(1)",
    "row_number": "row_number() OVER (ORDER BY 1)",
    "rpad": "rpad('abc', 1)",
    "rtrim": "rtrim('abc')",
    "second": "second(DATE '2024-01-01')",
    "sequence": "sequence(1, 1)",
    "sha1": "sha1('abc')",
    "sha256": "sha256('abc')",
    "sign": "sign(1)",
    "sin": "sin(1)",
    "sinh": "sinh(1)",
    "skewness": "skewness(1)",
    "slice": "slice('day', 1, 1)",
    "split": "split('abc', 'abc')",
    "split_part": "split_part('day', 'day', 1)",
    "sqrt": "sqrt(1)",
    "starts_with": "starts_with('abc', 'abc')",
    "stddev": "stddev(1)",
    "stddev_pop": "stddev_pop(1)",
    "stddev_samp": "stddev_samp(1)",
    "strpos": "strpos('abc', 'abc')",
    "substr": "substr('abc', 1)",
    "substring": "substring('abc', 1)",
    "sum": "sum(1)",
    "tan": "tan(1)",
    "tanh": "tanh(1)",
    "timezone_hour": "timezone_hour(TIMESTAMP '2024-01-01 00:00:00')",
    "timezone_minute": "timezone_minute(TIMESTAMP '2024-01-01 00:00:00')",
    "to_base64": "to_base64('abc')",
    "to_char": "to_char('abc', DATE '2024-01-01')",
    "to_hex": "to_hex(1)",
    "to_milliseconds": "to_milliseconds(1)",
    "to_timestamp": "to_timestamp(1)",
    "to_unixtime": "to_unixtime(DATE '2024-01-01')",
    "to_utf8": "to_utf8('abc')",
    "transform": "transform(ARRAY[1, 2, 3], x -> x + 1)",
    "translate": "translate('day', 'day', 'day')",
    "trim": "trim('abc')",
    "truncate": "truncate(1)",
    "typeof": "typeof(1)",
    "upper": "upper('abc')",
    "url_decode": "url_decode('abc')",
    "url_encode": "url_encode('abc')",
    "uuid": "uuid()",
    "var_pop": "var_pop(1)",
    "var_samp": "var_samp(1)",
    "variance": "variance(1)",
    "week": "week(DATE '2024-01-01')",
    "week_of_year": "week_of_year(DATE '2024-01-01')",
    "year": "year(DATE '2024-01-01')",
    "year_of_week": "year_of_week(DATE '2024-01-01')",
    "array": "ARRAY[1, 2]",
    "case": "CASE WHEN 1 = 1 THEN 'a' END",
    "cast": "CAST(1 AS VARCHAR)",
    "try_cast": "TRY_CAST('x' AS INTEGER)",
    "exists": "EXISTS(SELECT 1)",
    "extract": "EXTRACT(DAY FROM DATE '2024-01-31')",
    "if": "IF(1 = 1, 'a', 'b')",
    "map": "MAP(ARRAY['a'], ARRAY[1])",
    "row": "ROW(1, 'a')",
    "unnest": "UNNEST(ARRAY[1, 2])",
    "try": "TRY(1 / 0)",
}

# DuckDB functions that read files, evaluate SQL text, or reveal settings, secrets, the
# environment or the catalog. None exists in Athena; none may ever be listed.
DANGEROUS = (
    "read_csv", "read_csv_auto", "read_parquet", "read_json", "read_text", "read_blob",
    "parquet_scan", "parquet_metadata", "glob", "query", "query_table", "getenv",
    "current_setting", "json_execute_serialized_sql", "json_serialize_sql",
    "json_deserialize_sql", "json_serialize_plan", "sql_auto_complete", "which_secret",
    "duckdb_settings", "duckdb_secrets", "duckdb_tables", "duckdb_functions",
    "duckdb_extensions", "getvariable", "set_variable", "current_database", "current_schemas",
    "pragma_version", "load_extension", "sniff_csv", "checkpoint", "iceberg_scan",
)  # fmt: skip


def test_every_function_has_a_sample_and_every_sample_is_listed() -> None:
    assert set(SAMPLES) == set(functions.SPECS)


@pytest.mark.parametrize("name", sorted(functions.SPECS))
def test_each_supported_function_runs(name: str) -> None:
    tree = sqlglot.parse_one(f"SELECT {SAMPLES[name]}", read=READ_DIALECT)
    if functions.SPECS[name].kind == "window":
        assert tree.find(exp.Window) is not None
    for call in tree.find_all(exp.Func):
        assert functions.is_supported(functions.athena_name(call)), call.sql(READ_DIALECT)
    con = duckdb.connect()
    try:
        con.execute(translate.to_duckdb(tree)).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("name", DANGEROUS)
def test_duckdb_only_functions_are_never_listed(name: str) -> None:
    assert not functions.is_supported(name)
    for args in ("('x')", "()"):
        try:
            tree = sqlglot.parse_one(f"SELECT {name}{args}", read=READ_DIALECT)
        except sqlglot.ParseError:
            continue
        for call in tree.find_all(exp.Func):
            assert not functions.is_supported(functions.athena_name(call))


@pytest.mark.parametrize(
    ("written", "athena"),
    [("now()", "current_timestamp"), ("random()", "rand"), ("NOW()", "current_timestamp")],
)
def test_names_are_the_ones_athena_prints(written: str, athena: str) -> None:
    call = sqlglot.parse_one(f"SELECT {written}", read=READ_DIALECT).find(exp.Func)
    assert call is not None
    assert functions.athena_name(call) == athena
