"""The driver JVM's class-data sharing archive: written once, checked, then started from.

Each session runs in a new process (this one's JVM is already running and would be reused):
a real driver JVM started by :func:`lakehouse.glue.runner.spark_session`, a real query, and
the JVM's own class-loading log as the witness of where its classes came from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakehouse.glue import cds
from lakehouse.glue.cds import ARCHIVE_PREFIX, Plan

#: A session as a pipeline run makes it, one query with a known answer, then a normal exit.
CHILD = """
import json, os, signal, sys
from lakehouse.config import Settings
from lakehouse.glue.runner import spark_session
spark = spark_session(Settings())
row = spark.sql("select count(*) as n, sum(id) as s from range(100000)").collect()[0]
print(json.dumps({"n": row.n, "s": row.s}))
if sys.argv[1:] == ["kill"]:  # the JVM dies before the process ends
    os.kill(spark.sparkContext._gateway.proc.pid, signal.SIGKILL)
"""
#: What a JVM's -Xlog:class+load says of a class it took from the dynamic archive.
FROM_ARCHIVE = "source: shared objects file (top)"

pytestmark = pytest.mark.slow


def _env(tmp_path: Path, folder: Path, log: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LAKEHOUSE_LAKE": str(tmp_path / "lake"),
        "LAKEHOUSE_SPARK_CLASS_ARCHIVE": "true",
        "LAKEHOUSE_SPARK_CLASS_ARCHIVE_DIR": str(folder),
        # The class path as Spark's launcher builds it (test_localfs covers the archive with
        # the local file system's jar in front of it).
        "LAKEHOUSE_SPARK_NIO_LOCAL_FS": "false",
        # Logging options are not part of the archive's key: every session here shares it.
        "LAKEHOUSE_SPARK_DRIVER_JAVA_OPTIONS": (
            f"-XX:+UseParallelGC -Xlog:class+load=info:file={log}"
        ),
    }


def _start(tmp_path: Path, folder: Path, log: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        env=_env(tmp_path, folder, log),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _answer(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    # The dump's warnings (one per class it skips) and any CDS notice stay off the output.
    assert "cds" not in out.lower(), out[-2000:]
    assert "[warning]" not in out + err, (out + err)[-2000:]
    assert json.loads(out.strip().splitlines()[-1]) == {"n": 100000, "s": 4999950000}
    return err


def _from_archive(log: Path) -> int:
    return sum(FROM_ARCHIVE in line for line in log.read_text().splitlines())


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose archive two sessions wrote at once, and a third started from."""
    tmp = tmp_path_factory.mktemp("cds")
    folder = tmp / "cds"
    first = [_start(tmp, folder, tmp / f"load-first-{i}.log") for i in range(2)]
    for proc in first:
        assert "class archive" in _answer(proc)  # each process wrote, and said so on stderr
    # Two JVMs wrote and two processes published at once: one archive, whole, no leftovers.
    archives = list(folder.glob("*.jsa"))
    assert len(archives) == 1, sorted(folder.iterdir())
    assert cds.whole(archives[0])
    assert not list(folder.glob("*.part"))
    for i in range(2):
        assert _from_archive(tmp / f"load-first-{i}.log") == 0
    second = _start(tmp, folder, tmp / "load-second.log")
    assert "class archive" not in _answer(second)  # nothing to write this time
    # The second JVM took its classes from the archive: Spark's, Iceberg's, Py4J's.
    assert _from_archive(tmp / "load-second.log") > 5000
    assert sorted(folder.iterdir()) == archives
    return folder


def test_a_session_writes_the_archive_and_the_next_starts_from_it(made: Path) -> None:
    archive = next(made.glob("*.jsa"))
    assert archive.read_bytes()[:4] == cds.DYNAMIC_MAGIC


def _plan_of(archive: Path, folder: Path) -> Plan:
    """A plan of the archive's key, as ``prepare`` makes it for a session that writes."""
    java = cds.find_java()
    classpath = cds.driver_classpath(cds.spark_home())
    assert java is not None
    assert classpath is not None
    key = archive.stem.removeprefix(ARCHIVE_PREFIX).rsplit("-", 1)[0]
    temp = folder / f"{ARCHIVE_PREFIX}{key}.1.test.part"
    return Plan(folder, key, java, classpath, 1024, archive=None, temp=temp)


