"""The one typed configuration object of the local runtime.

Every setting comes from an environment variable (or a ``.env`` file in the working
directory); ``.env.example`` at the repository root documents them all. Nothing else in the
package reads ``os.environ`` for configuration.

The settings resolve as pydantic-settings resolves them (arguments, then the environment, then
``.env``, then the defaults; variable names in any case) and are checked as pydantic checks the
same fields, with the same messages, in a few lines here instead of those libraries: importing
and building a pydantic model costs more than a small ``lakehouse athena`` query
(``bench/bench_cli.py``). ``tests/lakehouse/test_config.py`` checks that they agree, with a
pydantic-settings model of the same fields as its oracle.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import os
import re
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from lakehouse.errors import ConfigError

#: The dotenv file read by default (relative to the working directory), as pydantic-settings'
#: ``env_file``; ``Settings(_env_file=None)`` reads none.
ENV_FILE = ".env"


def join_uri(base: str, *parts: str) -> str:
    """Join a local path or ``s3://`` URI with relative parts using ``/``."""
    out = base.rstrip("/")
    for p in parts:
        out = f"{out}/{p.strip('/')}"
    return out


def _variables(env_file: str | Path | None) -> dict[str, str]:
    """Every variable by its lower-cased name: the process environment over the dotenv file."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        from dotenv import dotenv_values

        values |= {
            name.lower(): value
            for name, value in dotenv_values(env_file, encoding="utf-8").items()
            if value is not None
        }
    values |= {name.lower(): value for name, value in os.environ.items()}
    return values


def setting(
    default: Any,
    variable: str,
    description: str = "",
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    pattern: str | None = None,
    finite: bool = False,
) -> Any:
    """A field of :class:`Settings`: its default, its environment variable and its checks.

    Args:
        default: the value when neither an argument nor a variable gives one.
        variable: the environment (or ``.env``) variable, matched in any case.
        description: what the setting does (``.env.example`` says the same).
        gt, ge, le: bounds of a number.
        pattern: a regular expression a text must match (searched, as pydantic does).
        finite: refuse NaN and infinities.
    """
    rules = _Rules(variable, gt, ge, le, pattern, finite)
    return field(default=default, metadata={"rules": rules, "description": description})


@dataclass(frozen=True)
class _Rules:
    variable: str
    gt: float | None
    ge: float | None
    le: float | None
    pattern: str | None
    finite: bool


class _InvalidValueError(Exception):
    """One value that does not fit its field: pydantic's error type and message."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _as_int(value: Any) -> int:
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise _InvalidValueError(
                "int_from_float",
                "Input should be a valid integer, got a number with a fractional part",
            )
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                number = float(value.strip())
            except ValueError:
                number = math.nan
            if number.is_integer():
                return int(number)
        raise _InvalidValueError(
            "int_parsing", "Input should be a valid integer, unable to parse string as an integer"
        )
    raise _InvalidValueError("int_type", "Input should be a valid integer")


def _as_float(value: Any) -> float:
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise _InvalidValueError(
                "float_parsing",
                "Input should be a valid number, unable to parse string as a number",
            ) from None
    raise _InvalidValueError("float_type", "Input should be a valid number")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise _InvalidValueError(
        "bool_parsing", "Input should be a valid boolean, unable to interpret input"
    )


def _as_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _InvalidValueError("string_type", "Input should be a valid string")


def _as_path(value: Any) -> Path:
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise _InvalidValueError("path_type", "Input is not a valid path")


_CONVERT = {int: _as_int, float: _as_float, bool: _as_bool, str: _as_str, Path: _as_path}


