"""``lakehouse_glue.fs.write_text``: a file is replaced whole or not at all, even when killed.

A process writing the file is killed with SIGKILL at moments spread over the write; every time,
the file afterwards holds one of the complete versions, never a truncated one (Hadoop's own
``create``, which truncates the file before writing it, fails this test).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lakehouse_glue import fs
from pyspark.sql import SparkSession

from lakehouse.paths import REPO_ROOT

#: Large enough that writing and fsync'ing it takes a while: the kills land mid-write.
_SIZE = 16 * 1024 * 1024

# Writes version 1, 2, 3... of the file until killed; each version is _SIZE bytes of its digit.
_WRITER = f"""
import sys
from pathlib import Path
from lakehouse_glue.fs import replace_local
target = Path(sys.argv[1])
n = 0
while True:
    n += 1
    replace_local(target, str(n % 10).encode() * {_SIZE})
    print(n, flush=True)
"""


def test_a_writer_killed_mid_write_leaves_a_whole_version(tmp_path: Path) -> None:
    target = tmp_path / "lake" / "silver" / "_offboarded_tenants.json"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "glue-scripts")}
    for delay in (0.0, 0.02, 0.05, 0.1, 0.2, 0.35):
        child = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(target)], env=env, stdout=subprocess.PIPE
        )
        assert child.stdout is not None
        assert child.stdout.readline()  # one version written: the kill lands in a later one
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        data = target.read_bytes()
        assert len(data) == _SIZE, f"killed {delay}s in: {len(data)} of {_SIZE} bytes"
        assert data == data[:1] * _SIZE
    # What a kill mid-write leaves behind is a hidden temporary file, which no lister of the
    # lake sees; at least one kill landed mid-write.
    leftovers = [p.name for p in target.parent.iterdir() if p != target]
    assert leftovers
    assert all(name.startswith(f".{target.name}.") for name in leftovers), leftovers


def test_write_text_replaces_the_file_and_hadoop_reads_it_back(
    spark: SparkSession, tmp_path: Path
) -> None:
    target = tmp_path / "state" / "bookmark.json"
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    # A file as Hadoop's LocalFileSystem writes it with checksums (as the sessions did before
    # skip_local_checksums), the checksum beside it (.name.crc): the replacement must not be
    # checked against that stale checksum on read.
    hpath = jvm.org.apache.hadoop.fs.Path(f"file://{target}")
    hadoop = jvm.org.apache.hadoop.fs.LocalFileSystem()
    hadoop.initialize(
        jvm.java.net.URI("file:///"),
        spark.sparkContext._jsc.hadoopConfiguration(),  # type: ignore[union-attr]
    )
    stream = hadoop.create(hpath, True)
    stream.write(bytearray(b'{"old": true}'))
    stream.close()
    assert (target.parent / f".{target.name}.crc").exists()
    inode = target.stat().st_ino

    fs.write_text(spark, str(target), '{"new": "version, longer than the old one"}')

    assert fs.read_text(spark, str(target)) == '{"new": "version, longer than the old one"}'
    # Renamed over the old file (a new inode), not truncated and rewritten in place.
    assert target.stat().st_ino != inode
    assert [f.name for f in fs.list_files(spark, str(target.parent))] == ["bookmark.json"]
    # A folder that does not exist yet is created, as Hadoop's create does.
    deeper = tmp_path / "new" / "folder" / "report.json"
    fs.write_text(spark, f"file://{deeper}", "{}")
    assert deeper.read_text() == "{}"
