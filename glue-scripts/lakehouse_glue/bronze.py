"""Reading bronze: finding new files, checking them, and reading their rows BY NAME.

The bronze files are gzip CSV exactly as AWS DMS writes them (docs/bronze-contract.md).
Three facts shape this module:

* A file's header decides what its columns are. Spark's CSV reader maps a schema by position,
  so files are grouped by header and each group is read with a schema built from that header;
  the columns are then selected by name. Unknown columns are reported (schema drift), missing
  nullable columns become NULL, a missing required column puts the whole file in quarantine.
* NULL is the contract's marker (``csv_null_value``) and the empty string an empty field, quoted
  or not (DMS does not document whether it quotes it). Spark's CSV reader (univocity) gives an
  unquoted empty field the ``nullValue`` string and then turns any field equal to ``nullValue``
  into NULL, so ``nullValue`` cannot be the marker (an unquoted ``''`` would become NULL).
  ``nullValue`` is therefore a NUL character, which PostgreSQL text can never contain: an
  unquoted empty field reads as NULL and is turned into ``''``, a quoted one reads as ``''``
  (``emptyValue``), and the marker, quoted or not, is turned into NULL by :func:`_restore`.
* A truncated or corrupt gzip file makes Spark's reader fail the whole read. Headers come from the
  first bytes of each file; when the read fails, every file is decompressed once in Spark tasks
  to find the damaged ones, which are quarantined as a whole (with the reason) before reading
  the rest again. The happy path pays for no extra pass.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse_glue import fs
from lakehouse_glue.model import BronzeContract, Entity

#: Spark's ``nullValue``: unquoted empty fields read as NULL and are mapped back to ''.
#: PostgreSQL text values cannot contain NUL, so no real value can collide with it.
EMPTY_SENTINEL = "\u0000"
CORRUPT_COLUMN = "_corrupt_record"

# Internal columns carried next to the raw values.
SOURCE_FILE = "_source_file"
FILE_RANK = "_file_rank"  # 0 for full-load files, 1 for CDC files
ROW_ORDER = "_row_order"  # increases with the row position inside one file


def normalize_uri(uri: str) -> str:
    """One spelling per file: ``file:///x`` and ``file:/x`` both become ``file:/x``."""
    if uri.startswith("file://"):
        return "file:" + uri[len("file://") :]
    return uri


@dataclass(frozen=True)
class InspectedFile:
    """The result of opening one bronze file: its header, or why it cannot be read."""

    uri: str
    header: tuple[str, ...] = ()
    error_rule: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_rule is None


@dataclass
class BronzeBatch:
    """Raw rows of a set of bronze files, plus what was wrong with the files themselves."""

    rows: DataFrame | None
    files_read: list[str] = field(default_factory=list)
    bad_files: list[InspectedFile] = field(default_factory=list)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    missing_optional_columns: dict[str, list[str]] = field(default_factory=dict)


def file_rank(uri: str, contract: BronzeContract) -> int:
    """:data:`FILE_RANK` of a file: 0 for a full-load file, 1 for a change file."""
    return 0 if uri.rsplit("/", 1)[-1].startswith(contract.full_load_file_prefix) else 1


def raw_columns(entity: Entity, contract: BronzeContract) -> list[str]:
    """The raw string columns every batch carries, in order: Op, timestamp, columns, sequence."""
    return [
        contract.op_column,
        contract.timestamp_column_name,
        *entity.column_names,
        contract.change_seq_column,
    ]


def required_columns(entity: Entity, contract: BronzeContract) -> list[str]:
    """Columns a file must have: Op, the DMS timestamp and every NOT NULL source column."""
    keys = {entity.primary_key, entity.tenant_column}
    return [
        contract.op_column,
        contract.timestamp_column_name,
        *[c.name for c in entity.columns if not c.nullable or c.name in keys],
    ]


def _check_header(uri: str, first: str) -> InspectedFile:
    """The file's header from its ``first`` line: missing, with a column twice, or good."""
    if not first.strip():
        return InspectedFile(uri, (), "missing_header", "the file has no header row")
    header = tuple(next(csv.reader(io.StringIO(first))))
    if len(set(header)) != len(header):
        return InspectedFile(uri, header, "malformed_header", f"duplicate column in {header}")
    return InspectedFile(uri, header)


def _inspect_one(uri: str, data: bytes, suffix: str) -> InspectedFile:
    if not uri.endswith(suffix):
        return InspectedFile(uri, (), "unexpected_file", f"file name does not end in {suffix}")
    try:
        text = gzip.decompress(data).decode("utf-8")
    except (EOFError, OSError, zlib.error) as exc:
        return InspectedFile(uri, (), "unreadable_file", f"corrupt or truncated gzip: {exc}")
    except UnicodeDecodeError as exc:
        return InspectedFile(uri, (), "unreadable_file", f"not UTF-8: {exc}")
    first = text.split("\n", 1)[0]
    return _check_header(uri, first)


def verify_files(spark: SparkSession, uris: list[str], suffix: str) -> list[InspectedFile]:
    """Decompress every file completely (in Spark tasks, so it scales and works on S3).

    Only used when a read failed: it finds which files are damaged. Returns one
    :class:`InspectedFile` per URI, in the order given.
    """
    if not uris:
        return []

    def check(part: Iterable[tuple[str, bytes]]) -> Iterator[tuple[str, tuple[str, ...], Any, Any]]:
        for path, data in part:
            res = _inspect_one(normalize_uri(path), data, suffix)
            yield res.uri, res.header, res.error_rule, res.error

    sc = spark.sparkContext
    slices = max(1, min(len(uris), sc.defaultParallelism * 2))
    found = {
        normalize_uri(u): InspectedFile(u, tuple(h), rule, err)
        for u, h, rule, err in sc.binaryFiles(",".join(uris), minPartitions=slices)
        .mapPartitions(check)
        .collect()
    }
    out: list[InspectedFile] = []
    for uri in uris:
        norm = normalize_uri(uri)
        out.append(found.get(norm, InspectedFile(norm, (), "unreadable_file", "file vanished")))
    return out


