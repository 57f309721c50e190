"""Run Glue job scripts locally, unchanged, like ``aws glue start-job-run``.

The scripts in ``glue-scripts/`` import ``awsglue``; this runner puts the local stand-in
(``lakehouse/glue/stubs``) on ``sys.path``, hands the script the job's default arguments (the
same ones Terraform sets on AWS: the lake locations from settings, bookmarks enabled) merged
with the caller's, and runs it in this process, in the shared Spark session.

Every script's ``__main__`` block is ``main(sys.argv)``; the runner loads the script and calls
``main(argv)`` itself with the job's argument vector, which is the same call without touching
the process-wide ``sys.argv``, so several jobs can run at once in threads (as the jobs of one
Glue workflow stage do on AWS).

Any other Glue script (``start_job_run(..., script=path)``: one from Glue Studio or the AWS
samples, written at module level against ``sys.argv``) runs as ``__main__`` with ``sys.argv``
set to the job's arguments for the duration of the run, one such run at a time.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import sys
import threading
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse_glue import fs
from lakehouse_glue.dag import ON_DEMAND_JOBS, SINGLE_JOB
from lakehouse_glue.metrics import load_metrics
from lakehouse_glue.model import load_declaration
from lakehouse_glue.report import read_json, run_report_path
from pyspark import SparkContext
from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.errors import LakehouseError
from lakehouse.glue import cds, iceberg, jvmnames, localfs
from lakehouse.glue.sizing import SparkSizing, local_cores, measure, size_spark
from lakehouse.paths import GLUE_SCRIPTS_DIR
from lakehouse.paths import job_scripts as job_scripts  # the callers' import, kept
from lakehouse.storage import open_storage
from lakehouse.storage.lock import writer_lock

STUBS_DIR = Path(__file__).resolve().parent / "stubs"
#: The driver's Log4j 2 configuration unless ``settings.spark_verbose``: errors only.
QUIET_LOG = Path(__file__).resolve().parent / "log4j2-quiet.properties"


class SparkStartError(LakehouseError):
    """The local Spark driver could not start."""


def ensure_stubs_on_path() -> None:
    """Make ``import awsglue`` find the local stand-in, and the job scripts importable.

    Idempotent. The single job ``run_pipeline`` imports the step scripts as modules: on Glue
    they ship in its ``--extra-py-files``, which Glue puts on the Python path; here the scripts
    folder stands for them (appended, so an installed package always wins over a script name).
    """
    stubs = str(STUBS_DIR)
    if stubs not in sys.path:
        sys.path.insert(0, stubs)
    scripts = str(GLUE_SCRIPTS_DIR)
    if scripts not in sys.path:
        sys.path.append(scripts)


def spark_session(
    settings: Settings,
    app_name: str = "lakehouse-glue",
    *,
    quick_start: bool = False,
    sizing: SparkSizing | None = None,
) -> SparkSession:
    """The one local Spark session of a run, sized for this machine and this lake.

    The driver's memory, the shuffle partitions and the read split come from
    :func:`spark_sizing` (settings override each); adaptive execution does the rest. None of
    these settings changes results (UTC session time zone and microsecond Parquet timestamps
    are what the jobs also assume on Glue). ``quick_start`` marks a short run in a new
    process: the driver JVM then also gets ``settings.spark_quick_start_java_options``.
    """
    global _session_sizing
    sizing = sizing or spark_sizing(settings)
    java_options = driver_java_options(settings, quick_start=quick_start)
    # An OutOfMemoryError outside a task thread (a Py4J handler, the planner) would leave a
    # JVM that no longer answers; ending it at once turns that into a clean, reported failure.
    java_options = f"{java_options} -XX:+ExitOnOutOfMemoryError".strip()
    # Spark's own log: errors only unless verbose, or a configuration the user gave.
    if not settings.spark_verbose and "log4j2.configurationFile" not in java_options:
        java_options = f"{java_options} -Dlog4j2.configurationFile={QUIET_LOG.as_uri()}"
    iceberg_config = iceberg.session_config(settings)
    # A JVM starts only when this process has none yet; only then do its options count.
    starting = SparkContext._gateway is None
    local_fs = local_fs_config(settings) if starting else {}
    archive = None
    folder = settings.class_archive_folder
    if settings.spark_class_archive and folder is not None and starting:
        archive = cds.prepare(
            folder,
            java_options,
            sizing.driver_memory_mib,
            [Path(j) for j in iceberg_config.get("spark.jars", "").split(",") if j],
            extra_classpath=tuple(
                e for e in local_fs.get("spark.driver.extraClassPath", "").split(os.pathsep) if e
            ),
        )
    plain_options = java_options
    if archive is not None:
        java_options = f"{java_options} {archive.java_options}"
    # Python workers must run this interpreter: it has lakehouse_glue, pandas and pyarrow.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(settings.spark_master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(sizing.shuffle_partitions))
        .config("spark.default.parallelism", str(2 * local_cores(settings.spark_master)))
        .config("spark.sql.files.maxPartitionBytes", str(sizing.max_partition_bytes))
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.adaptive.coalescePartitions.enabled", "true")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Only takes effect when this call starts the JVM, like the Java options below.
        .config("spark.driver.memory", sizing.driver_memory)
        # Only takes effect when this call starts the JVM (the first session of the process).
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Compiled whole-stage code is kept per plan shape; Spark keeps 100 (a static setting,
        # StaticSQLConf CODEGEN_CACHE_MAX_ENTRIES). One run of the DAG makes more than that,
        # so a long-lived session (`pipeline watch`) recompiled the same jobs every batch:
        # with 2,000, the watch batch p50 of bench_pipeline fell from 17.5 to 12.7 s (scale 1).
        .config("spark.sql.codegen.cache.maxEntries", "2000")
    )
    for key, value in {**iceberg_config, **local_fs}.items():
        builder = builder.config(key, value)
    try:
        started = SparkSession.getActiveSession() is None
        try:
            spark = builder.getOrCreate()
        except PySparkRuntimeError as exc:
            if exc.getErrorClass() != "JAVA_GATEWAY_EXITED" or not (archive and archive.archive):
                raise
            # A JVM that dies mapping the archive (a file changed behind our back) must not
            # fail the run: once more, as if there were no archive.
            archive = None
            builder = builder.config("spark.driver.extraJavaOptions", plain_options)
            spark = builder.getOrCreate()
    except PySparkRuntimeError as exc:
        if exc.getErrorClass() != "JAVA_GATEWAY_EXITED":
            raise
        raise SparkStartError(
            "Spark's driver JVM exited at start-up (its own message is above). Check that "
            "Java 17 is installed (`java -version`, JAVA_HOME) and that the JVM options are "
            f"valid: LAKEHOUSE_SPARK_DRIVER_JAVA_OPTIONS={settings.spark_driver_java_options!r}"
            + (
                f", LAKEHOUSE_SPARK_QUICK_START_JAVA_OPTIONS="
                f"{settings.spark_quick_start_java_options!r}"
                if quick_start
                else ""
            )
        ) from exc
    if started or _session_sizing is None:
        _session_sizing = sizing
    if archive is not None:
        cds.register(archive, spark)
    iceberg.skip_local_checksums(spark)
    # PySpark asks the JVM what ``functions`` and other names are on every call; once is enough.
    jvmnames.remember_names(spark.sparkContext._jvm)
    return spark


def driver_java_options(settings: Settings, *, quick_start: bool = False) -> str:
    """The driver JVM's options from settings: the driver's own, then those of a short run in
    a new process (``quick_start``)."""
    parts = [settings.spark_driver_java_options]
    if quick_start:
        parts.append(settings.spark_quick_start_java_options)
    return " ".join(p.strip() for p in parts if p.strip())


def local_fs_config(settings: Settings) -> dict[str, str]:
    """The session settings that make a local driver write ``file:`` paths without a ``chmod``
    process per file (:mod:`lakehouse.glue.localfs`); empty when off, not local, or unbuilt.

    The class must be on the driver's own class path (``spark.driver.extraClassPath``), not in
    ``spark.jars``: Spark's launcher opens ``file:`` paths before it adds those jars.
    """
    cache = settings.user_cache_folder
    if not settings.spark_nio_local_fs or cache is None:
        return {}
    if not settings.spark_master.startswith("local"):
        return {}  # executors of a cluster would not have the jar
    jar = localfs.local_fs_jar(cache / "hadoop-fs", cds.spark_home())
    if jar is None:
        return {}
    return {
        "spark.driver.extraClassPath": str(jar),
        "spark.hadoop.fs.file.impl": localfs.FILE_SYSTEM_CLASS,
    }


#: The sizing the JVM of this process was started with (its heap cannot change afterwards).
_session_sizing: SparkSizing | None = None


def resize(spark: SparkSession, sizing: SparkSizing) -> None:
    """Give a running session a new run's shuffle partitions and read split (runtime settings;
    its driver memory stays what its JVM started with): how a long-lived session serves a run
    sized for the lake as it is now."""
    spark.conf.set("spark.sql.shuffle.partitions", str(sizing.shuffle_partitions))
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(sizing.max_partition_bytes))


def session_sizing() -> SparkSizing | None:
    """The sizing this process's Spark JVM was started with (None before one starts here)."""
    return _session_sizing