def _check(value: Any, kind: Any, rules: _Rules) -> Any:
    """``value`` as ``kind`` (a type, ``X | None`` or a ``Literal``) within ``rules``."""
    args = typing.get_args(kind)
    if type(None) in args:  # X | None
        if value is None:
            return None
        (kind,) = [a for a in args if a is not type(None)]
        args = typing.get_args(kind)
    if typing.get_origin(kind) is Literal:
        if value not in args:
            choices = " or ".join(repr(a) for a in args)
            raise _InvalidValueError("literal_error", f"Input should be {choices}")
        return value
    value = _CONVERT[kind](value)
    if isinstance(value, float) and rules.finite and not math.isfinite(value):
        raise _InvalidValueError("finite_number", "Input should be a finite number")
    for bound, within, kind_, words in (
        (rules.gt, operator.gt, "greater_than", "greater than"),
        (rules.ge, operator.ge, "greater_than_equal", "greater than or equal to"),
        (rules.le, operator.le, "less_than_equal", "less than or equal to"),
    ):
        if bound is not None and not within(value, bound):
            raise _InvalidValueError(kind_, f"Input should be {words} {bound}")
    if rules.pattern is not None and not re.search(rules.pattern, value):
        raise _InvalidValueError(
            "string_pattern_mismatch", f"String should match pattern '{rules.pattern}'"
        )
    return value


class SettingsError(ConfigError):
    """Invalid settings: each names its variable (or argument) and what is wrong, never its value.

    Attributes:
        errors: ``(location, error type, message)`` of each invalid value, as pydantic reports
            them (``location`` is a one-element tuple: the variable or argument name).
    """

    def __init__(self, errors: list[tuple[tuple[str], str, str]]) -> None:
        self.errors = errors
        problems = "; ".join(f"{loc[0]}: {message}" for loc, _, message in errors)
        super().__init__(
            f"invalid setting(s): {problems}. Fix them in the environment or in .env "
            "(every setting is described in .env.example)"
        )


