"""A local file system for the Spark driver that sets permissions without a child process.

Hadoop's ``RawLocalFileSystem`` sets the permission bits of every file and folder it creates.
With Hadoop's native library it calls ``chmod(2)``; without it (pip's PySpark ships none, and
neither PyPI nor Debian packages one for Hadoop 3.3) it starts a ``chmod`` child process each
time: a fork and exec of some milliseconds of CPU and 10-30 ms of wall time under load, for
every data file, manifest, manifest list and metadata file an Iceberg commit writes. A table
of 64 bucket files pays that 64 times per write, 8 tenants' 8 buckets 8 times.

``java/NioLocalFileSystem.java`` is Hadoop's own local file system with one method replaced:
``setPermission`` sets the same bits through ``java.nio`` in the JVM. No maintained package
ships such a class (Hadoop 3.4 still forks without its native library), so the project carries
these few lines and compiles them here, once per machine, against the Hadoop jar PySpark
ships, with the JDK's ``javac``. Where there is no ``javac`` (a JRE only) or the build fails,
sessions keep Hadoop's default file system: slower, never different.

The jar is a machine-level cache beside the driver's class archives, named by a hash of the
source, the Hadoop jar and the compiler, written to a temporary name and linked into place:
concurrent first runs never see half a jar, and a published jar is never replaced (its time
is part of the class archive's key). S3 lakes and Glue never use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import subprocess
import tempfile
import uuid
import zipfile
from pathlib import Path

from lakehouse.glue import cds

#: The class the local sessions set as ``fs.file.impl``.
FILE_SYSTEM_CLASS = "lakehouse.hadoop.NioLocalFileSystem"
SOURCE = Path(__file__).resolve().parent / "java" / "NioLocalFileSystem.java"
JAR_PREFIX = "nio-local-fs-"
#: javac's own limit is minutes on a loaded machine; a build is 1-3 s here.
BUILD_TIMEOUT_SECONDS = 180.0

log = logging.getLogger(__name__)


def find_javac() -> Path | None:
    """The JDK compiler beside Spark's java: ``$JAVA_HOME/bin/javac``, else the first on PATH."""
    return cds.find_jdk_tool("javac")


def hadoop_jar(spark_home: Path) -> Path | None:
    """The Hadoop client API jar of the Spark installation (the classes the source extends)."""
    jars = sorted((spark_home / "jars").glob("hadoop-client-api-*.jar"))
    return jars[-1] if jars else None


def jar_key(javac: Path, hadoop: Path) -> str:
    """What a built jar is valid for: the source, the Hadoop jar and the compiler."""
    digest = hashlib.sha256(SOURCE.read_bytes())
    for path in (javac, hadoop):
        st = path.stat()
        digest.update(f"\n{path} {st.st_size} {st.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


def _compile(javac: Path, hadoop: Path, target: Path) -> None:
    """Compile the source and write the jar to ``target`` (a zip of the class files)."""
    with tempfile.TemporaryDirectory(prefix="lakehouse-localfs-") as tmp:
        classes = Path(tmp)
        subprocess.run(
            [
                str(javac),
                "--release",
                "11",
                "-nowarn",
                "-cp",
                str(hadoop),
                "-d",
                str(classes),
                str(SOURCE),
            ],
            check=True,
            capture_output=True,
            timeout=BUILD_TIMEOUT_SECONDS,
        )
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as jar:
            for path in sorted(classes.rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())


def local_fs_jar(folder: Path, spark_home: Path) -> Path | None:
    """The jar of :data:`FILE_SYSTEM_CLASS` for this machine, built when missing; ``None``
    when it cannot be (no ``javac``, no Hadoop jar, a failed build: the caller keeps Hadoop's
    default file system)."""
    javac = find_javac()
    hadoop = hadoop_jar(spark_home)
    if javac is None or hadoop is None:
        return None
    try:
        jar = folder / f"{JAR_PREFIX}{jar_key(javac, hadoop)}.jar"
        if jar.is_file() and zipfile.is_zipfile(jar):
            return jar
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f"{jar.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"
        try:
            _compile(javac, hadoop, temp)
            # Atomic and never replacing: a reader sees no jar or the whole one, and a jar
            # once published keeps its modification time (the class archive's key holds it).
            with contextlib.suppress(FileExistsError):
                os.link(temp, jar)
        finally:
            with contextlib.suppress(OSError):
                temp.unlink()
    except (OSError, subprocess.SubprocessError, zipfile.BadZipFile) as exc:
        log.info("local Spark sessions keep Hadoop's file system (%s)", exc)
        return None
    return jar
