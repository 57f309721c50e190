"""The entity declaration and the bronze contract, loaded from the JSON files beside this module.

Both files are data so that every part of the project reads the same thing: the Python code
through this module, Terraform through ``jsondecode(file(...))``. Nothing here imports PySpark,
so the replicator and the CLI can use it without starting a JVM.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

#: The column comment (Iceberg field doc) of a column carried into silver without a declaration.
#: It marks the text as carried, so that declaring the column later types it instead of being
#: taken for a type change (``lakehouse_glue.undeclared``); Athena's DESCRIBE shows it.
CARRIED_COMMENT = (
    "undeclared source column, carried from bronze as text: declare it in entities.json "
    "to give it a type"
)
LOGICAL_TYPES = ("uuid", "string", "int", "bigint", "boolean", "timestamp", "date", "json")
_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)$")


def _check_type(logical: str) -> str:
    if logical in LOGICAL_TYPES or _DECIMAL.fullmatch(logical):
        return logical
    raise ValueError(
        f"unknown logical type {logical!r} in entities.json; use one of "
        f"{', '.join(LOGICAL_TYPES)} or decimal(p,s)"
    )


@dataclass(frozen=True)
class Column:
    """One source column as declared in ``entities.json``."""

    name: str
    type: str
    nullable: bool
    references: str | None = None
    accepted_values: tuple[str, ...] | None = None
    non_negative: bool = False
    unique: bool = False
    #: Not declared: a column a bronze file carries that ``entities.json`` does not name, taken
    #: into silver as text until it is declared (``lakehouse_glue.undeclared``).
    carried: bool = False

    @property
    def decimal(self) -> tuple[int, int] | None:
        """``(precision, scale)`` for a decimal column, else ``None``."""
        m = _DECIMAL.fullmatch(self.type)
        return (int(m.group(1)), int(m.group(2))) if m else None

    @property
    def postgres_type(self) -> str:
        """The PostgreSQL type the source table uses for this column."""
        if (dec := self.decimal) is not None:
            return f"numeric({dec[0]},{dec[1]})"
        return {
            "uuid": "uuid",
            "string": "text",
            "int": "integer",
            "bigint": "bigint",
            "boolean": "boolean",
            "timestamp": "timestamp with time zone",
            "date": "date",
            "json": "jsonb",
        }[self.type]

    @property
    def spark_type(self) -> str:
        """Spark SQL DDL type of the typed (silver) column."""
        if (dec := self.decimal) is not None:
            return f"decimal({dec[0]},{dec[1]})"
        return {
            "uuid": "string",
            "string": "string",
            "int": "int",
            "bigint": "bigint",
            "boolean": "boolean",
            "timestamp": "timestamp",
            "date": "date",
            "json": "string",
        }[self.type]

    @property
    def ddl(self) -> str:
        """The column in Spark DDL: quoted name, silver type and, when carried, the comment."""
        comment = f" comment '{CARRIED_COMMENT}'" if self.carried else ""
        return f"`{self.name}` {self.spark_type}{comment}"

    @property
    def athena_type(self) -> str:
        """Athena (Hive DDL) type of the typed (silver) column."""
        return self.spark_type


@dataclass(frozen=True)
class Entity:
    """One source table: its name, key, tenant column and columns in source ordinal order."""

    name: str
    description: str
    primary_key: str
    tenant_column: str
    columns: tuple[Column, ...]
    schema: str = "public"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"entity {self.name!r} has no column {name!r}")

    @property
    def references(self) -> dict[str, str]:
        """Foreign-key column -> referenced entity (always within the same tenant)."""
        return {c.name: c.references for c in self.columns if c.references}

    @property
    def silver_job_name(self) -> str:
        """Name of the Glue job (and script stem) that builds this entity's silver table."""
        return f"transform_{self.name}_bronze_to_silver"


#: RFC 4180 (the contract's ``rfc_4180``, which every reader requires): a field holding the
#: delimiter, a quote or a line break is quoted with ``"``, and a ``"`` inside it is doubled.
CSV_QUOTE = '"'
#: The SerDe the Glue Data Catalog and Athena read bronze with: OpenCSVSerde reads RFC 4180
#: quoting (LazySimpleSerDe does not). All its columns are strings.
#: https://docs.aws.amazon.com/athena/latest/ug/csv-serde.html
BRONZE_SERDE_LIBRARY = "org.apache.hadoop.hive.serde2.OpenCSVSerde"