def spark_sizing(settings: Settings) -> SparkSizing:
    """Driver memory, shuffle partitions and read split for this machine and lake."""
    memory = settings.spark_driver_memory
    memory_mib = None
    if memory is not None:
        memory_mib = int(memory[:-1]) * (1024 if memory[-1] in "gG" else 1)
    return size_spark(
        measure(open_storage(settings.bronze_uri), settings.spark_master),
        driver_memory_mib=memory_mib,
        shuffle_partitions=settings.spark_shuffle_partitions,
        max_partition_bytes=settings.spark_max_partition_bytes,
        slice_bytes=settings.silver_slice_bytes,
    )


class SparkLostError(LakehouseError):
    """The Spark driver JVM ran out of memory or died: the run cannot go on."""


#: Exit codes of a JVM ended by an OutOfMemoryError: Spark's SparkExitCode.OOM (a task
#: thread) and the JVM's own -XX:+ExitOnOutOfMemoryError (any other thread).
_JVM_OOM_EXITS = (52, 3)
#: What Py4J says (in the error or its traceback) when the JVM at the other end is gone.
_LOST_CONNECTION = (
    "Py4JNetworkError",
    "Answer from Java side is empty",
    "ConnectionRefusedError",
    "Error while sending or receiving",
    "Error while receiving",
)


