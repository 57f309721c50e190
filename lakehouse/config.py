"""The one typed configuration object of the local runtime.

Every setting comes from an environment variable (or a ``.env`` file in the working
directory); ``.env.example`` at the repository root documents them all. Nothing else in the
package reads ``os.environ`` for configuration.

The settings resolve as pydantic-settings resolves them (arguments, then the environment, then
``.env``, then the defaults; variable names in any case), with a few lines here instead of that
library: importing pydantic-settings costs more than a small ``lakehouse athena`` query
(``bench/bench_cli.py``). ``tests/lakehouse/test_config.py`` checks the two agree.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

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


def _names(name: str, alias: Any) -> tuple[str, ...]:
    """The variable names of a field: its alias choices, or its own name without any."""
    if isinstance(alias, AliasChoices):
        return tuple(choice for choice in alias.choices if isinstance(choice, str))
    if isinstance(alias, str):
        return (alias,)
    return (name,)


class Settings(BaseModel):
    """Settings of the local lakehouse; each field's alias is its environment variable.

    ``Settings(**values)`` takes the values given, then each other field's variable from the
    environment, then from ``_env_file`` (default ``.env``; ``None`` for none), then the default.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True, validate_default=True)

    def __init__(self, _env_file: str | Path | None = ENV_FILE, **values: Any) -> None:
        variables = _variables(_env_file)
        found: dict[str, Any] = {}
        for name, info in type(self).model_fields.items():
            names = _names(name, info.validation_alias)
            if name in values or any(n in values for n in names):
                continue
            for variable in names:
                if variable.lower() in variables:
                    found[variable] = variables[variable.lower()]
                    break
        super().__init__(**found, **values)

    database_url: Annotated[
        str | None,
        Field(
            default=None,
            validation_alias=AliasChoices("DATABASE_URL"),
            description="DSN of the source PostgreSQL; unset means the local cluster.",
        ),
    ]
    owner_database_url: Annotated[
        str | None,
        Field(
            default=None,
            validation_alias=AliasChoices("LAKEHOUSE_OWNER_DATABASE_URL"),
            description="DSN as the schema owner (migrations); unset: DATABASE_URL.",
        ),
    ]
    maintenance_database_url: Annotated[
        str | None,
        Field(
            default=None,
            validation_alias=AliasChoices("LAKEHOUSE_MAINTENANCE_DATABASE_URL"),
            description="DSN as the maintenance role (seed, simulate); unset: DATABASE_URL.",
        ),
    ]
    replicator_database_url: Annotated[
        str | None,
        Field(
            default=None,
            validation_alias=AliasChoices("LAKEHOUSE_REPLICATOR_DATABASE_URL"),
            description="DSN as the replicator (replicate, reconcile); unset: DATABASE_URL.",
        ),
    ]
    app_role: Annotated[
        str,
        Field(default="lakehouse_app", validation_alias=AliasChoices("LAKEHOUSE_APP_ROLE")),
    ]
    owner_role: Annotated[
        str,
        Field(default="lakehouse_owner", validation_alias=AliasChoices("LAKEHOUSE_OWNER_ROLE")),
    ]
    maintenance_role: Annotated[
        str,
        Field(
            default="lakehouse_maintenance",
            validation_alias=AliasChoices("LAKEHOUSE_MAINTENANCE_ROLE"),
        ),
    ]
    replicator_role: Annotated[
        str,
        Field(
            default="lakehouse_replicator",
            validation_alias=AliasChoices("LAKEHOUSE_REPLICATOR_ROLE"),
        ),
    ]
    state_dir: Annotated[
        Path,
        Field(
            default=Path(".lakehouse"),
            validation_alias=AliasChoices("LAKEHOUSE_STATE_DIR"),
            description="Git-ignored folder for the local PostgreSQL cluster and tool state.",
        ),
    ]
    lake: Annotated[
        str,
        Field(
            default="./lake",
            validation_alias=AliasChoices("LAKEHOUSE_LAKE"),
            description="Lake root: a local folder or s3://bucket/prefix.",
        ),
    ]
    pg_port: Annotated[
        int,
        Field(
            default=55432,
            ge=1,
            le=65535,
            validation_alias=AliasChoices("LAKEHOUSE_PG_PORT"),
            description="TCP port of the local PostgreSQL cluster (on 127.0.0.1).",
        ),
    ]
    pg_bin_dir: Annotated[
        Path | None,
        Field(
            default=None,
            validation_alias=AliasChoices("LAKEHOUSE_PG_BIN_DIR"),
            description="Folder with initdb/pg_ctl/postgres 15; found with pg_config when unset.",
        ),
    ]
    pg_os_user: Annotated[
        str,
        Field(
            default="postgres",
            validation_alias=AliasChoices("LAKEHOUSE_PG_OS_USER"),
            description="Unprivileged OS user that runs the server when the caller is root.",
        ),
    ]
    db_name: Annotated[
        str,
        Field(default="saas", validation_alias=AliasChoices("LAKEHOUSE_DB_NAME")),
    ]
    publication: Annotated[
        str,
        Field(
            default="lakehouse_pub",
            validation_alias=AliasChoices("LAKEHOUSE_PUBLICATION"),
            description="Publication covering the 8 entity tables (created by the migrations).",
        ),
    ]
    slot_name: Annotated[
        str,
        Field(
            default="lakehouse_slot",
            validation_alias=AliasChoices("LAKEHOUSE_SLOT"),
            description="Logical replication slot of the replicator.",
        ),
    ]
    cdc_interval_seconds: Annotated[
        float,
        Field(
            default=1.0,
            gt=0,
            le=60,
            validation_alias=AliasChoices("LAKEHOUSE_CDC_INTERVAL"),
            description="CDC flush interval (DMS CdcMaxBatchInterval); 1 s locally, 60 s max.",
        ),
    ]
    cdc_min_file_size_kb: Annotated[
        int | None,
        Field(
            default=None,
            gt=0,
            validation_alias=AliasChoices("LAKEHOUSE_CDC_MIN_FILE_SIZE_KB"),
            description="CDC flush size threshold (DMS CdcMinFileSize); contract value if unset.",
        ),
    ]
    spark_master: Annotated[
        str,
        Field(
            default="local[*]",
            validation_alias=AliasChoices("LAKEHOUSE_SPARK_MASTER"),
            description="Spark master URL for local Glue runs (local[*] or spark://host:port).",
        ),
    ]
    spark_driver_java_options: Annotated[
        str,
        Field(
            default="-XX:+UseParallelGC",
            validation_alias=AliasChoices("LAKEHOUSE_SPARK_DRIVER_JAVA_OPTIONS"),
            description=(
                "JVM options of the local Spark driver. The throughput collector beats G1 on a"
                " laptop-sized heap: measured 10 % faster for the scale 1 pipeline on 2 cores."
            ),
        ),
    ]
    spark_quick_start_java_options: Annotated[
        str,
        Field(
            default="-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m",
            validation_alias=AliasChoices("LAKEHOUSE_SPARK_QUICK_START_JAVA_OPTIONS"),
            description=(
                "Added to the driver's JVM options for short runs in a new process (an"
                " incremental `pipeline run` over existing silver, one `glue start-job-run`),"
                " whose time goes mostly"
                " into JIT warm-up: the client compiler alone warms up faster. Long runs (full"
                " refresh, watch) keep the default tiered compiler, which is faster once warm."
                " With the client compiler alone the JVM reserves only 48 MiB of code cache,"
                " which a run of every Iceberg and gold job filled ('Out of space in CodeCache"
                " for adapters'); the tiered default of 240 MiB is kept."
                " Empty to disable."
            ),
        ),
    ]
    spark_verbose: Annotated[
        bool,
        Field(
            default=False,
            validation_alias=AliasChoices("LAKEHOUSE_SPARK_VERBOSE"),
            description=(
                "Show Spark's own log (warnings and start-up notices) on standard error; off:"
                " errors only (lakehouse/glue/log4j2-quiet.properties). `--verbose` sets it."
            ),
        ),
    ]
    spark_driver_memory: Annotated[
        str | None,
        Field(
            default=None,
            pattern=r"^[0-9]+[mMgG]$",
            validation_alias=AliasChoices("LAKEHOUSE_SPARK_DRIVER_MEMORY"),
            description=(
                "Heap of the local Spark driver (which is also its executor), e.g. 4g or 1536m."
                " Unset: sized from the bronze data and the memory available"
                " (lakehouse/glue/sizing.py). Raise it when a run says it ran out of memory."
            ),
        ),
    ]
    spark_shuffle_partitions: Annotated[
        int | None,
        Field(
            default=None,
            ge=1,
            le=100_000,
            validation_alias=AliasChoices("LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS"),
            description="spark.sql.shuffle.partitions; unset: from the data size and the cores.",
        ),
    ]
    spark_max_partition_bytes: Annotated[
        int | None,
        Field(
            default=None,
            ge=1024 * 1024,
            validation_alias=AliasChoices("LAKEHOUSE_SPARK_MAX_PARTITION_BYTES"),
            description=(
                "spark.sql.files.maxPartitionBytes (the largest read split); unset: from the"
                " driver memory and the cores, at most 128 MiB."
            ),
        ),
    ]
    silver_slice_bytes: Annotated[
        int | None,
        Field(
            default=None,
            ge=1,
            validation_alias=AliasChoices("LAKEHOUSE_SILVER_SLICE_BYTES"),
            description=(
                "The largest slice of bronze (compressed bytes) a silver job reads and merges at"
                " once (job argument --slice_bytes); unset: a sixteenth of the driver memory."
                " Lower it when a silver job runs out of memory on a large backlog."
            ),
        ),
    ]
    iceberg_runtime_jar: Annotated[
        Path | None,
        Field(
            default=None,
            validation_alias=AliasChoices("LAKEHOUSE_ICEBERG_JAR"),
            description=(
                "Iceberg Spark runtime jar of the local Glue runs; unset: the"
                " iceberg-spark-runtime-3.5_2.12 jar of the pinned snowpark-connect-deps-iceberg."
            ),
        ),
    ]
    snapshot_retention_days: Annotated[
        float,
        Field(
            default=7.0,
            gt=0,
            validation_alias=AliasChoices("LAKEHOUSE_SNAPSHOT_RETENTION_DAYS"),
            description="`lakehouse maintain` expires Iceberg snapshots older than this.",
        ),
    ]
    snapshot_retain_last: Annotated[
        int,
        Field(
            default=10,
            ge=1,
            validation_alias=AliasChoices("LAKEHOUSE_SNAPSHOT_RETAIN_LAST"),
            description="`lakehouse maintain` keeps at least this many snapshots per table.",
        ),
    ]
    pipeline_workers: Annotated[
        int,
        Field(
            default=2,
            ge=1,
            le=16,
            validation_alias=AliasChoices("LAKEHOUSE_PIPELINE_WORKERS"),
            description=(
                "Jobs of one pipeline stage that run at once in the shared Spark session, as the"
                " Glue workflow starts a stage's jobs together on AWS; 1 runs them one by one."
            ),
        ),
    ]

    lock_lease_seconds: Annotated[
        float,
        Field(
            default=60.0,
            ge=1,
            le=3600,
            validation_alias=AliasChoices("LAKEHOUSE_LOCK_LEASE_SECONDS"),
            description=(
                "S3 lakes: how long the writer lock's lease lasts without renewal (the holder"
                " renews it every quarter of that); a holder that stops renewing, because it was"
                " killed on another host, loses the lock after this long. Local lakes need no"
                " lease: the kernel releases the lock of a process that ends."
            ),
        ),
    ]
    metrics_cloudwatch: Annotated[
        bool,
        Field(
            default=False,
            validation_alias=AliasChoices("LAKEHOUSE_METRICS_CLOUDWATCH"),
            description=(
                "Also put the jobs' metrics (QuarantinedRows, GoldMartsPublished;"
                " declarations/metrics.json) to CloudWatch, through boto3's configuration"
                " (AWS_ENDPOINT_URL_CLOUDWATCH for another endpoint). They are always written"
                " to <lake>/reports/metrics/."
            ),
        ),
    ]
    metrics_deployment: Annotated[
        str,
        Field(
            default="local",
            validation_alias=AliasChoices("LAKEHOUSE_METRICS_DEPLOYMENT"),
            description="Value of the metrics' Deployment dimension (Terraform: its name).",
        ),
    ]
    athena_engine: Annotated[
        Literal["local", "athena"],
        Field(
            default="local",
            validation_alias=AliasChoices("LAKEHOUSE_ATHENA_ENGINE"),
            description=(
                "Where `lakehouse athena` (and the dashboards) run SQL: `local` (DuckDB over the"
                " lake) or `athena` (Amazon Athena through boto3)."
            ),
        ),
    ]
    athena_workgroup: Annotated[
        str | None,
        Field(
            default=None,
            validation_alias=AliasChoices("LAKEHOUSE_ATHENA_WORKGROUP"),
            description=(
                "The analysts' Athena workgroup for --engine athena (else the `athena_workgroup`"
                " Terraform output in LAKEHOUSE_TF_OUTPUTS)."
            ),
        ),
    ]
    tf_outputs: Annotated[
        Path | None,
        Field(
            default=None,
            validation_alias=AliasChoices("LAKEHOUSE_TF_OUTPUTS"),
            description=(
                "File written by `terraform output -json`: the workgroups, tenant roles and"
                " buckets of a deployed stack, for the tools that talk to AWS."
            ),
        ),
    ]
    athena_timeout_seconds: Annotated[
        float,
        Field(
            default=60.0,
            gt=0,
            le=86400,
            allow_inf_nan=False,
            validation_alias=AliasChoices("LAKEHOUSE_ATHENA_TIMEOUT"),
            description="Longest a local Athena query runs before it is cancelled (seconds).",
        ),
    ]
    athena_memory_limit: Annotated[
        str,
        Field(
            default="2GiB",
            pattern=r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$",
            validation_alias=AliasChoices("LAKEHOUSE_ATHENA_MEMORY_LIMIT"),
            description="DuckDB memory limit of one local Athena session (e.g. 2GiB, 512MB).",
        ),
    ]
    athena_max_sql_bytes: Annotated[
        int,
        Field(
            default=262_144,
            gt=0,
            le=16 * 1024 * 1024,
            validation_alias=AliasChoices("LAKEHOUSE_ATHENA_MAX_SQL_BYTES"),
            description="Largest SQL text accepted, in UTF-8 bytes (Athena's limit: 262144).",
        ),
    ]
    athena_max_nesting: Annotated[
        int,
        Field(
            default=200,
            ge=10,
            le=400,
            validation_alias=AliasChoices("LAKEHOUSE_ATHENA_MAX_NESTING"),
            description="Deepest syntax tree accepted (expressions within expressions).",
        ),
    ]
    dashboard_sessions: Annotated[
        int,
        Field(
            default=64,
            ge=0,
            le=10_000,
            validation_alias=AliasChoices("LAKEHOUSE_DASHBOARD_SESSIONS"),
            description=(
                "Locked tenant sessions the app keeps for its analytics pages (local engine; "
                "0 builds one per request)."
            ),
        ),
    ]

    @field_validator("lake")
    @classmethod
    def _lake_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("LAKEHOUSE_LAKE must be a folder or an s3://bucket/prefix URI")
        return v

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


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once).

    Raises:
        ConfigError: naming each invalid variable and what is wrong with it (never its value,
            which may be a password in a DSN).
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise ConfigError(
            f"invalid setting(s): {problems}. Fix them in the environment or in .env "
            "(every setting is described in .env.example)"
        ) from exc