def test_only_a_whole_dump_of_a_cleanly_ended_jvm_is_published(made: Path, tmp_path: Path) -> None:
    archive = next(made.glob("*.jsa"))
    folder = tmp_path / "cds"
    folder.mkdir()
    plan = _plan_of(archive, folder)
    assert plan.temp is not None
    # The JVM's own class path, jars/* expanded in directory order as the java launcher does:
    # an archive holds the order it was made with.
    jars = cds.spark_home() / "jars"
    classpath = os.pathsep.join(
        [plan.classpath[0], *(str(jars / n) for n in os.listdir(jars) if n.endswith(".jar"))]
    )
    data = archive.read_bytes()

    # Killed while writing: a nonzero exit code; the part it wrote is removed, not published.
    plan.temp.write_bytes(data[: len(data) // 2])
    assert not cds.publish(plan, -9, classpath)
    assert sorted(folder.iterdir()) == []

    # Cut short with a clean exit code: the magic number is there, but the JVM refuses to map
    # it (the check's own JVM dies of SIGBUS, not this process), so it is not published.
    plan.temp.write_bytes(data[: len(data) // 2])
    assert cds.looks_whole(plan.temp)
    assert not cds.publish(plan, 0, classpath)
    assert sorted(folder.iterdir()) == []

    # One byte changed: every region's CRC is checked.
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0xFF
    plan.temp.write_bytes(bytes(changed))
    assert not cds.publish(plan, 0, classpath)
    assert sorted(folder.iterdir()) == []

    # Whole: renamed into place, its size in its name.
    plan.temp.write_bytes(data)
    assert cds.publish(plan, 0, classpath)
    assert sorted(folder.iterdir()) == [plan.archive_name(len(data))]
    assert cds.whole(plan.archive_name(len(data)))


def test_an_archive_cut_short_after_publishing_is_never_mapped(made: Path, tmp_path: Path) -> None:
    archive = next(made.glob("*.jsa"))
    folder = tmp_path / "cds"
    folder.mkdir()
    java = cds.find_java()
    classpath = cds.driver_classpath(cds.spark_home())
    assert java is not None
    assert classpath is not None
    key = cds.archive_key(java, classpath, [], "-XX:+UseParallelGC", 2048)
    # A copy of the cache that did not finish: the name says the full size, the file is less.
    cut = folder / f"{ARCHIVE_PREFIX}{key}-{archive.stat().st_size}.jsa"
    cut.write_bytes(archive.read_bytes()[:100_000])
    assert cds.looks_whole(cut)
    assert not cds.whole(cut)
    plan = cds.prepare(folder, "-XX:+UseParallelGC", 2048)
    assert plan is not None
    assert plan.key == key
    assert plan.archive is None
    assert plan.temp is not None
    assert "SharedArchiveFile" not in plan.java_options
    assert not cut.exists()


def test_leftover_temporary_files_are_never_used_and_are_cleaned_up(tmp_path: Path) -> None:
    folder = tmp_path / "cds"
    first = cds.prepare(folder, "-XX:+UseParallelGC", 2048)
    assert first is not None
    assert first.temp is not None
    assert first.archive is None
    stale = folder / f"{ARCHIVE_PREFIX}{first.key}.123.dead.part"
    stale.write_bytes(cds.DYNAMIC_MAGIC + b"\0" * 10_000)  # looks like an archive
    hour_ago = time.time() - 2 * cds.STALE_SECONDS
    os.utime(stale, (hour_ago, hour_ago))
    fresh = folder / f"{ARCHIVE_PREFIX}{first.key}.456.live.part"  # a JVM writing now
    fresh.write_bytes(cds.DYNAMIC_MAGIC + b"\0" * 10_000)
    plan = cds.prepare(folder, "-XX:+UseParallelGC", 2048)
    assert plan is not None
    assert plan.key == first.key
    assert plan.archive is None  # neither part is read
    assert plan.temp not in (None, stale, fresh)
    assert not stale.exists()
    assert fresh.exists()


def test_a_session_runs_when_the_jvm_rejects_the_archive(made: Path, tmp_path: Path) -> None:
    # A genuine archive of another class path (the Spark launcher's alone) under this key's
    # name, with its true size: it passes every check of ours, and the JVM refuses it.
    folder = tmp_path / "cds"
    folder.mkdir()
    java = cds.find_java()
    assert java is not None
    launcher = next((cds.spark_home() / "jars").glob("spark-launcher_*.jar"))
    foreign = tmp_path / "foreign.jsa"
    subprocess.run(
        [
            str(java),
            f"-XX:ArchiveClassesAtExit={foreign}",
            cds.QUIET,
            "-cp",
            str(launcher),
            "org.apache.spark.launcher.Main",
        ],
        capture_output=True,
        check=False,
    )
    assert cds.looks_whole(foreign)
    key = next(made.glob("*.jsa")).stem.removeprefix(ARCHIVE_PREFIX).rsplit("-", 1)[0]
    planted = folder / f"{ARCHIVE_PREFIX}{key}-{foreign.stat().st_size}.jsa"
    shutil.copyfile(foreign, planted)
    assert cds.whole(planted)
    log = tmp_path / "load.log"
    err = _answer(_start(tmp_path, folder, log))
    assert "class archive" not in err  # it read (tried) the planted archive, wrote none
    assert _from_archive(log) == 0  # and loaded every class from the jars


def test_a_session_runs_when_the_jvm_crashes_on_the_archive(made: Path, tmp_path: Path) -> None:
    # A file cut short, renamed by hand to its new size: it passes the name check, and a JVM
    # mapping it dies of SIGBUS. The session starts again without it.
    folder = tmp_path / "cds"
    folder.mkdir()
    archive = next(made.glob("*.jsa"))
    key = archive.stem.removeprefix(ARCHIVE_PREFIX).rsplit("-", 1)[0]
    data = archive.read_bytes()[: archive.stat().st_size // 2]
    planted = folder / f"{ARCHIVE_PREFIX}{key}-{len(data)}.jsa"
    planted.write_bytes(data)
    assert cds.whole(planted)
    log = tmp_path / "load.log"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=_env(tmp_path, folder, log),
        cwd=tmp_path,  # the crashed JVM's hs_err file goes here
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"n": 100000, "s": 4999950000}
    assert _from_archive(log) == 0


def test_a_jvm_killed_before_the_end_publishes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "cds"
    proc = _start(tmp_path, folder, tmp_path / "load.log", "kill")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert json.loads(out.strip().splitlines()[-1]) == {"n": 100000, "s": 4999950000}
    assert sorted(p.suffix for p in folder.iterdir()) == []


def _java_home(root: Path, release: str) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "lib" / "server").mkdir(parents=True)
    (root / "bin" / "java").write_text("#!/bin/sh\n")
    (root / "lib" / "server" / "libjvm.so").write_bytes(b"\0" * 10)
    (root / "release").write_text(f'JAVA_VERSION="{release}"\n')
    return root / "bin" / "java"


def test_the_key_follows_java_the_jars_and_the_options_that_matter(tmp_path: Path) -> None:
    java = _java_home(tmp_path / "jdk", "17.0.15")
    jar = tmp_path / "spark-core.jar"
    jar.write_bytes(b"PK" + b"\0" * 100)
    iceberg = tmp_path / "iceberg.jar"
    iceberg.write_bytes(b"PK" + b"\0" * 50)
    options = "-XX:+UseParallelGC -Dlog4j2.configurationFile=file:///q.properties"

    def key(**change: object) -> str:
        args: dict[str, object] = {
            "java": java,
            "classpath": (str(tmp_path / "conf"), str(jar)),
            "jars": [iceberg],
            "java_options": options,
            "heap_mib": 2104,
        }
        args.update(change)
        return cds.archive_key(**args)  # type: ignore[arg-type]

    base = key()
    assert key() == base
    # Neither the heap (below the compressed-pointer limit), the JIT, logging nor the OOM
    # policy changes which classes load or whether the archive maps.
    assert key(heap_mib=3072) == base
    neutral = (
        f"{options} -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m -Xlog:gc "
        "-XX:Tier4InvocationThreshold=25000 -XX:CompileThresholdScaling=2"
    )
    assert key(java_options=neutral + " -XX:+ExitOnOutOfMemoryError") == base
    changed = {
        "heap over 32 GiB": key(heap_mib=40 * 1024),
        "another collector": key(java_options="-XX:+UseG1GC -Dlog4j2.configurationFile=x"),
        "another jar list": key(classpath=(str(tmp_path / "conf"),)),
        "no iceberg jar": key(jars=[]),
    }
    os.utime(jar, ns=(1, 1))
    changed["a jar touched"] = key()
    os.utime(jar, ns=(2, 2))
    jar.write_bytes(b"PK" + b"\0" * 101)
    changed["a jar of another size"] = key()
    iceberg.write_bytes(b"PK" + b"\0" * 51)
    changed["another iceberg jar"] = key()
    (tmp_path / "jdk" / "release").write_text('JAVA_VERSION="17.0.16"\n')
    changed["another java version"] = key()
    other = _java_home(tmp_path / "jdk2", "17.0.16")
    changed["another java binary"] = key(java=other)
    assert len({base, *changed.values()}) == len(changed) + 1, changed