def _jvm_exit_code(spark: SparkSession, patience: float) -> int | None:
    """The driver JVM's exit code, waiting up to ``patience`` s; ``None`` while it runs."""
    proc = getattr(spark.sparkContext._gateway, "proc", None)
    if proc is None:
        return None
    deadline = time.monotonic() + patience
    while (code := proc.poll()) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return code if code is None else int(code)


def fatal_failure(job_name: str, error: str, spark: SparkSession) -> str | None:
    """One line for a failure that ends the run (out of memory, a lost JVM); else ``None``.

    A job's own errors (bad input, a bug) leave the JVM running and the run goes on; an
    OutOfMemoryError makes Spark end the JVM (exit code 52), and every later call fails.
    """
    lost = any(marker in error for marker in _LOST_CONNECTION)
    code = _jvm_exit_code(spark, patience=10.0 if lost else 0.0)
    memory = _session_sizing.driver_memory if _session_sizing else "unknown"
    if "java.lang.OutOfMemoryError" in error or code in _JVM_OOM_EXITS:
        return (
            f"{job_name} failed: the Spark driver ran out of memory (java.lang.OutOfMemoryError"
            f" with a {memory} heap); raise LAKEHOUSE_SPARK_DRIVER_MEMORY (or free memory) and "
            "run again: bookmarks did not move, the next run processes the same files"
        )
    if code is not None or lost:
        how = f"exited with code {code}" if code is not None else "stopped answering"
        return (
            f"{job_name} failed: the Spark driver JVM {how} (its log is above; a {memory} "
            "heap, LAKEHOUSE_SPARK_DRIVER_MEMORY); run again: bookmarks did not move"
        )
    return None


#: The jobs that hold the lake's writer lock themselves, at ``--lake_root``.
_LOCKING_JOBS = (SINGLE_JOB, *ON_DEMAND_JOBS)

# Glue job names: 1-255 characters. Locally a name is also a file name (bookmarks, run records),
# so it is held to letters, digits, '_', '-' and '.', and may not be '.' or '..'.
_JOB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")


def check_job_name(job_name: str) -> str:
    """``job_name`` when it is usable as a local job name; ``LakehouseError`` otherwise."""
    if not _JOB_NAME.fullmatch(job_name) or job_name in (".", ".."):
        raise LakehouseError(
            f"job name {job_name!r} is not usable: use 1-255 letters, digits, '_', '-' or '.', "
            "starting with a letter, digit or '_'"
        )
    return job_name


