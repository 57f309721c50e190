"""The local file system that sets permissions in the JVM (lakehouse.glue.localfs): built once
with the real javac, used by the session a pipeline run builds, and the same files on disk."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from lakehouse.config import Settings
from lakehouse.glue import cds, localfs
from lakehouse.glue.runner import local_fs_config

needs_javac = pytest.mark.skipif(localfs.find_javac() is None, reason="no JDK javac here")


@needs_javac
def test_the_jar_is_built_once_and_holds_the_class(tmp_path: Path) -> None:
    jar = localfs.local_fs_jar(tmp_path, cds.spark_home())
    assert jar is not None
    assert jar.parent == tmp_path
    with zipfile.ZipFile(jar) as z:
        names = set(z.namelist())
    assert "lakehouse/hadoop/NioLocalFileSystem.class" in names
    assert "lakehouse/hadoop/NioLocalFileSystem$Raw.class" in names
    built = jar.stat().st_mtime_ns
    assert localfs.local_fs_jar(tmp_path, cds.spark_home()) == jar
    assert jar.stat().st_mtime_ns == built  # found, not rebuilt
    assert [p.name for p in tmp_path.iterdir()] == [jar.name]  # no temporary file left


@needs_javac
def test_concurrent_first_builds_publish_one_whole_jar(tmp_path: Path) -> None:
    found: list[Path | None] = []
    threads = [
        threading.Thread(
            target=lambda: found.append(localfs.local_fs_jar(tmp_path, cds.spark_home()))
        )
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(found)) == 1
    assert found[0] is not None
    assert zipfile.is_zipfile(found[0])
    published = found[0].stat().st_mtime_ns
    # A later first build (another process) never replaces it: its time is in the class
    # archive's key, so a replaced jar would make every running process's archive stale.
    assert localfs.local_fs_jar(tmp_path, cds.spark_home()) == found[0]
    assert found[0].stat().st_mtime_ns == published
    assert [p.name for p in tmp_path.iterdir()] == [found[0].name]


def test_without_javac_sessions_keep_hadoops_file_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A JRE only: JAVA_HOME has a java and no javac.
    (tmp_path / "jre" / "bin").mkdir(parents=True)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jre"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert localfs.find_javac() is None
    assert local_fs_config(Settings()) == {}
    assert not (tmp_path / "cache" / "lakehouse" / "hadoop-fs").exists()


@needs_javac
def test_a_source_that_does_not_compile_leaves_no_jar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "NioLocalFileSystem.java"
    broken.write_text("package lakehouse.hadoop; class Broken {", encoding="utf-8")
    monkeypatch.setattr(localfs, "SOURCE", broken)
    assert localfs.local_fs_jar(tmp_path / "cache", cds.spark_home()) is None
    assert list((tmp_path / "cache").iterdir()) == []


def test_off_or_on_a_cluster_no_local_file_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_SPARK_NIO_LOCAL_FS", "false")
    assert local_fs_config(Settings()) == {}
    monkeypatch.delenv("LAKEHOUSE_SPARK_NIO_LOCAL_FS")
    monkeypatch.setenv("LAKEHOUSE_SPARK_MASTER", "spark://127.0.0.1:7077")
    assert local_fs_config(Settings()) == {}


#: The session a pipeline run builds, in a new process: which file system serves file: paths,
#: then an Iceberg table written through it.
SESSION_CHILD = """
import sys
from lakehouse.config import Settings
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.glue.runner import spark_session
settings = Settings()
spark = spark_session(settings)
jvm = spark.sparkContext._jvm
conf = spark.sparkContext._jsc.hadoopConfiguration()
fs = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI("file:///"), conf)
print(fs.getClass().getName())
catalog = register_lake_catalog(spark, settings)
spark.sql(f"create table {catalog}.t.x (id bigint, tenant_id string) using iceberg "
          "partitioned by (tenant_id)")
spark.sql(f"insert into {catalog}.t.x values (1, 'a'), (2, 'b'), (3, 'b')")
print(sorted(r.id for r in spark.table(f"{catalog}.t.x").collect()))
"""


@needs_javac
@pytest.mark.slow
def test_the_pipeline_session_writes_through_it_with_hadoops_permissions(tmp_path: Path) -> None:
    loads = tmp_path / "class-load.log"
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),  # the jar and the class archive
        "LAKEHOUSE_SPARK_CLASS_ARCHIVE": "true",
        "LAKEHOUSE_SPARK_DRIVER_JAVA_OPTIONS": (
            f"-XX:+UseParallelGC -Xlog:class+load=info:file={loads}"
        ),
    }
    # The first session writes the driver's class archive at exit, the second starts from it:
    # the jar on the class path is part of what the archive was made of.
    for run in ("first", "second"):
        done = subprocess.run(
            [sys.executable, "-c", SESSION_CHILD],
            env={**env, "LAKEHOUSE_LAKE": str(tmp_path / run)},
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        lines = done.stdout.strip().splitlines()
        assert lines[-2] == localfs.FILE_SYSTEM_CLASS
        assert lines[-1] == "[1, 2, 3]"
    ours = [line for line in loads.read_text().splitlines() if "NioLocalFileSystem " in line]
    assert ours, "the class was not loaded"
    assert all("shared objects file" in line for line in ours), ours
    lake = tmp_path / "second"
    written = [p for p in lake.rglob("*") if "/t/x/" in p.as_posix() or p.name == "x"]
    files = [p for p in written if p.is_file()]
    folders = [p for p in written if p.is_dir()]
    assert any(p.suffix == ".parquet" for p in files)
    assert any(p.suffix == ".json" for p in files)
    # What Hadoop's chmod gave: its defaults under its own umask (fs.permissions.umask-mode 022).
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    for path in folders:
        assert stat.S_IMODE(path.stat().st_mode) == 0o755, path
