"""The local awsglue stand-in: argument parsing like Glue, and bookmarks that move on commit."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path
from typing import Any

import pytest
from lakehouse_glue.jobargs import JOB_ARGUMENTS, JobArgs
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.errors import LakehouseError
from lakehouse.glue.iceberg import catalog_name
from lakehouse.glue.runner import default_arguments, ensure_stubs_on_path, start_job_run

ensure_stubs_on_path()

from awsglue import _local  # noqa: E402
from awsglue.context import GlueContext  # noqa: E402
from awsglue.dynamicframe import DynamicFrame  # noqa: E402
from awsglue.job import Job, SourceState, select_new  # noqa: E402
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
        iceberg_catalog="glue_catalog",
        metrics_namespace="Lakehouse",
        metrics_deployment="lakehouse-dev",
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
    assert args.iceberg_catalog == "glue_catalog"
    assert (args.metrics_namespace, args.metrics_deployment) == ("Lakehouse", "lakehouse-dev")


@pytest.mark.parametrize(
    "name",
    ["glue_catalog`.`x", "c; drop table silver.orders", "", "1st", "a.b", "a b", "glue_catalog\n"],
)
def test_an_iceberg_catalog_that_is_not_a_plain_name_is_refused(name: str) -> None:
    """The catalog name goes into SQL text: anything but an identifier is an error."""
    values = dict.fromkeys(JOB_ARGUMENTS, "x")
    values["full_refresh"] = "false"
    values["iceberg_catalog"] = name
    with pytest.raises(ValueError, match="--iceberg_catalog"):
        JobArgs.from_resolved(values)


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
    # One Iceberg catalog per lake, named from the lake's location.
    assert defaults["--iceberg_catalog"] == catalog_name(settings.lake_uri)
    # Metrics are recorded only, unless CloudWatch is asked for (as Terraform always does).
    assert (defaults["--metrics_namespace"], defaults["--metrics_deployment"]) == ("", "local")
    cloud = default_arguments(Settings(lake=str(tmp_path / "lake"), metrics_cloudwatch=True), "j")
    assert cloud["--metrics_namespace"] == "Lakehouse"
    other = default_arguments(Settings(lake=str(tmp_path / "other")), "j")
    assert other["--iceberg_catalog"] != defaults["--iceberg_catalog"]


def test_a_failing_job_is_reported_not_raised(spark: SparkSession, tmp_path: Path) -> None:
    settings = Settings(lake=str(tmp_path / "lake"))
    run = start_job_run(
        settings, "transform_orders_bronze_to_silver", {"--full_refresh": "perhaps"}, spark=spark
    )
    assert run.state == "FAILED"
    assert run.error is not None
    assert "full_refresh" in run.error


def test_select_new_follows_glue_documented_example() -> None:
    """The worked example of Glue's "Tracking files using modification timestamps".

    dt = 100, first listing at T1 = 1000, second at T2 = 2000. F3', F4' and F5' appear only
    after T1 with times inside (T1 - dt, T1]; the second run must hand out exactly F3', F4',
    F5', F7, F8, F9 and F10 and keep F9 and F10 in its band.
    """
    first = {"F2": 500, "F3": 920, "F4": 950, "F5": 990}
    new, state = select_new(first, None, 1000, 100)
    assert new == first
    assert state == SourceState(1000, {"F3": 920, "F4": 950, "F5": 990})
    late = {"F3'": 910, "F4'": 960, "F5'": 1000}
    later = {"F7": 1500, "F8": 1900, "F9": 1950, "F10": 2000, "F11": 2001}
    new, state = select_new({**first, **late, **later}, state, 2000, 100)
    assert sorted(new) == sorted(["F3'", "F4'", "F5'", "F7", "F8", "F9", "F10"])
    assert state == SourceState(2000, {"F9": 1950, "F10": 2000})  # F11 is after the listing


def test_bookmark_written_before_the_timestamp_rule_still_loads() -> None:
    assert SourceState.from_json({"a": 5, "b": 9}) == SourceState(9, {"a": 5, "b": 9})
    doc = SourceState(9, {"b": 9}).to_json()
    assert SourceState.from_json(doc) == SourceState(9, {"b": 9})


def test_s3_bookmark_uses_the_high_timestamp_and_band(spark: SparkSession, tmp_path: Path) -> None:
    """Real files and Spark: which files a bookmarked run reads follows Glue's timestamps."""
    _local.configure(str(tmp_path / "state"))
    folder = tmp_path / "data"
    gc = GlueContext(spark.sparkContext)
    now = time.time()

    def put(name: str, age_s: float | None = None) -> None:
        path = _write(folder, name)
        if age_s is not None:
            os.utime(path, (now - age_s, now - age_s))

    def run(**conn: Any) -> list[str]:
        job = Job(gc)
        job.init("band_job", {"job_bookmark_option": "job-bookmark-enable"})
        dyf = gc.create_dynamic_frame.from_options(
            connection_type="s3",
            connection_options={"paths": [str(folder)], **conn},
            format="csv",
            format_options={"withHeader": True, "attachFilename": "f"},
            transformation_ctx="src",
        )
        got = sorted({r["f"].rsplit("/", 1)[-1] for r in dyf.toDF().collect()})
        job.commit()
        return got

    put("old.csv.gz", 3600)
    put("recent.csv.gz", 60)
    assert run() == ["old.csv.gz", "recent.csv.gz"]
    assert run() == []
    put("copied_old.csv.gz", 1800)  # appears now, modified before T1 - 15 min: never read
    put("late.csv.gz", 120)  # appears now, modified inside the band: read
    put("old.csv.gz")  # rewritten: its time moves past T1, read again
    assert run() == ["late.csv.gz", "old.csv.gz"]
    put("late_again.csv.gz", 30)
    assert run(maxBand=0) == []  # no band: a file modified before T1 is missed, as on Glue
    with pytest.raises(ValueError, match="maxBand"):
        run(maxBand=-1)