@dataclass(frozen=True)
class BronzeContract:
    """The bronze settings of ``bronze_contract.json`` (see docs/bronze-contract.md).

    Besides the settings, it says how each reader reads a bronze file, so that none restates
    the format: :meth:`csv_format` (the local catalog), :meth:`spark_csv_options` (the silver
    jobs), :meth:`duckdb_read_csv_arguments` (the local Athena engine),
    :meth:`serde_properties` and :meth:`table_parameters` (the Athena DDL and the Glue Data
    Catalog, through the generated catalog file Terraform reads).
    """

    bucket_folder: str
    compression_type: str
    add_column_name: bool
    include_op_for_full_load: bool
    timestamp_column_name: str
    rfc_4180: bool
    csv_delimiter: str
    csv_row_delimiter: str
    csv_null_value: str
    cdc_max_batch_interval_aws_seconds: int
    cdc_max_batch_interval_local_seconds: float
    cdc_min_file_size_kb: int
    op_column: str
    op_insert: str
    op_update: str
    op_delete: str
    change_seq_column: str
    change_seq_width: int
    change_seq_expression: str
    full_load_file_prefix: str
    full_load_file_digits: int
    full_load_max_file_size_kb: int
    file_suffix: str
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False, default_factory=dict)

    def table_folder(self, schema: str, table: str) -> str:
        """Relative folder of a table below the bronze root: ``dms/public/orders``."""
        return f"{self.bucket_folder}/{schema}/{table}"

    def full_load_file_name(self, number: int) -> str:
        """``LOAD00000001.csv.gz`` for ``number`` 1 (upper-case hexadecimal digits)."""
        if number < 1:
            raise ValueError("full-load files are numbered from 1")
        return (
            f"{self.full_load_file_prefix}{number:0{self.full_load_file_digits}X}{self.file_suffix}"
        )

    def is_full_load_file(self, file_name: str) -> bool:
        base = file_name.rsplit("/", 1)[-1]
        return base.startswith(self.full_load_file_prefix) and base.endswith(self.file_suffix)

    def csv_format(self) -> dict[str, str]:
        """The format of a bronze file, one property a key (as the local catalog records it)."""
        return {
            "compression": self.compression_type.lower(),
            "delimiter": self.csv_delimiter,
            "quote": CSV_QUOTE,
            "escape": CSV_QUOTE,
            "header": "true" if self.add_column_name else "false",
            "null": self.csv_null_value,
        }

    def spark_csv_options(self) -> dict[str, str | bool]:
        """Options of Spark's CSV reader (gzip is read by the file suffix).

        ``multiLine``: an RFC 4180 field may hold line breaks. NULL is left to the reader: the
        NULL marker needs the silver reader's own handling (:mod:`lakehouse_glue.bronze`).
        """
        return {
            "header": self.add_column_name,
            "multiLine": True,
            "sep": self.csv_delimiter,
            "quote": CSV_QUOTE,
            "escape": CSV_QUOTE,
        }

    def duckdb_read_csv_arguments(self) -> dict[str, str | bool]:
        """Arguments of DuckDB's ``read_csv`` that describe the file."""
        return {
            "header": self.add_column_name,
            "delim": self.csv_delimiter,
            "quote": CSV_QUOTE,
            "escape": CSV_QUOTE,
            "nullstr": self.csv_null_value,
            "compression": self.compression_type.lower(),
        }

    def serde_properties(self) -> dict[str, str]:
        """OpenCSVSerde's properties (:data:`BRONZE_SERDE_LIBRARY`).

        Its escape character is a backslash (its default); a doubled quote inside a quoted
        field reads as one quote. It has no NULL property: Athena shows NULL as the marker.
        """
        return {"separatorChar": self.csv_delimiter, "quoteChar": CSV_QUOTE, "escapeChar": "\\"}

    def table_parameters(self) -> dict[str, str]:
        """The bronze tables' parameters: the header row skipped, the compression named."""
        return {
            "skip.header.line.count": "1" if self.add_column_name else "0",
            "compressionType": self.compression_type.lower(),
        }

    def terraform_settings(self) -> dict[str, Any]:
        """The contract as ``aws_dms_s3_endpoint`` arguments (AWS values)."""
        out: dict[str, Any] = {}
        for key, argument in self.raw["terraform"].items():
            value = self.raw[key]
            if key == "cdc_max_batch_interval_seconds":
                value = value["aws"]
            out[argument] = value
        return out


