"""The local awsglue stand-in: argument parsing like Glue, and bookmarks that move on commit."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from lakehouse_glue.jobargs import JOB_ARGUMENTS, JobArgs
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.errors import LakehouseError
from lakehouse.glue.runner import default_arguments, ensure_stubs_on_path, start_job_run

ensure_stubs_on_path()

from awsglue import _local  # noqa: E402
from awsglue.context import GlueContext  # noqa: E402
from awsglue.dynamicframe import DynamicFrame  # noqa: E402
from awsglue.job import Job  # noqa: E402
from awsglue.utils import GlueArgumentError, getResolvedOptions  # noqa: E402


def _argv(**values: str) -> list[str]:
    out = ["script.py"]
    for k, v in values.items():
        out += [f"--{k}", v]
    return out


def test_resolved_options_like_glue() -> None:
    argv = _argv(
        JOB_NAME="j",
        bronze_path="s3://b/bronze",
        silver_path="/s",
        gold_path="/g",
        quarantine_path="/q",
        reports_path="/r",
        full_refresh="true",
        JOB_RUN_ID="jr_1",
        unrelated="ignored",
    )
    argv += ["--job-bookmark-option", "job-bookmark-enable"]
    got = getResolvedOptions(argv, list(JOB_ARGUMENTS))
    assert got["bronze_path"] == "s3://b/bronze"
    assert got["job_bookmark_option"] == "job-bookmark-enable"
    assert got["JOB_RUN_ID"] == "jr_1"
    assert "unrelated" not in got
    args = JobArgs.from_resolved(got)
    assert args.full_refresh is True
    assert args.job_run_id == "jr_1"


def test_missing_argument_raises_glue_error() -> None:
    with pytest.raises(GlueArgumentError, match="--silver_path"):
        getResolvedOptions(
            _argv(JOB_NAME="j", bronze_path="x"), ["JOB_NAME", "bronze_path", "silver_path"]
        )
    with pytest.raises(GlueArgumentError):
        getResolvedOptions(
            [*_argv(JOB_NAME="j"), "--job-bookmark-option", "sometimes"], ["JOB_NAME"]
        )
    with pytest.raises(RuntimeError, match="reserved"):
        getResolvedOptions(_argv(JOB_NAME="j"), ["job_bookmark_option"])


def test_bad_flag_is_an_error_not_a_default() -> None:
    values = dict.fromkeys(JOB_ARGUMENTS, "x")
    values["full_refresh"] = "maybe"
    with pytest.raises(ValueError, match="full_refresh"):
        JobArgs.from_resolved(values)


def _write(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    return path


def _read(gc: GlueContext, folder: Path) -> list[str]:
    dyf = gc.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": [str(folder)], "recurse": True},
        format="csv",
        format_options={"withHeader": True, "attachFilename": "f"},
        transformation_ctx="src",
    )
    return sorted({r["f"].rsplit("/", 1)[-1] for r in dyf.toDF().collect()})


def test_bookmarks_move_only_on_commit(spark: SparkSession, tmp_path: Path) -> None:
    _local.configure(str(tmp_path / "state"))
    folder = tmp_path / "data"
    _write(folder, "a.csv.gz")
    gc = GlueContext(spark.sparkContext)
    enable = {"job_bookmark_option": "job-bookmark-enable"}

    job = Job(gc)
    job.init("j", enable)
    assert _read(gc, folder) == ["a.csv.gz"]
    # No commit: the next run sees the same file again.
    job = Job(gc)
    job.init("j", enable)
    assert _read(gc, folder) == ["a.csv.gz"]
    job.commit()

    _write(folder, "b.csv.gz")
    job = Job(gc)
    job.init("j", enable)
    assert _read(gc, folder) == ["b.csv.gz"]
    job.commit()

    job = Job(gc)
    job.init("j", enable)
    assert _read(gc, folder) == []
    job.commit()

    # Disabled bookmarks read everything and record nothing; pause reads new files only.
    job = Job(gc)
    job.init("j", {"job_bookmark_option": "job-bookmark-disable"})
    assert _read(gc, folder) == ["a.csv.gz", "b.csv.gz"]
    job.commit()
    _write(folder, "c.csv.gz")
    for _ in range(2):
        job = Job(gc)
        job.init("j", {"job_bookmark_option": "job-bookmark-pause"})
        assert _read(gc, folder) == ["c.csv.gz"]
        job.commit()
    # Another job has its own bookmark.
    other = Job(gc)
    other.init("k", enable)
    assert _read(gc, folder) == ["a.csv.gz", "b.csv.gz", "c.csv.gz"]


def test_dynamic_frame_round_trip(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "x")], "a int, b string")
    gc = GlueContext(spark.sparkContext)
    dyf = DynamicFrame.fromDF(df, gc, "t")
    assert dyf.count() == 1
    assert dyf.toDF().collect() == df.collect()


def test_runner_rejects_unknown_job_and_bad_argument_keys(tmp_path: Path) -> None:
    settings = Settings(lake=str(tmp_path / "lake"))
    with pytest.raises(LakehouseError, match="no Glue job"):
        start_job_run(settings, "transform_nothing_bronze_to_silver")
    with pytest.raises(LakehouseError, match="must start with '--'"):
        start_job_run(settings, "transform_orders_bronze_to_silver", {"full_refresh": "true"})
    defaults = default_arguments(settings, "j")
    assert defaults["--silver_path"] == settings.silver_uri
    assert defaults["--job-bookmark-option"] == "job-bookmark-enable"


def test_a_failing_job_is_reported_not_raised(spark: SparkSession, tmp_path: Path) -> None:
    settings = Settings(lake=str(tmp_path / "lake"))
    run = start_job_run(
        settings, "transform_orders_bronze_to_silver", {"--full_refresh": "perhaps"}, spark=spark
    )
    assert run.state == "FAILED"
    assert run.error is not None
    assert "full_refresh" in run.error
