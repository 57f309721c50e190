"""The local job runner: how it calls scripts, and what it says when Spark cannot start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.errors import LakehouseError
from lakehouse.glue.runner import _run_script, driver_java_options, fatal_failure


def test_a_script_is_called_through_its_main_with_the_job_argv(tmp_path: Path) -> None:
    script = tmp_path / "some_job.py"
    out = tmp_path / "argv.txt"
    script.write_text(
        "import sys\n"
        "def main(argv):\n"
        f"    open({str(out)!r}, 'w').write(' '.join(argv[1:]))\n"
        "if __name__ == '__main__':\n"
        "    raise SystemExit('the runner must not run the __main__ block')\n"
    )
    before = list(sys.argv)
    _run_script(script, [str(script), "--JOB_NAME", "some_job"])
    assert out.read_text() == "--JOB_NAME some_job"
    assert sys.argv == before  # the process-wide argv is untouched (jobs run in threads)


def test_a_script_without_main_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "no_main.py"
    script.write_text("x = 1\n")
    with pytest.raises(LakehouseError, match=r"no_main.py has no main\(argv\)"):
        _run_script(script, [str(script)])


def test_bad_jvm_options_name_the_setting(tmp_path: Path) -> None:
    # A new process: this one's Spark driver is already running and would be reused. (Spark
    # adds -XX:+IgnoreUnrecognizedVMOptions, so the option must be known, its value wrong.)
    env = {
        **os.environ,
        "LAKEHOUSE_LAKE": str(tmp_path / "lake"),
        "LAKEHOUSE_SPARK_DRIVER_JAVA_OPTIONS": "-XX:MaxHeapFreeRatio=oops",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lakehouse",
            "glue",
            "start-job-run",
            "--job-name",
            "create_gold_tenant_summary",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert "driver JVM exited at start-up" in message
    assert "LAKEHOUSE_SPARK_DRIVER_JAVA_OPTIONS='-XX:MaxHeapFreeRatio=oops'" in message
    assert "Traceback" not in done.stderr


def test_any_script_runs_as_main_with_glues_special_arguments(tmp_path: Path) -> None:
    from lakehouse.config import Settings
    from lakehouse.glue.runner import _run_main_script, default_arguments, special_arguments

    script = tmp_path / "studio_job.py"
    out = tmp_path / "argv.json"
    script.write_text(
        "import json, sys\n"
        f"json.dump(sys.argv[1:], open({str(out)!r}, 'w'))\n"
        "if len(sys.argv) > 3:\n"
        "    sys.exit(0)\n"
    )
    settings = Settings(lake=str(tmp_path / "lake"))
    special = special_arguments(settings, "studio_job")
    assert special["--job-bookmark-option"] == "job-bookmark-disable"  # Glue's default
    assert special["--TempDir"] == f"{settings.glue_state_uri}/temp/studio_job"
    assert special["--enable-glue-datacatalog"] == "true"
    assert default_arguments(settings, "j")["--job-bookmark-option"] == "job-bookmark-enable"
    before = list(sys.argv)
    _run_main_script(script, [str(script), "--JOB_NAME", "studio_job", "--x", "1"])
    assert sys.argv == before
    import json

    assert json.loads(out.read_text()) == ["--JOB_NAME", "studio_job", "--x", "1"]
    script.write_text("import sys\nsys.exit(2)\n")
    with pytest.raises(LakehouseError, match="exited with status 2"):
        _run_main_script(script, [str(script)])


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "", ".hidden", "x" * 256])
def test_hostile_job_names_are_refused(name: str) -> None:
    from lakehouse.glue.runner import check_job_name

    with pytest.raises(LakehouseError, match="is not usable"):
        check_job_name(name)
    assert check_job_name("transform_orders-v2.1") == "transform_orders-v2.1"


def test_reset_job_bookmark_refuses_a_hostile_job_name(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lakehouse", "glue", "reset-job-bookmark", "--job-name", "../x"],
        env={**os.environ, "LAKEHOUSE_LAKE": str(tmp_path / "lake")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "is not usable" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "lake").exists()


def test_only_a_lost_or_exhausted_jvm_ends_the_run(spark: SparkSession) -> None:
    # A job's own error leaves the JVM running: the run goes on with the other jobs.
    assert fatal_failure("transform_orders_bronze_to_silver", "ValueError: bad row", spark) is None
    assert spark.range(3).count() == 3  # and the JVM is indeed alive
    # An OutOfMemoryError (the JVM may still be up for a moment) ends it, in one line.
    line = fatal_failure(
        "transform_events_bronze_to_silver",
        "Py4JJavaError: An error occurred while calling o81.parquet.\n"
        ": java.lang.OutOfMemoryError: Java heap space\n\tat java.base/...",
        spark,
    )
    assert line is not None
    assert "\n" not in line
    assert line.startswith("transform_events_bronze_to_silver failed: the Spark driver ran out")
    assert "raise LAKEHOUSE_SPARK_DRIVER_MEMORY" in line
    assert "bookmarks did not move" in line


def test_the_quick_start_jvm_keeps_a_full_code_cache() -> None:
    """The client compiler alone reserves 48 MiB of code cache, which a run of every job filled.

    ("Out of space in CodeCache for adapters" failed a gold job of an incremental run.) The JVM
    given the driver's and the quick-start options must reserve the tiered default, 240 MiB.
    """
    from lakehouse.config import Settings

    settings = Settings()
    options = [
        *settings.spark_driver_java_options.split(),
        *settings.spark_quick_start_java_options.split(),
    ]
    flags = subprocess.run(
        ["java", *options, "-XX:+PrintFlagsFinal", "-version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    reserved = next(
        int(line.split("=")[1].split()[0])
        for line in flags.splitlines()
        if line.split()[1:2] == ["ReservedCodeCacheSize"]
    )
    assert "-XX:TieredStopAtLevel=1" in options
    assert reserved >= 240 * 1024 * 1024


def test_long_runs_delay_the_server_compiler_and_quick_starts_skip_it() -> None:
    """A full refresh, a first run or ``pipeline watch`` (the driver's own options) make the
    server compiler wait for five times its default counts, and the JVM takes the values; a
    short run in a new process stops at the client compiler, so it has no such option."""
    from lakehouse.config import Settings

    settings = Settings()
    long_run = driver_java_options(settings)
    assert long_run == settings.spark_driver_java_options
    quick = driver_java_options(settings, quick_start=True)
    assert "-XX:TieredStopAtLevel=1" in quick
    flags = subprocess.run(
        ["java", *long_run.split(), "-XX:+PrintFlagsFinal", "-version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    values = {
        line.split()[1]: line.split("=")[1].split()[0]
        for line in flags.splitlines()
        if line.split()[1:2] and line.split()[1].startswith(("Tier4", "UseParallelGC"))
    }
    assert values["Tier4InvocationThreshold"] == "25000"
    assert values["Tier4MinInvocationThreshold"] == "3000"
    assert values["Tier4CompileThreshold"] == "75000"
    assert values["Tier4BackEdgeThreshold"] == "200000"
    assert values["UseParallelGC"] == "true"


#: The session a pipeline run builds, in a new process (this one's JVM already has the test
#: fixture's file system settings): it writes a Parquet folder and reads it back.
CHECKSUM_CHILD = """
import sys
from lakehouse.config import Settings
from lakehouse.glue.runner import spark_session
spark = spark_session(Settings())
spark.range(3).write.parquet(sys.argv[1])
print(sorted(r.id for r in spark.read.parquet(sys.argv[1]).collect()))
"""


@pytest.mark.slow
def test_the_pipeline_session_writes_local_files_without_checksum_files(tmp_path: Path) -> None:
    # Each checksum file cost a chmod child process without Hadoop's native library.
    target = tmp_path / "t"
    done = subprocess.run(
        [sys.executable, "-c", CHECKSUM_CHILD, str(target)],
        env={**os.environ, "LAKEHOUSE_LAKE": str(tmp_path / "lake")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[0, 1, 2]"
    written = sorted(p.name for p in target.iterdir())
    assert any(n.endswith(".parquet") for n in written), written
    assert [n for n in written if n.endswith(".crc")] == []