def special_arguments(settings: Settings, job_name: str) -> dict[str, str]:
    """Glue's special job parameters, as a job made in the Glue console runs with them.

    Glue passes ``--JOB_NAME``, ``--JOB_ID`` and ``--JOB_RUN_ID`` itself; the console gives a
    new job ``--TempDir`` and ``--enable-glue-datacatalog``. ``--job-bookmark-option`` is
    ``job-bookmark-disable``, the default of a job that does not set it
    (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html).
    Locally ``--TempDir`` is a folder of the job below the state folder.
    """
    return {
        "--JOB_NAME": job_name,
        "--JOB_ID": f"j_{uuid.uuid5(uuid.NAMESPACE_URL, job_name).hex}",
        "--job-bookmark-option": "job-bookmark-disable",
        "--TempDir": f"{settings.glue_state_uri}/temp/{job_name}",
        "--enable-glue-datacatalog": "true",
    }


def default_arguments(settings: Settings, job_name: str) -> dict[str, str]:
    """The default arguments of a job, as Terraform sets them on AWS (from settings here).

    The single job ``run_pipeline`` and the on-demand ``offboard_tenant`` also get the lake
    root, whose writer lock they hold (``offboard_tenant`` also ``--expire_snapshots``). A
    silver job also gets ``--slice_bytes``: the setting, else the slice of the sizing this
    process's JVM was started with; without either (a session made elsewhere) the job sizes
    its slices from the heap it finds, as on Glue.
    """
    own: dict[str, str] = {"--lake_root": settings.lake_uri} if job_name in _LOCKING_JOBS else {}
    if job_name in ON_DEMAND_JOBS:
        own["--expire_snapshots"] = "false"
    slices: dict[str, str] = {}
    if _entity_of(job_name):
        chosen = settings.silver_slice_bytes or (
            _session_sizing.slice_bytes if _session_sizing else None
        )
        if chosen:
            slices["--slice_bytes"] = str(chosen)
    return {
        **own,
        **slices,
        "--JOB_NAME": job_name,
        "--bronze_path": settings.bronze_uri,
        "--silver_path": settings.silver_uri,
        "--gold_path": settings.gold_uri,
        "--quarantine_path": settings.quarantine_uri,
        "--reports_path": settings.reports_uri,
        "--iceberg_catalog": iceberg.catalog_name(settings.lake_uri),
        "--full_refresh": "false",
        "--job-bookmark-option": "job-bookmark-enable",
        # As Terraform passes them; without CloudWatch the namespace is empty (recorded only).
        "--metrics_namespace": load_metrics().namespace if settings.metrics_cloudwatch else "",
        "--metrics_deployment": settings.metrics_deployment,
    }


@dataclass
class JobRun:
    """The outcome of one job run (the fields ``aws glue get-job-run`` would show)."""

    job_name: str
    run_id: str
    state: str  # SUCCEEDED | FAILED
    started_at: str
    seconds: float
    arguments: dict[str, str]
    error: str | None = None
    report: dict[str, Any] | None = field(default=None)
    #: One line when the failure ends the run (the JVM ran out of memory or died).
    fatal: str | None = None

    @property
    def quarantined(self) -> int:
        """Rows, whole files and values (carried text that did not take its declared type) this
        run put in quarantine (silver jobs)."""
        if not self.report:
            return 0
        files = self.report.get("files", {}).get("quarantined", 0)
        values = self.report.get("values_quarantined", 0)
        return int(self.report.get("rows_quarantined", 0)) + int(files) + int(values)


def _run_script(script: Path, argv: list[str]) -> None:
    """Load a job script as a module (not as ``__main__``) and call its ``main(argv)``."""
    module = runpy.run_path(str(script), run_name=f"glue_job_{script.stem}")
    entry = module.get("main")
    if not callable(entry):
        raise LakehouseError(
            f"{script.name} has no main(argv) function; a Glue job script here must define one "
            'and call main(sys.argv) under `if __name__ == "__main__":`'
        )
    entry(argv)


_ARGV_LOCK = threading.Lock()