HEAD_BYTES = 1 << 16


def _inspect_head(uri: str, head: bytes, suffix: str) -> InspectedFile:
    if not uri.endswith(suffix):
        return InspectedFile(uri, (), "unexpected_file", f"file name does not end in {suffix}")
    try:
        text = zlib.decompressobj(wbits=31).decompress(head)
    except zlib.error as exc:
        return InspectedFile(uri, (), "unreadable_file", f"not a gzip file: {exc}")
    if b"\n" not in text:
        return InspectedFile(
            uri, (), "unreadable_file", "no complete header line (empty or truncated gzip)"
        )
    try:
        first = text.split(b"\n", 1)[0].decode("utf-8")
    except UnicodeDecodeError as exc:
        return InspectedFile(uri, (), "unreadable_file", f"header is not UTF-8: {exc}")
    return _check_header(uri, first)


def inspect_headers(spark: SparkSession, uris: list[str], suffix: str) -> list[InspectedFile]:
    """Read every file's header from its first bytes (cheap: no full decompression).

    Damage further into a file is found only when the read fails; see :func:`verify_files`.
    """
    return [
        _inspect_head(normalize_uri(u), fs.read_head(spark, u, HEAD_BYTES), suffix) for u in uris
    ]


def _restore(name: str, contract: BronzeContract) -> SparkColumn:
    """A raw column with the contract's NULL and '' (see the module docstring)."""
    c = F.col(f"`{name}`")
    return (
        F.when(c.isNull(), F.lit(""))
        .when(c == F.lit(contract.csv_null_value), F.lit(None).cast("string"))
        .otherwise(c)
        .alias(name)
    )


def read_files(
    spark: SparkSession, files: list[InspectedFile], entity: Entity, contract: BronzeContract
) -> BronzeBatch:
    """Read good files into one all-string DataFrame with the columns of :func:`raw_columns`.

    Adds ``_source_file``, ``_file_rank``, ``_row_order`` and ``_corrupt_record`` (the raw
    line of a row with the wrong number of fields).
    """
    batch = BronzeBatch(rows=None)
    wanted = raw_columns(entity, contract)
    required = set(required_columns(entity, contract))
    # By header (the schema of the read) and by rank: the rank is then a constant of the read,
    # not computed from every row's file name.
    groups: dict[tuple[tuple[str, ...], int], list[str]] = {}
    for f in files:
        if not f.ok:
            batch.bad_files.append(f)
            continue
        missing = [c for c in required if c not in f.header]
        if missing:
            batch.bad_files.append(
                InspectedFile(
                    f.uri,
                    f.header,
                    "missing_column",
                    f"required column(s) {', '.join(sorted(missing))} not in the header",
                )
            )
            continue
        groups.setdefault((f.header, file_rank(f.uri, contract)), []).append(f.uri)

    frames: list[DataFrame] = []
    for (header, rank), uris in groups.items():
        extra = [h for h in header if h not in wanted]
        absent = [c for c in wanted if c not in header]
        for u in uris:
            if extra:
                batch.extra_columns[u] = extra
            if absent:
                batch.missing_optional_columns[u] = absent
        schema = StructType(
            [StructField(h, StringType(), True) for h in header]
            + [StructField(CORRUPT_COLUMN, StringType(), True)]
        )
        df = (
            spark.read.schema(schema)
            .options(
                **contract.spark_csv_options(),
                nullValue=EMPTY_SENTINEL,
                emptyValue="",
                mode="PERMISSIVE",
                columnNameOfCorruptRecord=CORRUPT_COLUMN,
                enforceSchema=True,
            )
            .csv(uris)
        )
        selected = [
            _restore(c, contract) if c in header else F.lit(None).cast("string").alias(c)
            for c in wanted
        ]
        frames.append(
            df.select(
                *selected,
                F.col(CORRUPT_COLUMN),
                F.input_file_name().alias(SOURCE_FILE),
                # A gzip file is never split, so all its rows are in one Spark partition, read in
                # file order: within one file this id grows with the row position. It is only
                # ever compared between rows of the same file (the file name comes first).
                F.monotonically_increasing_id().alias(ROW_ORDER),
                F.lit(rank).alias(FILE_RANK),
            )
        )
        batch.files_read.extend(uris)

    if frames:
        rows = frames[0]
        for other in frames[1:]:
            rows = rows.unionByName(other)
        # The file name spelled as normalize_uri spells it, without a regular expression: the
        # two patterns matched on every row's path were a quarter of the CPU of reading events
        # (4 full-load files of scale 10: 4.6-5.0 -> 3.5-3.8 CPU s, noop write, 2 cores).
        path = F.col(SOURCE_FILE)
        local = F.concat(F.lit("file:"), F.substring(path, len("file://") + 1, 1 << 30))
        batch.rows = rows.withColumn(
            SOURCE_FILE, F.when(path.startswith("file://"), local).otherwise(path)
        )
    return batch


def table_path(bronze_path: str, entity: Entity, contract: BronzeContract) -> str:
    """``<bronze>/dms/public/<table>``."""
    return f"{bronze_path.rstrip('/')}/{contract.table_folder(entity.schema, entity.name)}"