@dataclass(init=False)
class Settings:
    """Settings of the local lakehouse; each field's ``variable`` is its environment variable.

    ``Settings(**values)`` takes the values given (by field name or by variable), then each
    other field's variable from the environment, then from ``_env_file`` (default ``.env``;
    ``None`` for none), then the default; values of other names are ignored.

    Raises:
        SettingsError: naming each invalid value and what is wrong with it.
    """

    database_url: str | None = setting(
        None,
        "DATABASE_URL",
        "DSN of the source PostgreSQL; unset means the local cluster.",
    )
    owner_database_url: str | None = setting(
        None,
        "LAKEHOUSE_OWNER_DATABASE_URL",
        "DSN as the schema owner (migrations); unset: DATABASE_URL.",
    )
    maintenance_database_url: str | None = setting(
        None,
        "LAKEHOUSE_MAINTENANCE_DATABASE_URL",
        "DSN as the maintenance role (seed, simulate); unset: DATABASE_URL.",
    )
    replicator_database_url: str | None = setting(
        None,
        "LAKEHOUSE_REPLICATOR_DATABASE_URL",
        "DSN as the replicator (replicate, reconcile); unset: DATABASE_URL.",
    )
    app_role: str = setting(
        "lakehouse_app",
        "LAKEHOUSE_APP_ROLE",
    )
    owner_role: str = setting(
        "lakehouse_owner",
        "LAKEHOUSE_OWNER_ROLE",
    )
    maintenance_role: str = setting(
        "lakehouse_maintenance",
        "LAKEHOUSE_MAINTENANCE_ROLE",
    )
    replicator_role: str = setting(
        "lakehouse_replicator",
        "LAKEHOUSE_REPLICATOR_ROLE",
    )
    state_dir: Path = setting(
        Path(".lakehouse"),
        "LAKEHOUSE_STATE_DIR",
        "Git-ignored folder for the local PostgreSQL cluster and tool state.",
    )
    lake: str = setting(
        "./lake",
        "LAKEHOUSE_LAKE",
        "Lake root: a local folder or s3://bucket/prefix.",
    )
    pg_port: int = setting(
        55432,
        "LAKEHOUSE_PG_PORT",
        "TCP port of the local PostgreSQL cluster (on 127.0.0.1).",
        ge=1,
        le=65535,
    )
    pg_bin_dir: Path | None = setting(
        None,
        "LAKEHOUSE_PG_BIN_DIR",
        "Folder with initdb/pg_ctl/postgres 15; found with pg_config when unset.",
    )
    pg_os_user: str = setting(
        "postgres",
        "LAKEHOUSE_PG_OS_USER",
        "Unprivileged OS user that runs the server when the caller is root.",
    )
    db_name: str = setting(
        "saas",
        "LAKEHOUSE_DB_NAME",
    )
    publication: str = setting(
        "lakehouse_pub",
        "LAKEHOUSE_PUBLICATION",
        "Publication covering the 8 entity tables (created by the migrations).",
    )
    slot_name: str = setting(
        "lakehouse_slot",
        "LAKEHOUSE_SLOT",
        "Logical replication slot of the replicator.",
    )
    cdc_interval_seconds: float = setting(
        1.0,
        "LAKEHOUSE_CDC_INTERVAL",
        "CDC flush interval (DMS CdcMaxBatchInterval); 1 s locally, 60 s max.",
        gt=0,
        le=60,
    )
    cdc_min_file_size_kb: int | None = setting(
        None,
        "LAKEHOUSE_CDC_MIN_FILE_SIZE_KB",
        "CDC flush size threshold (DMS CdcMinFileSize); contract value if unset.",
        gt=0,
    )
    spark_master: str = setting(
        "local[*]",
        "LAKEHOUSE_SPARK_MASTER",
        "Spark master URL for local Glue runs (local[*] or spark://host:port).",
    )
    spark_driver_java_options: str = setting(
        "-XX:+UseParallelGC -XX:Tier4InvocationThreshold=25000 "
        "-XX:Tier4MinInvocationThreshold=3000 -XX:Tier4CompileThreshold=75000 "
        "-XX:Tier4BackEdgeThreshold=200000",
        "LAKEHOUSE_SPARK_DRIVER_JAVA_OPTIONS",
        "JVM options of the local Spark driver. The throughput collector beats G1 on a "
        "laptop-sized heap: measured 10 % faster for the scale 1 pipeline on 2 cores. The "
        "server compiler (C2) waits for five times its default call counts: it otherwise "
        "spends a large share of a run's CPU compiling planner code that runs a few thousand "
        "times, while the tasks' loops still reach it at once (a first run from an empty "
        "lake took 10-13 % less CPU at scales 1 and 10, a warm `pipeline watch` batch a few "
        "seconds less: glue-scripts/README.md).",
    )
    spark_quick_start_java_options: str = setting(
        "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m",
        "LAKEHOUSE_SPARK_QUICK_START_JAVA_OPTIONS",
        "Added to the driver's JVM options for short runs in a new process (an "
        "incremental `pipeline run` over existing silver, one `glue start-job-run`), "
        "whose time goes mostly into JIT warm-up: the client compiler alone warms up "
        "faster. Long runs (full refresh, watch) keep the default tiered compiler, which "
        "is faster once warm. With the client compiler alone the JVM reserves only 48 MiB"
        " of code cache, which a run of every Iceberg and gold job filled ('Out of space "
        "in CodeCache for adapters'); the tiered default of 240 MiB is kept. Empty to "
        "disable.",
    )
    spark_class_archive: bool = setting(
        True,
        "LAKEHOUSE_SPARK_CLASS_ARCHIVE",
        "Start the local Spark driver JVM from a class-data sharing archive of the classes an "
        "earlier run loaded (Java 17 dynamic AppCDS, lakehouse/glue/cds.py): measured about "
        "6 CPU seconds less per new process. The first run after a change of Java, of the "
        "Spark or Iceberg jars or of the JVM options writes it when the process ends (once, "
        "some seconds). false: plain start, no archive is read or written.",
    )
    spark_class_archive_dir: Path | None = setting(
        None,
        "LAKEHOUSE_SPARK_CLASS_ARCHIVE_DIR",
        "Folder of the driver JVM's class archives (a machine-level cache, about 140 MB "
        "per archive, shared by every checkout and lake of this user); unset: "
        "$XDG_CACHE_HOME/lakehouse/spark-cds, else ~/.cache/lakehouse/spark-cds.",
    )
    spark_nio_local_fs: bool = setting(
        True,
        "LAKEHOUSE_SPARK_NIO_LOCAL_FS",
        "Local Spark sessions write file: paths through Hadoop's local file system with "
        "permissions set in the JVM (lakehouse/glue/localfs.py) instead of a chmod child "
        "process per file and folder, built once per machine with the JDK's javac; without "
        "javac, or false: Hadoop's default local file system.",
    )
    spark_verbose: bool = setting(
        False,
        "LAKEHOUSE_SPARK_VERBOSE",
        "Show Spark's own log (warnings and start-up notices) on standard error; off: "
        "errors only (lakehouse/glue/log4j2-quiet.properties). `--verbose` sets it.",
    )
    spark_driver_memory: str | None = setting(
        None,
        "LAKEHOUSE_SPARK_DRIVER_MEMORY",
        "Heap of the local Spark driver (which is also its executor), e.g. 4g or 1536m. "
        "Unset: sized from the bronze data and the memory available "
        "(lakehouse/glue/sizing.py). Raise it when a run says it ran out of memory.",
        pattern=r"^[0-9]+[mMgG]$",
    )
    spark_shuffle_partitions: int | None = setting(
        None,
        "LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS",
        "spark.sql.shuffle.partitions; unset: from the data size and the cores.",
        ge=1,
        le=100000,
    )
    spark_max_partition_bytes: int | None = setting(
        None,
        "LAKEHOUSE_SPARK_MAX_PARTITION_BYTES",
        "spark.sql.files.maxPartitionBytes (the largest read split); unset: from the "
        "driver memory and the cores, at most 128 MiB.",
        ge=1024 * 1024,
    )
    silver_slice_bytes: int | None = setting(
        None,
        "LAKEHOUSE_SILVER_SLICE_BYTES",
        "The largest slice of bronze (compressed bytes) a silver job reads and merges at "
        "once (job argument --slice_bytes); unset: a sixteenth of the driver memory. "
        "Lower it when a silver job runs out of memory on a large backlog.",
        ge=1,
    )
    iceberg_runtime_jar: Path | None = setting(
        None,
        "LAKEHOUSE_ICEBERG_JAR",
        "Iceberg Spark runtime jar of the local Glue runs; unset: the iceberg-spark-"
        "runtime-3.5_2.12 jar of the pinned snowpark-connect-deps-iceberg.",
    )
    snapshot_retention_days: float = setting(
        7.0,
        "LAKEHOUSE_SNAPSHOT_RETENTION_DAYS",
        "`lakehouse maintain` expires Iceberg snapshots older than this.",
        gt=0,
    )
    snapshot_retain_last: int = setting(
        10,
        "LAKEHOUSE_SNAPSHOT_RETAIN_LAST",
        "`lakehouse maintain` keeps at least this many snapshots per table.",
        ge=1,
    )
    compact_bucket_files: int = setting(
        16,
        "LAKEHOUSE_COMPACT_BUCKET_FILES",
        "A local pipeline run compacts the tenant buckets of the silver and history tables it "
        "wrote that hold more than 2% of their table's files (when the table has 50 occupied "
        "buckets or more: many tenants) or at least this many files (data and delete files); "
        "0 turns the step off. `pipeline watch` does it between batches, when no change "
        "waits. On AWS the Glue table optimizer compacts instead.",
        ge=0,
    )
    pipeline_workers: int = setting(
        2,
        "LAKEHOUSE_PIPELINE_WORKERS",
        "Jobs of the pipeline that run at once in the shared Spark session (a job starts as "
        "soon as the silver jobs it reads have ended), as the Glue workflow starts a stage's "
        "jobs together on AWS; 1 runs them one by one.",
        ge=1,
        le=16,
    )
    lock_lease_seconds: float = setting(
        60.0,
        "LAKEHOUSE_LOCK_LEASE_SECONDS",
        "S3 lakes: how long the writer lock's lease lasts without renewal (the holder "
        "renews it every quarter of that); a holder that stops renewing, because it was "
        "killed on another host, loses the lock after this long. Local lakes need no "
        "lease: the kernel releases the lock of a process that ends.",
        ge=1,
        le=3600,
    )
    metrics_cloudwatch: bool = setting(
        False,
        "LAKEHOUSE_METRICS_CLOUDWATCH",
        "Also put the jobs' metrics (QuarantinedRows, GoldMartsPublished; "
        "declarations/metrics.json) to CloudWatch, through boto3's configuration "
        "(AWS_ENDPOINT_URL_CLOUDWATCH for another endpoint). They are always written to "
        "<lake>/reports/metrics/.",
    )
    metrics_deployment: str = setting(
        "local",
        "LAKEHOUSE_METRICS_DEPLOYMENT",
        "Value of the metrics' Deployment dimension (Terraform: its name).",
    )
    athena_engine: Literal["local", "athena"] = setting(
        "local",
        "LAKEHOUSE_ATHENA_ENGINE",
        "Where `lakehouse athena` (and the dashboards) run SQL: `local` (DuckDB over the "
        "lake) or `athena` (Amazon Athena through boto3).",
    )
    athena_workgroup: str | None = setting(
        None,
        "LAKEHOUSE_ATHENA_WORKGROUP",
        "The analysts' Athena workgroup for --engine athena (else the `athena_workgroup` "
        "Terraform output in LAKEHOUSE_TF_OUTPUTS).",
    )
    tf_outputs: Path | None = setting(
        None,
        "LAKEHOUSE_TF_OUTPUTS",
        "File written by `terraform output -json`: the workgroups, tenant roles and "
        "buckets of a deployed stack, for the tools that talk to AWS.",
    )
    athena_timeout_seconds: float = setting(
        60.0,
        "LAKEHOUSE_ATHENA_TIMEOUT",
        "Longest a local Athena query runs before it is cancelled (seconds).",
        gt=0,
        le=86400,
        finite=True,
    )
    athena_memory_limit: str = setting(
        "2GiB",
        "LAKEHOUSE_ATHENA_MEMORY_LIMIT",
        "DuckDB memory limit of one local Athena session (e.g. 2GiB, 512MB).",
        pattern=r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$",
    )
    athena_max_sql_bytes: int = setting(
        262144,
        "LAKEHOUSE_ATHENA_MAX_SQL_BYTES",
        "Largest SQL text accepted, in UTF-8 bytes (Athena's limit: 262144).",
        gt=0,
        le=16 * 1024 * 1024,
    )
    athena_max_nesting: int = setting(
        200,
        "LAKEHOUSE_ATHENA_MAX_NESTING",
        "Deepest syntax tree accepted (expressions within expressions).",
        ge=10,
        le=400,
    )
    dashboard_sessions: int = setting(
        64,
        "LAKEHOUSE_DASHBOARD_SESSIONS",
        "Locked tenant sessions the app keeps for its analytics pages (local engine; 0 "
        "builds one per request).",
        ge=0,
        le=10000,
    )

    def __init__(self, _env_file: str | Path | None = ENV_FILE, **values: Any) -> None:
        variables: dict[str, str] | None = None
        errors: list[tuple[tuple[str], str, str]] = []
        for name, kind, rules, default in _fields():
            if name in values:
                key, value = name, values[name]
            elif rules.variable in values:
                key, value = rules.variable, values[rules.variable]
            else:
                if variables is None:
                    variables = _variables(_env_file)
                key, value = rules.variable, variables.get(rules.variable.lower(), default)
            try:
                value = _check(value, kind, rules)
                if name == "lake" and not value.strip():
                    raise _InvalidValueError(
                        "value_error",
                        "Value error, LAKEHOUSE_LAKE must be a folder or an s3://bucket/prefix URI",
                    )
            except _InvalidValueError as exc:
                errors.append(((key,), exc.kind, exc.message))
            setattr(self, name, value)
        if errors:
            raise SettingsError(errors)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (by field name), checked like the original."""
        return Settings(_env_file=None, **{**self.as_dict(), **changes})

    def as_dict(self) -> dict[str, Any]:
        """Every field's value by its name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    # Locations below the lake root. One place, so that no other module builds them by hand.
    @property
    def lake_uri(self) -> str:
        if self.lake.startswith("s3://"):
            return self.lake.rstrip("/")
        return str(Path(self.lake).resolve())

    @property
    def bronze_uri(self) -> str:
        return join_uri(self.lake_uri, "bronze")

    @property
    def silver_uri(self) -> str:
        return join_uri(self.lake_uri, "silver")

    @property
    def gold_uri(self) -> str:
        return join_uri(self.lake_uri, "gold")

    @property
    def quarantine_uri(self) -> str:
        return join_uri(self.lake_uri, "quarantine")

    @property
    def reports_uri(self) -> str:
        return join_uri(self.lake_uri, "reports")

    @property
    def glue_state_uri(self) -> str:
        """Where the local Glue stand-in keeps job bookmarks and run history."""
        return join_uri(self.lake_uri, "_glue")

    @property
    def glue_s3_root(self) -> str | None:
        """Where a Glue script's ``s3://bucket/key`` lives locally: ``<lake>/s3/bucket/key``.

        ``None`` when the lake is on S3: the script's paths then go to S3 unchanged.
        """
        if self.lake.startswith("s3://"):
            return None
        return join_uri(self.lake_uri, "s3")

    @property
    def catalog_uri(self) -> str:
        """Where the local Data Catalog lives."""
        return join_uri(self.lake_uri, "_catalog")

    @property
    def athena_results_uri(self) -> str:
        return join_uri(self.lake_uri, "athena-results")

    @property
    def pg_dir(self) -> Path:
        return self.state_dir.resolve() / "postgres"

    @property
    def class_archive_folder(self) -> Path | None:
        """Where the Spark driver's class archives live: the setting, else the user's cache.

        ``None`` without a home folder: a JVM maps what it finds there, so never a shared one.
        """
        if self.spark_class_archive_dir is not None:
            return self.spark_class_archive_dir.expanduser().resolve()
        cache = self.user_cache_folder
        return cache / "spark-cds" if cache is not None else None

    @property
    def user_cache_folder(self) -> Path | None:
        """This user's cache of the project: $XDG_CACHE_HOME/lakehouse, else ~/.cache/lakehouse.

        ``None`` without a home folder (a JVM loads what it finds there, so never a shared one).
        """
        cache = os.environ.get("XDG_CACHE_HOME", "").strip()
        # The XDG base directory rule: a relative XDG_CACHE_HOME is invalid and ignored.
        if cache and Path(cache).is_absolute():
            return Path(cache) / "lakehouse"
        try:
            return Path.home() / ".cache" / "lakehouse"
        except RuntimeError:  # no HOME and no entry in the password database
            return None


@cache
def _fields() -> tuple[tuple[str, Any, _Rules, Any], ...]:
    """Each field's name, type, rules and default, in declaration order."""
    hints = typing.get_type_hints(Settings)
    return tuple(
        (f.name, hints[f.name], f.metadata["rules"], f.default)
        for f in dataclasses.fields(Settings)
    )


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once).

    Raises:
        SettingsError: naming each invalid variable and what is wrong with it (never its value,
            which may be a password in a DSN).
    """
    return Settings()