def _run_main_script(script: Path, argv: list[str]) -> None:
    """Run a script as ``__main__`` with ``sys.argv`` = ``argv`` (restored afterwards)."""
    with _ARGV_LOCK:
        saved = sys.argv
        sys.argv = argv
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as exc:  # sys.exit() in a script ends the run, as on Glue
            if exc.code not in (None, 0):
                raise LakehouseError(f"{script.name} exited with status {exc.code}") from exc
        finally:
            sys.argv = saved


def _entity_of(job_name: str) -> str | None:
    for entity in load_declaration().entities:
        if entity.silver_job_name == job_name:
            return entity.name
    return None


def start_job_run(
    settings: Settings,
    job_name: str,
    arguments: dict[str, str] | None = None,
    spark: SparkSession | None = None,
    script: Path | None = None,
) -> JobRun:
    """Run one job script to completion in this process and return its outcome.

    Args:
        settings: lake locations and Spark master.
        job_name: the Glue job name = the script stem, e.g. ``transform_orders_bronze_to_silver``.
        arguments: overrides of the default arguments, keys with their ``--``.
        spark: the session to run in (created from settings when omitted).
        script: any Glue script to run as job ``job_name`` instead of ``glue-scripts/<job>.py``;
            it gets Glue's special arguments (bookmarks disabled unless the arguments enable
            them) and the lake locations.

    Raises:
        LakehouseError: there is no such job script, the job name is not usable, or an
            argument key lacks its ``--``.
        LakeLockedError: another process is writing the lake (:mod:`lakehouse.storage.lock`).
    """
    check_job_name(job_name)
    # Nested in the pipeline's or the CLI's lock (a level more); taken here for other callers.
    with writer_lock(settings, f"glue start-job-run --job-name {job_name}"):
        return _start_job_run(settings, job_name, arguments, spark, script)


def _start_job_run(
    settings: Settings,
    job_name: str,
    arguments: dict[str, str] | None,
    spark: SparkSession | None,
    script: Path | None,
) -> JobRun:
    scripts = job_scripts()
    if script is not None:
        if not script.is_file() or script.suffix != ".py":
            raise LakehouseError(f"--script {script} is not a Python file; give the path of a .py")
    elif job_name not in scripts:
        raise LakehouseError(
            f"no Glue job {job_name!r}: there is no glue-scripts/{job_name}.py. "
            f"Jobs: {', '.join(scripts)}"
        )
    for key in arguments or {}:
        if not key.startswith("--"):
            raise LakehouseError(f"job argument {key!r} must start with '--' (e.g. --full_refresh)")
    ensure_stubs_on_path()
    from awsglue import _local  # the stand-in, importable now

    spark = spark or spark_session(settings)
    _local.configure(settings.glue_state_uri, settings.catalog_uri, settings.glue_s3_root)
    run_id = f"jr_{uuid.uuid4().hex}"
    defaults = {**special_arguments(settings, job_name), **default_arguments(settings, job_name)}
    if script is not None:  # not one of ours: Glue's default, not our Terraform's
        defaults["--job-bookmark-option"] = special_arguments(settings, job_name)[
            "--job-bookmark-option"
        ]
    args = {**defaults, **(arguments or {}), "--JOB_RUN_ID": run_id}
    path = script.resolve() if script is not None else scripts[job_name]
    argv = [str(path)]
    for key, value in args.items():
        argv += [key, value]
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    error: str | None = None
    try:
        # The first call into the JVM: one that died under another job of the stage (out of
        # memory) fails this job too, reported like it rather than raised.
        iceberg.register_lake_catalog(spark, settings)
        if script is not None:
            _run_main_script(path, argv)
        else:
            _run_script(path, argv)
    except Exception as exc:  # a failed job is a result to report, like on Glue
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
    run = JobRun(
        job_name=job_name,
        run_id=run_id,
        state="FAILED" if error else "SUCCEEDED",
        started_at=started.isoformat(),
        seconds=round(time.perf_counter() - t0, 3),
        arguments=args,
        error=error,
        fatal=fatal_failure(job_name, error, spark) if error else None,
    )
    if run.fatal:
        return run  # the JVM is gone: nothing more can be read or written through it
    entity = _entity_of(job_name)
    if entity and not error:
        run.report = read_json(spark, run_report_path(args["--reports_path"], entity, run_id))
    history = asdict(run)
    history.pop("report")
    fs.write_text(
        spark,
        f"{settings.glue_state_uri}/runs/{job_name}/{run_id}.json",
        json.dumps(history, indent=1),
    )
    return run