@dataclass(frozen=True)
class Declaration:
    """All entities, in dependency order (a referenced entity comes before its referrers)."""

    schema: str
    tenant_entity: str
    entities: tuple[Entity, ...]

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entities]

    def entity(self, name: str) -> Entity:
        for e in self.entities:
            if e.name == name:
                return e
        raise KeyError(f"unknown entity {name!r}; declared entities: {', '.join(self.names)}")


def _read_json(name: str) -> dict[str, Any]:
    text = resources.files("lakehouse_glue").joinpath("declarations", name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def load_declaration() -> Declaration:
    """Parse and validate ``declarations/entities.json``."""
    raw = _read_json("entities.json")
    schema = raw["schema"]
    entities: list[Entity] = []
    seen: set[str] = set()
    for e in raw["entities"]:
        columns = tuple(
            Column(
                name=c["name"],
                type=_check_type(c["type"]),
                nullable=bool(c["nullable"]),
                references=c.get("references"),
                accepted_values=tuple(c["accepted_values"]) if "accepted_values" in c else None,
                non_negative=bool(c.get("non_negative", False)),
                unique=bool(c.get("unique", False)),
            )
            for c in e["columns"]
        )
        entity = Entity(
            name=e["name"],
            description=e.get("description", ""),
            primary_key=e["primary_key"],
            tenant_column=e["tenant_column"],
            columns=columns,
            schema=schema,
        )
        names = entity.column_names
        if len(set(names)) != len(names):
            raise ValueError(f"entities.json: duplicate column in {entity.name}")
        for key in (entity.primary_key, entity.tenant_column):
            if key not in names:
                raise ValueError(f"entities.json: {entity.name} has no column {key!r}")
        for col, target in entity.references.items():
            if target not in seen and target != entity.name:
                raise ValueError(
                    f"entities.json: {entity.name}.{col} references {target!r}, which must be "
                    "declared before it"
                )
        seen.add(entity.name)
        entities.append(entity)
    return Declaration(schema=schema, tenant_entity=raw["tenant_entity"], entities=tuple(entities))


def check_null_marker(marker: str, delimiter: str, row_delimiter: str) -> str:
    """``marker`` if it can stand for NULL in bronze CSV; otherwise a ValueError saying why.

    DMS writes the CsvNullValue string as it is, never quoted, so the marker must be a field
    no reader could split or unquote: not empty (the AWS provider does not send an empty
    CsvNullValue, and DMS then writes NULL and '' alike), no delimiter, double quote, CR or
    LF, no surrounding white space, and printable ASCII, so that every reader (Spark,
    DuckDB, Athena) compares the same bytes.
    """
    problem = None
    if not marker:
        problem = "is empty (DMS would then write NULL and '' alike)"
    elif any(ch in marker for ch in (delimiter, row_delimiter, '"', "\r", "\n")):
        problem = "holds the delimiter, a double quote or a line break"
    elif marker != marker.strip():
        problem = "has leading or trailing white space"
    elif not (marker.isascii() and marker.isprintable()):
        problem = "is not printable ASCII"
    if problem:
        raise ValueError(
            f"bronze_contract.json: csv_null_value {marker!r} {problem}; choose a short "
            "printable marker no source text holds, such as <NULL>"
        )
    return marker


@dataclass(frozen=True)
class Layout:
    """How every silver, history and gold table is partitioned and sorted (``layout.json``).

    Attributes:
        tenant_column: The column that names a row's tenant in every table.
        tenant_buckets: ``N`` of the partition transform ``bucket(N, tenant_column)``.
    """

    tenant_column: str
    tenant_buckets: int

    @property
    def partition_sql(self) -> str:
        """The partition transform in Spark and Athena SQL: ``bucket(64, tenant_id)``."""
        return f"bucket({self.tenant_buckets}, {self.tenant_column})"


@cache
def load_layout() -> Layout:
    """Parse and validate ``declarations/layout.json``."""
    raw = _read_json("layout.json")
    column, buckets = raw["tenant_column"], raw["tenant_buckets"]
    if not isinstance(column, str) or not column.isidentifier():
        raise ValueError(f"layout.json: tenant_column must be a column name, got {column!r}")
    # Athena accepts 1 to 2^31-1 buckets; a sane lake wants far fewer files than that.
    if isinstance(buckets, bool) or not isinstance(buckets, int) or not 1 <= buckets <= 1024:
        raise ValueError(
            f"layout.json: tenant_buckets must be a whole number from 1 to 1024, got {buckets!r}"
        )
    return Layout(tenant_column=column, tenant_buckets=buckets)


#: The largest ``MaxFileSize`` DMS accepts, in KB (1 GB, also its default).
DMS_MAX_FILE_SIZE_KB = 1_048_576


def check_full_load_max_file_size_kb(value: object) -> int:
    """``value`` as the contract's full-load file size, if DMS would accept it as MaxFileSize.

    DMS takes 1 to 1,048,576 KB
    (https://docs.aws.amazon.com/dms/latest/APIReference/API_S3Settings.html); a value outside
    would pass locally and fail only when Terraform creates the endpoint.

    Raises:
        ValueError: not a whole number of KB in that range.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= DMS_MAX_FILE_SIZE_KB
    ):
        raise ValueError(
            "bronze_contract.json: full_load_max_file_size_kb must be a whole number of KB from "
            f"1 to {DMS_MAX_FILE_SIZE_KB} (what DMS accepts as MaxFileSize), got {value!r}"
        )
    return value


@cache
def load_bronze_contract() -> BronzeContract:
    """Parse ``declarations/bronze_contract.json``."""
    raw = _read_json("bronze_contract.json")
    interval = raw["cdc_max_batch_interval_seconds"]
    if raw["rfc_4180"] is not True or raw["add_column_name"] is not True:
        raise ValueError(
            "bronze_contract.json: rfc_4180 and add_column_name must be true; every bronze "
            "reader reads RFC 4180 quoting and a header row"
        )
    return BronzeContract(
        bucket_folder=raw["bucket_folder"],
        compression_type=raw["compression_type"],
        add_column_name=raw["add_column_name"],
        include_op_for_full_load=raw["include_op_for_full_load"],
        timestamp_column_name=raw["timestamp_column_name"],
        rfc_4180=raw["rfc_4180"],
        csv_delimiter=raw["csv_delimiter"],
        csv_row_delimiter=raw["csv_row_delimiter"],
        csv_null_value=check_null_marker(
            raw["csv_null_value"], raw["csv_delimiter"], raw["csv_row_delimiter"]
        ),
        cdc_max_batch_interval_aws_seconds=int(interval["aws"]),
        cdc_max_batch_interval_local_seconds=float(interval["local"]),
        cdc_min_file_size_kb=int(raw["cdc_min_file_size_kb"]),
        op_column=raw["op_column"],
        op_insert=raw["ops"]["insert"],
        op_update=raw["ops"]["update"],
        op_delete=raw["ops"]["delete"],
        change_seq_column=raw["change_seq_column"],
        change_seq_width=int(raw["change_seq_width"]),
        change_seq_expression=raw["change_seq_expression"],
        full_load_file_prefix=raw["full_load_file_prefix"],
        full_load_file_digits=int(raw["full_load_file_digits"]),
        full_load_max_file_size_kb=check_full_load_max_file_size_kb(
            raw["full_load_max_file_size_kb"]
        ),
        file_suffix=raw["file_suffix"],
        raw=raw,
    )


# -- Facts every layer shares, spelled once: the Glue jobs, the local runtime, the generated
# -- DDL and catalog file (and through it Terraform) take them from here.

#: The column naming a row's tenant in every silver, history and gold table (``layout.json``).
TENANT_COLUMN = load_layout().tenant_column

#: The lineage columns that end every silver table: name, Athena type, meaning.
LINEAGE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("source_committed_at", "timestamp", "Commit time of the change that produced this row."),
    ("source_change_seq", "string", "dms_change_seq of that change (fixed width, sortable)."),
    ("processed_at", "timestamp", "When the Glue job wrote this row."),
)

#: The version columns that end every ``silver.<entity>_history`` table: name, type, meaning.
HISTORY_VERSION_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("operation", "string", "I (insert) or U (update) that made this version."),
    ("source_change_seq", "string", "dms_change_seq of that change (fixed width, sortable)."),
    ("valid_from", "timestamp", "Source commit time of the change that made this version."),
    ("valid_to", "timestamp", "Source commit time of the next change of the key (NULL: open)."),
    ("valid_to_change_seq", "string", "dms_change_seq of that next change."),
    ("is_current", "boolean", "Whether this is the key's current version (not closed)."),
)
