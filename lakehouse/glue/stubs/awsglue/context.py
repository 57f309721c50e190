"""``GlueContext``: sources and sinks over S3 (mapped to the lake) and the local catalog.

Documented semantics followed here:

- S3 connection options ``paths``, ``recurse``, ``exclusions``, ``groupFiles``/``groupSize``
  (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-connect-s3-home.html);
  grouping only decides how files are packed into Spark tasks, not which records come out, so
  it is accepted and has no effect locally;
- format options of csv, json, parquet and orc
  (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-format.html);
- job bookmarks on S3 and catalog sources keyed by ``transformation_ctx``: Glue's
  modification-time high-water mark with its ``maxBand`` window (see ``awsglue.job``)
  (https://docs.aws.amazon.com/glue/latest/dg/monitor-continuations.html);
- ``push_down_predicate`` filters partitions before any file is read
  (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-partitions.html);
- sinks append new files (Glue's S3 writers never overwrite) and, with
  ``enableUpdateCatalog``, register the table and its partitions
  (https://docs.aws.amazon.com/glue/latest/dg/update-from-job.html);
- ``purge_s3_path`` deletes files older than ``retentionPeriod`` hours (168 by default)
  (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-glue-context.html).

Local choices: CSV columns are read as strings (no per-value type inference: cast them with
``ApplyMapping``/``resolveChoice``); JSON columns whose values mix types become choices (see
``awsglue._types``); catalog partitions are those found in the table's folder.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import zlib
from collections.abc import Callable
from typing import Any

from lakehouse_glue import fs
from pyspark.context import SparkContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from awsglue import _catalog, _local, _types
from awsglue.dynamicframe import DynamicFrame, DynamicFrameCollection
from awsglue.job import DEFAULT_MAX_BAND_MS, select_new

# Glue CSV format_options -> Spark CSV reader options.
_CSV_OPTIONS = {
    "withHeader": "header",
    "separator": "sep",
    "quoteChar": "quote",
    "escaper": "escape",
    "multiLine": "multiLine",
}
# Options with no effect on the records: performance hints (documented as such by Glue).
_HINTS = {
    "optimizePerformance",
    "strictCheckForQuoting",
    "groupFiles",
    "groupSize",
    "useGlueParquetWriter",
    "blockSize",
    "pageSize",
    "maxBand",
    "maxFilesInBand",
    "boundedSize",
    "boundedFiles",
    "useS3ListImplementation",
    "excludeStorageClasses",
}
_READ_FORMAT_OPTIONS = {
    "csv": {*_CSV_OPTIONS, "skipFirst", "attachFilename", "writeHeader"},
    "json": {"multiLine", "multiline", "attachFilename", "jsonPath"},
    "parquet": {"attachFilename", "compression"},
    "orc": {"attachFilename"},
}
_S3_CONNECTION_OPTIONS = {
    "paths",
    "path",
    "recurse",
    "exclusions",
    "maxBand",
    "attachFilename",
    "compressionType",
    "compression",
    "partitionKeys",
    "enableUpdateCatalog",
    "updateBehavior",
}
_FORMATS = {"csv", "json", "parquet", "glueparquet", "orc"}


def _unsupported(call: str, what: str) -> NotImplementedError:
    return NotImplementedError(
        f"{call}: {what} is not supported locally by the lakehouse Glue stand-in "
        "(see glue-scripts/README.md for the supported surface)"
    )


def _check_options(call: str, given: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(given) - allowed - _HINTS)
    if unknown:
        raise _unsupported(call, f"option(s) {unknown}")


def _format(call: str, fmt: str | None) -> str:
    name = (fmt or "").lower()
    if name not in _FORMATS:
        raise _unsupported(call, f"format {fmt!r} (supported: csv, json, parquet, orc)")
    return "parquet" if name == "glueparquet" else name


def _local_path(uri: str) -> str:
    """``file:/x``, ``file:///x`` and ``/x`` are the same file."""
    return re.sub(r"^file:/+", "/", uri)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A Unix glob as Glue's ``exclusions`` use it: ``**`` crosses folders, ``*`` does not."""
    out = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if ch == "*":
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "{":
            end = pattern.find("}", i)
            if end < 0:
                out += re.escape(ch)
            else:
                out += "(" + "|".join(re.escape(p) for p in pattern[i + 1 : end].split(",")) + ")"
                i = end
        else:
            out += re.escape(ch)
        i += 1
    return re.compile(out + r"\Z")


def _exclusions(value: Any) -> list[re.Pattern[str]]:
    if not value:
        return []
    patterns = json.loads(value) if isinstance(value, str) else list(value)
    if not isinstance(patterns, list):
        raise ValueError('exclusions must be a JSON list of glob patterns, e.g. "[\\"**.pdf\\"]"')
    return [_glob_regex(str(p)) for p in patterns]


class _Listing:
    """The files of a source: original root -> (local URI -> modification time)."""

    def __init__(self) -> None:
        self.files: dict[str, int] = {}
        self.roots: list[tuple[str, str]] = []  # (as the script wrote it, as Spark reads it)

    def add(
        self,
        spark: SparkSession,
        root: str,
        recurse: bool,
        excluded: list[re.Pattern[str]],
    ) -> None:
        resolved = _local.resolve(root)
        self.roots.append((root, resolved))
        base = _local_path(fs.qualify(resolved)).rstrip("/")
        for f in fs.list_files(spark, resolved):
            path = _local_path(f.uri)
            parent = path.rsplit("/", 1)[0]
            if not (recurse or parent == base or path == base):
                continue
            rel = path[len(base) :].lstrip("/") if path.startswith(base) else path
            spelled = f"{root.rstrip('/')}/{rel}" if rel else root
            if any(p.match(rel) or p.match(spelled) for p in excluded):
                continue
            self.files[f.uri] = f.modified_ms


def _bookmarked(
    gc: GlueContext, ctx: str, listed: dict[str, int], max_band_ms: Any = None
) -> dict[str, int]:
    bookmarks = gc._bookmarks
    if ctx and bookmarks is not None and bookmarks.filters:
        band = DEFAULT_MAX_BAND_MS if max_band_ms is None else int(max_band_ms)
        if band < 0:
            raise ValueError(f"maxBand must be a number of milliseconds >= 0, not {max_band_ms!r}")
        listed, state = select_new(listed, bookmarks.seen(ctx), int(time.time() * 1000), band)
        bookmarks.record(ctx, state)
    return listed


def _file_name_column(roots: list[tuple[str, str]]) -> Any:
    """``input_file_name()`` spelled as the script spelled its paths (``s3://`` stays)."""
    column = F.input_file_name()
    s3_root = _local.locations().s3_root
    if s3_root and any(r.startswith(("s3://", "s3a://", "s3n://")) for r, _ in roots):
        prefix = "^file:(//)?" + re.escape(_local_path(s3_root).rstrip("/")) + "/"
        column = F.regexp_replace(column, prefix, "s3://")
    return column


class _DynamicFrameReader:
    def __init__(self, glue_context: GlueContext) -> None:
        self._gc = glue_context

    def from_options(
        self,
        connection_type: str,
        connection_options: dict[str, Any] | None = None,
        format: str | None = None,
        format_options: dict[str, Any] | None = None,
        transformation_ctx: str = "",
        push_down_predicate: str = "",
        **kwargs: Any,
    ) -> DynamicFrame:
        """Read files below ``connection_options["paths"]``; with a bookmark only new ones."""
        call = "create_dynamic_frame.from_options"
        if connection_type not in ("s3", "file"):
            raise _unsupported(call, f"connection_type {connection_type!r} (only 's3')")
        if push_down_predicate:
            raise _unsupported(call, "push_down_predicate on an S3 source (use from_catalog)")
        conn = dict(connection_options or {})
        _check_options(call, conn, _S3_CONNECTION_OPTIONS)
        fmt = _format(call, format)
        opts = dict(format_options or {})
        _check_options(call, opts, _READ_FORMAT_OPTIONS[fmt])
        if opts.get("jsonPath") not in (None, "", "$[*]"):
            raise _unsupported(call, f"jsonPath {opts['jsonPath']!r}")
        spark = self._gc.spark_session
        paths = conn.get("paths", [])
        if isinstance(paths, str):
            paths = [paths]
        listing = _Listing()
        excluded = _exclusions(conn.get("exclusions"))
        for root in paths:
            listing.add(spark, str(root), bool(conn.get("recurse", False)), excluded)
        listed = _bookmarked(self._gc, transformation_ctx, listing.files, conn.get("maxBand"))
        uris = sorted(listed)
        attach = opts.pop("attachFilename", None) or conn.get("attachFilename")
        if not uris:
            empty = spark.createDataFrame([], "`_empty` string").drop("_empty")
            return DynamicFrame(empty, self._gc, transformation_ctx)
        firsts = {u: _first_line(spark, u) for u in uris} if fmt == "csv" else {}
        df = _read(spark, fmt, opts, uris, firsts)
        choices = _types.infer_choices(df) if fmt == "json" else {}
        if attach:
            df = df.withColumn(str(attach), _file_name_column(listing.roots))
        return DynamicFrame(df, self._gc, transformation_ctx, choices=choices)

    def from_catalog(
        self,
        database: str | None = None,
        table_name: str | None = None,
        redshift_tmp_dir: str = "",
        transformation_ctx: str = "",
        push_down_predicate: str = "",
        additional_options: dict[str, Any] | None = None,
        catalog_id: str | None = None,
        **kwargs: Any,
    ) -> DynamicFrame:
        """Read a table of the local catalog; ``push_down_predicate`` selects partitions."""
        name_space = database or kwargs.pop("name_space", None)
        if name_space is None or table_name is None:
            raise ValueError("from_catalog needs database= and table_name=")
        extra = dict(additional_options or {})
        predicate = push_down_predicate or extra.pop("catalogPartitionPredicate", "")
        _check_options(
            "create_dynamic_frame.from_catalog",
            extra,
            {"recurse", "exclusions", "attachFilename"},
        )
        table = _catalog.get_table(name_space, table_name)
        return _read_table(self._gc, table, predicate, transformation_ctx, extra)

    def from_rdd(
        self,
        data: Any,
        name: str,
        schema: Any = None,
        sample_ratio: float | None = None,
        transformation_ctx: str = "",
    ) -> DynamicFrame:
        """A frame of an RDD (or list) of rows, as ``SparkSession.createDataFrame`` reads it."""
        df = self._gc.spark_session.createDataFrame(data, schema, samplingRatio=sample_ratio)
        return DynamicFrame(df, self._gc, name)


class _DataFrameReader:
    def __init__(self, glue_context: GlueContext) -> None:
        self._gc = glue_context

    def from_catalog(
        self, database: str | None = None, table_name: str | None = None, **kwargs: Any
    ) -> DataFrame:
        """``create_dynamic_frame.from_catalog(...).toDF()``."""
        reader: _DynamicFrameReader = self._gc.create_dynamic_frame
        df: DataFrame = reader.from_catalog(database, table_name, **kwargs).toDF()
        return df

    def from_options(
        self,
        connection_type: str,
        connection_options: dict[str, Any] | None = None,
        format: str | None = None,
        format_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> DataFrame:
        """``create_dynamic_frame.from_options(...).toDF()`` (no streaming sources locally)."""
        reader: _DynamicFrameReader = self._gc.create_dynamic_frame
        df: DataFrame = reader.from_options(
            connection_type, connection_options, format, format_options, **kwargs
        ).toDF()
        return df


def _read(
    spark: SparkSession,
    fmt: str,
    opts: dict[str, Any],
    uris: list[str],
    firsts: dict[str, str | None],
    base_path: str | None = None,
) -> DataFrame:
    reader = spark.read
    if base_path:
        reader = reader.option("basePath", base_path)
    if fmt == "csv":
        reader = reader.option("header", False)
        for glue_key, spark_key in _CSV_OPTIONS.items():
            if glue_key in opts:
                value = opts[glue_key]
                if glue_key == "quoteChar" and str(value) == "-1":
                    value = ""  # Glue: -1 turns quoting off; Spark: an empty quote
                reader = reader.option(
                    spark_key, str(value).lower() if isinstance(value, bool) else str(value)
                )
        # The columns come from the first readable line (header names, or col0, col1, ...
        # as Glue names headerless columns), so building the frame reads no data: Spark's
        # own schema inference would run a job per call.
        first = next((line for line in firsts.values() if line is not None), "")
        cells = next(csv.reader(io.StringIO(first), delimiter=str(opts.get("separator", ","))), [])
        header = bool(opts.get("withHeader"))
        names = cells if header else [f"col{i}" for i in range(len(cells))]
        schema = ", ".join(f"`{n}` string" for n in names) or "`col0` string"
        if header or opts.get("skipFirst"):
            # Spark skips each file's first line with header=true and an explicit schema:
            # the header of withHeader, or Glue's skipFirst (the first line is not data).
            reader = reader.option("header", True)
        # As on Glue, a corrupt or truncated gzip fails the read when it is evaluated (Spark's
        # ignoreCorruptFiles stays off): the jobs must find and set such files aside themselves.
        df = reader.schema(schema).csv(uris)
        return df
    if fmt == "parquet":
        return reader.parquet(*uris)
    if fmt == "json":
        multi = opts.get("multiLine", opts.get("multiline", False))
        return reader.option("multiLine", str(bool(multi)).lower()).json(uris)
    if fmt == "orc":
        return reader.orc(uris)
    raise _unsupported("read", f"format {fmt!r}")


def _first_line(spark: SparkSession, uri: str) -> str | None:
    """The first line of a (possibly gzip) file, or ``None`` when it cannot be decoded."""
    head = fs.read_head(spark, uri, 1 << 16)
    if uri.endswith(".gz"):
        try:
            head = zlib.decompressobj(wbits=31).decompress(head)
        except zlib.error:
            return None
    if b"\n" not in head:
        return None
    return head.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")


def _partition_of(path: str, base: str, keys: list[str]) -> tuple[str, ...] | None:
    """The partition values of a file below a table folder (``None`` if it is not in one)."""
    rel = path[len(base) :].strip("/").split("/")[:-1]
    values: dict[str, str] = {}
    for segment in rel:
        key, eq, value = segment.partition("=")
        if eq:
            values[key] = value
    if any(k not in values for k in keys):
        return None
    return tuple(values[k] for k in keys)


def _read_table(
    gc: GlueContext, table: Any, predicate: str, ctx: str, extra: dict[str, Any]
) -> DynamicFrame:
    spark = gc.spark_session
    location = _local.resolve(table.location)
    base = _local_path(fs.qualify(location)).rstrip("/")
    keys = [k.name for k in table.partition_keys]
    types = {c.name: c.type for c in table.all_columns}
    deletes: dict[str, list[str]] = {}
    if table.format == "iceberg":
        files, parts, keys, deletes = _iceberg_files(table, location)
    else:
        files = {f.uri: f.modified_ms for f in fs.list_files(spark, location)}
        parts = {u: _partition_of(_local_path(u), base, keys) for u in files} if keys else {}
    if predicate and not keys:
        raise ValueError(
            f"push_down_predicate on {table.database}.{table.name}, which has no partition keys"
        )
    if keys:
        files = {u: m for u, m in files.items() if parts[u] is not None}
        if predicate:
            key_types = [(k, types.get(k, "string")) for k in keys]
            found = {p for p in parts.values() if p}
            kept = _matching_partitions(spark, table, key_types, found, predicate)
            files = {u: m for u, m in files.items() if parts[u] in kept}
    excluded = _exclusions(extra.get("exclusions"))
    if excluded:
        files = {
            u: m
            for u, m in files.items()
            if not any(p.match(_local_path(u)[len(base) :].lstrip("/")) for p in excluded)
        }
    files = _bookmarked(gc, ctx, files)
    ddl = ", ".join(f"`{c.name}` {c.type}" for c in table.all_columns)
    if not files:
        return DynamicFrame(spark.createDataFrame([], ddl), gc, ctx)
    fmt = "parquet" if table.format == "iceberg" else _format("from_catalog", table.format)
    uris = sorted(files)
    if table.format == "iceberg":
        df = _read_iceberg(spark, uris, deletes)
    elif fmt == "csv":
        serde = table.serde
        reader = spark.read.option("basePath", location).option(
            "header", serde.get("header", "false")
        )
        for key, option in (("delimiter", "sep"), ("quote", "quote"), ("escape", "escape")):
            if key in serde:
                reader = reader.option(option, serde[key])
        df = reader.csv(uris)
    else:
        df = _read(spark, fmt, {}, uris, {}, base_path=location)
    # The catalog's types, as Glue reads a table through its schema.
    df = df.select(
        *[
            _types.col(c).cast(types[c]).alias(c) if c in types else _types.col(c)
            for c in df.columns
        ]
    )
    attach = extra.get("attachFilename")
    if attach:
        df = df.withColumn(str(attach), F.input_file_name())
    return DynamicFrame(df, gc, ctx)


def _read_iceberg(spark: SparkSession, uris: list[str], deletes: dict[str, list[str]]) -> DataFrame:
    """The rows of these Iceberg data files, the rows their delete files remove left out."""
    # The data files hold every column, partition sources included (Iceberg writes them).
    df = spark.read.parquet(*uris)
    removing = sorted({d for u in uris for d in deletes.get(u, [])})
    return _without_deleted(spark, df, removing) if removing else df


def _without_deleted(spark: SparkSession, df: DataFrame, delete_uris: list[str]) -> DataFrame:
    """``df`` (a read of Iceberg data files) without the rows the position delete files remove.

    A position delete names a data file as the table's metadata does and a 0-based row
    position (https://iceberg.apache.org/spec/#position-delete-files), which is Spark's
    ``_metadata.row_index`` of a Parquet file; Glue's Iceberg reader applies them natively.
    The file names are compared without their ``file:`` scheme, which Spark and Iceberg spell
    with one or three slashes.
    """

    def bare(column: Any) -> Any:
        return F.regexp_replace(column, "^file:(//)?", "")

    removed = spark.read.parquet(*delete_uris).select(
        bare(F.col("file_path")).alias("_deleted_file"),
        F.col("pos").alias("_deleted_pos"),
    )
    rows = df.select(
        "*",
        bare(F.col("_metadata.file_path")).alias("_deleted_file"),
        F.col("_metadata.row_index").alias("_deleted_pos"),
    )
    return rows.join(removed, ["_deleted_file", "_deleted_pos"], "left_anti").drop(
        "_deleted_file", "_deleted_pos"
    )


def _iceberg_files(
    table: Any, location: str
) -> tuple[dict[str, int], dict[str, tuple[str, ...] | None], list[str], dict[str, list[str]]]:
    """The data files of an Iceberg table's current snapshot, their identity partition values,
    the partition columns (a ``push_down_predicate`` may name them, as on Glue) and the
    position delete files that apply to each data file (merge-on-read).

    Iceberg files are never rewritten in place, so a file's bookmark stamp is constant. A
    snapshot with renamed columns cannot be read file by file and is refused.
    """
    from pathlib import Path

    from pyiceberg.transforms import IdentityTransform

    from lakehouse.catalog import iceberg

    ice = iceberg.load_table(Path(_local_path(fs.qualify(location))))
    schema = ice.schema()
    keys = [
        schema.find_field(f.source_id).name
        for f in ice.spec().fields
        if isinstance(f.transform, IdentityTransform)
    ]
    names = {
        f.name: schema.find_field(f.source_id).name
        for f in ice.spec().fields
        if isinstance(f.transform, IdentityTransform)
    }
    if iceberg.renamed_columns(ice):
        raise _unsupported("from_catalog", f"Iceberg table {table.name} with renamed columns")
    files: dict[str, int] = {}
    parts: dict[str, tuple[str, ...] | None] = {}
    deletes: dict[str, list[str]] = {}
    try:
        planned = list(iceberg.scan_files(ice, ice.current_snapshot()))
    except ValueError as exc:  # equality deletes, which no job writes
        raise _unsupported("from_catalog", f"Iceberg table {table.name}: {exc}") from exc
    for task in planned:
        live = task.data
        uri = fs.qualify(str(live.path))
        files[uri] = 0
        deletes[uri] = [fs.qualify(str(d.path)) for d in task.deletes]
        by_column = {names[n]: v for n, v in live.partition.items() if n in names}
        values = [by_column.get(k) for k in keys]
        parts[uri] = None if any(v is None for v in values) else tuple(str(v) for v in values)
    return files, parts, keys, deletes


def _matching_partitions(
    spark: SparkSession,
    table: Any,
    keys: list[tuple[str, str]],
    partitions: set[tuple[str, ...]],
    predicate: str,
) -> set[tuple[str, ...]]:
    """The partitions whose values satisfy a Spark SQL predicate over the partition keys."""
    if not partitions:
        return set()
    rows = sorted(partitions)
    values = spark.createDataFrame(rows, ", ".join(f"`{k}` string" for k, _ in keys))
    typed = values.select(
        *[_types.col(k).cast(t).alias(k) for k, t in keys],
        *[_types.col(k).alias(f"__raw_{i}") for i, (k, _) in enumerate(keys)],
    )
    try:
        kept = typed.where(F.expr(predicate)).collect()
    except Exception as exc:  # Spark's analysis errors: name the predicate
        raise ValueError(
            f"push_down_predicate {predicate!r} is not a valid condition on the partition keys "
            f"{[k for k, _ in keys]} of {table.database}.{table.name}: {exc}"
        ) from exc
    return {tuple(r[f"__raw_{i}"] for i in range(len(keys))) for r in kept}


# --- sinks -----------------------------------------------------------------------------------


def _write(
    frame: DynamicFrame | DataFrame,
    path: str,
    fmt: str,
    partition_keys: list[str],
    options: dict[str, Any],
) -> DataFrame:
    df = frame.toDF() if isinstance(frame, DynamicFrame) else frame
    missing = [k for k in partition_keys if k not in df.columns]
    if missing:
        raise ValueError(f"partitionKeys {missing} are not fields of the frame ({df.columns})")
    writer = df.write.mode("append")  # Glue's S3 sinks add files; they never overwrite
    if partition_keys:
        writer = writer.partitionBy(*partition_keys)
    compression = options.get("compression") or options.get("compressionType")
    if compression:
        writer = writer.option("compression", str(compression))
    target = _local.resolve(path)
    if fmt == "parquet":
        writer.parquet(target)
    elif fmt == "orc":
        writer.orc(target)
    elif fmt == "json":
        writer.json(target)
    elif fmt == "csv":
        writer = writer.option("header", str(options.get("writeHeader", True)).lower())
        if "separator" in options:
            writer = writer.option("sep", str(options["separator"]))
        if "quoteChar" in options:
            writer = writer.option("quote", str(options["quoteChar"]))
        writer.csv(target)
    else:
        raise _unsupported("write", f"format {fmt!r}")
    return df


def _partitions(df: DataFrame, keys: list[str]) -> list[tuple[str, ...]]:
    if not keys:
        return []
    rows = df.select(*[_types.col(k).cast("string").alias(k) for k in keys]).distinct().collect()
    # Spark writes a null partition value as this folder name; Hive and Glue use it too.
    return [tuple("__HIVE_DEFAULT_PARTITION__" if v is None else str(v) for v in r) for r in rows]


class DataSink:
    """What ``getSink`` returns: ``setFormat``, ``setCatalogInfo``, ``writeFrame``."""

    def __init__(
        self, glue_context: GlueContext, connection_type: str, options: dict[str, Any]
    ) -> None:
        if connection_type != "s3":
            raise _unsupported("getSink", f"connection_type {connection_type!r} (only 's3')")
        self._gc = glue_context
        self._options = dict(options)
        _check_options("getSink", self._options, {*_S3_CONNECTION_OPTIONS, "transformation_ctx"})
        if not self._options.get("path"):
            raise ValueError("getSink(connection_type='s3') needs path=")
        self._format = "parquet"
        self._format_options: dict[str, Any] = {}
        self._catalog: tuple[str, str] | None = None

    def setFormat(self, format: str, **options: Any) -> None:  # noqa: N802
        self._format = _format("DataSink.setFormat", format)
        self._format_options = dict(options)

    def setCatalogInfo(  # noqa: N802
        self,
        catalogDatabase: str,  # noqa: N803
        catalogTableName: str,  # noqa: N803
        catalogId: str | None = None,  # noqa: N803
    ) -> None:
        self._catalog = (
            _catalog.check_name("database", catalogDatabase),
            _catalog.check_name("table", catalogTableName),
        )

    def writeFrame(self, dynamic_frame: DynamicFrame, info: str = "") -> DynamicFrame:  # noqa: N802
        """Write the frame; with ``enableUpdateCatalog``, register the table and partitions."""
        keys = list(self._options.get("partitionKeys") or [])
        df = _write(
            dynamic_frame,
            str(self._options["path"]),
            self._format,
            keys,
            {**self._options, **self._format_options},
        )
        if _truthy(self._options.get("enableUpdateCatalog")):
            if self._catalog is None:
                raise ValueError(
                    "enableUpdateCatalog needs the table: call setCatalogInfo(catalogDatabase=..., "
                    "catalogTableName=...) before writeFrame"
                )
            _catalog.update_table(
                self._catalog[0],
                self._catalog[1],
                location=_local_path(fs.qualify(_local.resolve(str(self._options["path"])))),
                fmt=self._format,
                schema=df.schema,
                partition_keys=keys,
                partitions=_partitions(df, keys),
                update_behavior=str(self._options.get("updateBehavior", "UPDATE_IN_DATABASE")),
            )
        return dynamic_frame

    def write(self, frame: DynamicFrame | DynamicFrameCollection) -> Any:
        if isinstance(frame, DynamicFrameCollection):
            raise _unsupported("DataSink.write", "a DynamicFrameCollection")
        return self.writeFrame(frame)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


class _DynamicFrameWriter:
    def __init__(self, glue_context: GlueContext) -> None:
        self._gc = glue_context

    def from_options(
        self,
        frame: DynamicFrame,
        connection_type: str,
        connection_options: dict[str, Any] | None = None,
        format: str | None = None,
        format_options: dict[str, Any] | None = None,
        transformation_ctx: str = "",
        **kwargs: Any,
    ) -> DynamicFrame:
        """Append the frame's records as files below ``connection_options["path"]``."""
        call = "write_dynamic_frame.from_options"
        if connection_type != "s3":
            raise _unsupported(call, f"connection_type {connection_type!r} (only 's3')")
        conn = dict(connection_options or {})
        _check_options(call, conn, _S3_CONNECTION_OPTIONS)
        if not conn.get("path"):
            raise ValueError(f"{call} needs connection_options={{'path': ...}}")
        fmt = _format(call, format)
        opts = dict(format_options or {})
        _check_options(call, opts, {*_READ_FORMAT_OPTIONS[fmt], "compression", "writeHeader"})
        _write(
            frame, str(conn["path"]), fmt, list(conn.get("partitionKeys") or []), {**conn, **opts}
        )
        return frame

    def from_catalog(
        self,
        frame: DynamicFrame,
        database: str | None = None,
        table_name: str | None = None,
        redshift_tmp_dir: str = "",
        transformation_ctx: str = "",
        additional_options: dict[str, Any] | None = None,
        catalog_id: str | None = None,
        **kwargs: Any,
    ) -> DynamicFrame:
        """Append to a catalog table's folder in its format (its partition keys by default)."""
        name_space = database or kwargs.pop("name_space", None)
        if name_space is None or table_name is None:
            raise ValueError("write_dynamic_frame.from_catalog needs database= and table_name=")
        extra = dict(additional_options or {})
        _check_options("write_dynamic_frame.from_catalog", extra, _S3_CONNECTION_OPTIONS)
        table = _catalog.get_table(name_space, table_name)
        keys = list(extra.get("partitionKeys") or [k.name for k in table.partition_keys])
        sink = DataSink(
            self._gc,
            "s3",
            {
                "path": table.location,
                "partitionKeys": keys,
                "enableUpdateCatalog": extra.get("enableUpdateCatalog", False),
                "updateBehavior": extra.get("updateBehavior", "UPDATE_IN_DATABASE"),
            },
        )
        sink.setFormat(table.format)
        sink.setCatalogInfo(table.database, table.name)
        return sink.writeFrame(frame)


class GlueContext:
    """Wraps a SparkContext like ``awsglue.context.GlueContext``."""

    def __init__(self, spark_context: SparkContext, **_: Any) -> None:
        self._sc = spark_context
        self._spark = SparkSession.builder.getOrCreate()
        self._bookmarks: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise _unsupported(f"GlueContext.{name}", "this call")

    @property
    def spark_session(self) -> SparkSession:
        return self._spark

    @property
    def create_dynamic_frame(self) -> _DynamicFrameReader:
        return _DynamicFrameReader(self)

    @property
    def create_data_frame(self) -> _DataFrameReader:
        return _DataFrameReader(self)

    @property
    def write_dynamic_frame(self) -> _DynamicFrameWriter:
        return _DynamicFrameWriter(self)

    # The flat spellings Glue also offers.
    def create_dynamic_frame_from_options(self, *args: Any, **kwargs: Any) -> DynamicFrame:
        return self.create_dynamic_frame.from_options(*args, **kwargs)

    def create_dynamic_frame_from_catalog(self, *args: Any, **kwargs: Any) -> DynamicFrame:
        return self.create_dynamic_frame.from_catalog(*args, **kwargs)

    def create_data_frame_from_catalog(self, *args: Any, **kwargs: Any) -> DataFrame:
        return self.create_data_frame.from_catalog(*args, **kwargs)

    def write_dynamic_frame_from_options(self, *args: Any, **kwargs: Any) -> DynamicFrame:
        return self.write_dynamic_frame.from_options(*args, **kwargs)

    def write_dynamic_frame_from_catalog(self, *args: Any, **kwargs: Any) -> DynamicFrame:
        return self.write_dynamic_frame.from_catalog(*args, **kwargs)

    def write_from_options(self, frame_or_dfc: Any, *args: Any, **kwargs: Any) -> DynamicFrame:
        if isinstance(frame_or_dfc, DynamicFrameCollection):
            raise _unsupported("GlueContext.write_from_options", "a DynamicFrameCollection")
        return self.write_dynamic_frame.from_options(frame_or_dfc, *args, **kwargs)

    def getSink(  # noqa: N802
        self,
        connection_type: str,
        format: str | None = None,
        transformation_ctx: str = "",
        **options: Any,
    ) -> DataSink:
        """An S3 sink; ``enableUpdateCatalog`` with ``setCatalogInfo`` registers the table."""
        sink = DataSink(self, connection_type, options)
        if format:
            sink.setFormat(format)
        return sink

    def purge_s3_path(
        self, s3_path: str, options: dict[str, Any] | None = None, transformation_ctx: str = ""
    ) -> None:
        """Delete the files below ``s3_path`` older than ``retentionPeriod`` hours (168).

        ``manifestFilePath`` receives ``Success.csv`` listing the deleted files.
        """
        opts = dict(options or {})
        _check_options("purge_s3_path", opts, {"retentionPeriod", "manifestFilePath"})
        retention_hours = float(opts.get("retentionPeriod", 168))
        cutoff_ms = (time.time() - retention_hours * 3600) * 1000
        spark = self._spark
        deleted: list[str] = []
        for f in fs.list_files(spark, _local.resolve(s3_path)):
            if f.modified_ms < cutoff_ms and fs.delete(spark, f.uri):
                deleted.append(f.uri)
        manifest = opts.get("manifestFilePath")
        if manifest:
            fs.write_text(
                spark,
                f"{_local.resolve(str(manifest)).rstrip('/')}/Success.csv",
                "".join(f"{u}\n" for u in deleted),
            )

    def purge_table(
        self,
        database: str,
        table_name: str,
        options: dict[str, Any] | None = None,
        transformation_ctx: str = "",
        catalog_id: str | None = None,
    ) -> None:
        """``purge_s3_path`` over a catalog table's folder."""
        opts = dict(options or {})
        if opts.pop("partitionPredicate", None):
            raise _unsupported("purge_table", "partitionPredicate")
        table = _catalog.get_table(database, table_name)
        self.purge_s3_path(table.location, opts, transformation_ctx)

    def forEachBatch(  # noqa: N802
        self,
        frame: DataFrame,
        batch_function: Callable[[DataFrame, int], None],
        options: dict[str, Any] | None = None,
    ) -> None:
        """Run ``batch_function(batch, batch_id)`` on the micro-batches of a streaming frame.

        Local choice: the stream runs until its input is drained (Spark's ``availableNow``
        trigger) instead of forever with ``windowSize`` batches; ``checkpointLocation``
        keeps the progress between runs, as on Glue.
        """
        if not isinstance(frame, DataFrame) or not frame.isStreaming:
            raise ValueError(
                "forEachBatch needs a streaming DataFrame (e.g. spark.readStream...); for a "
                "batch frame call the function on it directly"
            )
        opts = dict(options or {})
        checkpoint = opts.get("checkpointLocation")
        if not checkpoint:
            raise ValueError("forEachBatch needs options={'checkpointLocation': ...}")
        query = (
            frame.writeStream.foreachBatch(batch_function)
            .option("checkpointLocation", _local.resolve(str(checkpoint)))
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination()

    def get_logger(self) -> Any:
        jvm = self._sc._jvm
        assert jvm is not None
        return jvm.org.apache.log4j.LogManager.getLogger("GlueJob")
