"""Class-data sharing for the local Spark driver JVM: a new process starts from a warm archive.

A new ``lakehouse pipeline run`` spends many of its first seconds loading, verifying and
linking some 13,000 classes from the Spark and Iceberg jars. Java 17's dynamic AppCDS writes
the classes a JVM loaded into an archive when it exits (``-XX:ArchiveClassesAtExit``); a later
JVM maps that archive (``-XX:SharedArchiveFile``) and skips that work. Measured here: about 6
CPU seconds less for the driver's start and first Iceberg job.

The archive is a machine-level cache (``Settings.class_archive_folder``), one file per key:
the java binary (its path and version), the driver's exact class path and the Iceberg jar
(each file's path, size and modification time) and the JVM options that change which classes
load; its size is in its name too. A change of any of them makes a new key, so a new
archive; old ones unused for :data:`PRUNE_DAYS` are removed.

Writing one is the hazardous part, and is guarded:

* the JVM writes at exit, to a temporary file of its own (``<archive>.<pid>.<random>.part``),
  never to the archive's name: a JVM killed mid-write, or two writing at once, leave only
  temporary files, which are never read and are removed once stale (:func:`sweep`);
* the PySpark gateway JVM exits when its standard input closes (Python's end of the pipe);
  a process that exits without waiting would leave it writing in the background. So the
  process that started the writing JVM ends it itself at interpreter exit and waits for it
  (:func:`finish`): only an exit code of 0 counts;
* the file is then checked: not empty, the dynamic archive's magic number, and accepted by
  the same java with the same class path under ``-Xshare:on -XX:+VerifySharedSpaces`` (which
  maps every region and checks its CRC; a truncated archive would crash a JVM with SIGBUS,
  that check's throwaway JVM included). Only then is it renamed into place, atomically, with
  its size in its name; a file whose size is not that one is never mapped (:func:`whole`);
* a JVM that rejects an archive at start (a jar touched since) falls back to loading classes
  from the jars, silently: ``-Xlog:cds*=off`` keeps the JVM's CDS messages (a dump warns about
  each class it skips, on standard output) away from the user's output.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The first four bytes of a Java 17 dynamic archive (CDS_DYNAMIC_ARCHIVE_MAGIC, little-endian).
DYNAMIC_MAGIC = (0xF00BABA8).to_bytes(4, "little")
#: No CDS message on the console, of a dump or of a rejected archive.
QUIET = "-Xlog:cds*=off"
ARCHIVE_PREFIX = "spark-driver-"
#: A temporary file untouched this long belongs to no running JVM (a dump takes seconds).
STALE_SECONDS = 3600.0
#: Archives not used for this long are removed (a key nobody runs any more).
PRUNE_DAYS = 30
#: How long the process waits at exit for the JVM to write the archive.
EXIT_PATIENCE_SECONDS = 300.0
#: JVM options that change neither which classes load nor whether an archive maps: the JIT,
#: logging, the OOM policy. Every other option is part of the key.
_NEUTRAL_OPTIONS = (
    "-Xlog",
    "-XX:TieredStopAtLevel",
    "-XX:CompileThresholdScaling",
    "-XX:Tier",
    "-XX:ReservedCodeCacheSize",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:-ExitOnOutOfMemoryError",
    "-XX:CICompilerCount",
)
#: A heap this large turns compressed object pointers off, and the base archive with them.
_COMPRESSED_OOPS_LIMIT_MIB = 32 * 1024


@dataclass
class Plan:
    """What the driver JVM of this process does: read its key's archive, or write one."""

    folder: Path
    key: str
    java: Path
    classpath: tuple[str, ...]
    heap_mib: int
    #: The archive the JVM reads; ``None`` when there is none yet and the JVM writes one.
    archive: Path | None
    #: Where the JVM writes the archive at exit (when ``archive`` is ``None``).
    temp: Path | None
    #: Why this process will not publish its dump after all (set after the JVM started).
    abandoned: str | None = field(default=None)

    @property
    def java_options(self) -> str:
        """The options to add to ``spark.driver.extraJavaOptions``."""
        if self.archive is not None:
            return f"-XX:SharedArchiveFile={_quote(self.archive)} {QUIET}"
        return f"-XX:ArchiveClassesAtExit={_quote(self.temp or self.folder)} {QUIET}"

    @property
    def failed_marker(self) -> Path:
        return self.folder / f"{ARCHIVE_PREFIX}{self.key}.failed"

    def archive_name(self, size: int) -> Path:
        """The published archive of ``size`` bytes: the size is in the name (see :func:`whole`)."""
        return self.folder / f"{ARCHIVE_PREFIX}{self.key}-{size}.jsa"

    def published(self) -> list[Path]:
        """This key's archives, newest first."""
        found = []
        for path in self.folder.glob(f"{ARCHIVE_PREFIX}{self.key}-*.jsa"):
            with contextlib.suppress(OSError):
                found.append((path.stat().st_mtime, path))
        return [path for _, path in sorted(found, reverse=True)]


def _quote(path: Path) -> str:
    # Spark splits extraJavaOptions as a shell would: a path with a space needs quotes.
    return shlex.quote(str(path))


def find_jdk_tool(name: str) -> Path | None:
    """A tool of the Java that Spark's launcher runs (``java``, ``javac``), its real path:
    ``$JAVA_HOME/bin/<name>``, else the first on PATH; ``None`` when there is none."""
    home = os.environ.get("JAVA_HOME")
    found = str(Path(home) / "bin" / name) if home else shutil.which(name)
    if not found or not Path(found).is_file():
        return None
    return Path(os.path.realpath(found))


def find_java() -> Path | None:
    """The java that Spark's launcher runs: ``$JAVA_HOME/bin/java``, else the first on PATH."""
    return find_jdk_tool("java")


def spark_home() -> Path:
    """The Spark installation PySpark launches (the pip package's folder here)."""
    from pyspark.find_spark_home import _find_spark_home

    return Path(_find_spark_home())  # type: ignore[no-untyped-call]


def driver_classpath(home: Path) -> tuple[str, ...] | None:
    """The class path Spark's launcher gives a client-mode driver, with ``jars/*`` expanded.

    As ``org.apache.spark.launcher.AbstractCommandBuilder.buildClassPath`` builds it: the
    configuration folder, the jars, then the Hadoop and YARN configuration folders and
    ``SPARK_DIST_CLASSPATH``. ``None`` when an entry is a folder with files in it, which
    Java 17 refuses to archive ("Cannot have non-empty directory in paths").
    """
    entries = [os.environ.get("SPARK_CONF_DIR") or str(home / "conf")]
    jars = home / "jars"
    entries += sorted(str(j) for j in jars.glob("*.jar")) if jars.is_dir() else []
    for variable in ("HADOOP_CONF_DIR", "YARN_CONF_DIR"):
        if os.environ.get(variable):
            entries.append(os.environ[variable])
    entries += [e for e in os.environ.get("SPARK_DIST_CLASSPATH", "").split(os.pathsep) if e]
    for entry in entries:
        path = Path(entry)
        if path.is_dir() and any(path.iterdir()):
            return None
    return tuple(entries)


def _stat_line(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return f"{path} missing"
    return f"{path} {st.st_size} {st.st_mtime_ns}"


def java_identity(java: Path) -> list[str]:
    """The java binary and its version: the binary, the JVM library and the release file."""
    home = java.parent.parent
    lines = [_stat_line(java), _stat_line(home / "lib" / "server" / "libjvm.so")]
    release = home / "release"
    with contextlib.suppress(OSError):
        lines.append(release.read_text(encoding="utf-8", errors="replace"))
    return lines


def key_options(java_options: str) -> list[str]:
    """The JVM options that are part of the key: all but :data:`_NEUTRAL_OPTIONS`."""
    return [o for o in shlex.split(java_options) if not o.startswith(_NEUTRAL_OPTIONS)]


def archive_key(
    java: Path, classpath: tuple[str, ...], jars: list[Path], java_options: str, heap_mib: int
) -> str:
    """The hash in the archive's name: what an archive is only valid for."""
    lines = [
        *java_identity(java),
        *(_stat_line(Path(entry)) for entry in classpath),
        *(f"jar {_stat_line(jar)}" for jar in jars),
        *(f"option {option}" for option in key_options(java_options)),
        f"compressed-oops {heap_mib < _COMPRESSED_OOPS_LIMIT_MIB}",
    ]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:20]


def looks_whole(path: Path) -> bool:
    """Readable, larger than a header, and starting with the dynamic archive's magic number."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
        return path.stat().st_size > 4096 and head == DYNAMIC_MAGIC
    except OSError:
        return False


def whole(archive: Path) -> bool:
    """A published archive still as it was checked: its size is the one in its name.

    Mapping a truncated archive crashes the JVM (SIGBUS); publishing renames only whole files,
    and this catches one cut short afterwards (a copy of the cache folder that did not finish).
    """
    size = archive.stem.rsplit("-", 1)[-1]
    try:
        return size.isdigit() and archive.stat().st_size == int(size) and looks_whole(archive)
    except OSError:
        return False


def sweep(folder: Path, *, now: float | None = None) -> list[Path]:
    """Remove stale temporary files and archives unused for :data:`PRUNE_DAYS`; what went."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    for path in folder.glob(f"{ARCHIVE_PREFIX}*"):
        try:
            age = now - path.stat().st_mtime
        except OSError:
            continue
        stale = (
            (path.suffix == ".part" and age > STALE_SECONDS)
            or (path.suffix == ".jsa" and age > PRUNE_DAYS * 86400)
            or (path.suffix == ".failed" and age > 86400)  # try that key again once a day
        )
        if stale:
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def prepare(
    folder: Path,
    java_options: str,
    heap_mib: int,
    jars: list[Path] | None = None,
    extra_classpath: tuple[str, ...] = (),
) -> Plan | None:
    """The archive to read, or the temporary file to write; ``None`` when CDS cannot apply.

    Args:
        folder: the archives' folder (created when missing).
        java_options: the driver's options (``spark.driver.extraJavaOptions``) without these.
        heap_mib: the driver's heap (only whether it allows compressed pointers matters).
        jars: jars the driver loads classes from besides its class path (``spark.jars``).
        extra_classpath: the driver's ``spark.driver.extraClassPath`` entries, which Spark's
            launcher puts before its own class path.
    """
    java = find_java()
    if java is None:
        return None
    try:
        classpath = driver_classpath(spark_home())
    except OSError:
        return None
    if classpath is None:
        return None
    classpath = (*extra_classpath, *classpath)
    key = archive_key(java, classpath, jars or [], java_options, heap_mib)
    plan = Plan(folder, key, java, classpath, heap_mib, archive=None, temp=None)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        sweep(folder)
        if plan.failed_marker.exists():
            return None  # this key's JVM could not write an archive: do not try every run
    except OSError:
        return None
    for archive in plan.published():
        if whole(archive):
            with contextlib.suppress(OSError):
                os.utime(archive)  # in use: not pruned
            plan.archive = archive
            return plan
        with contextlib.suppress(OSError):
            archive.unlink()  # not what was published: never mapped
    plan.temp = folder / f"{ARCHIVE_PREFIX}{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"
    return plan


def jvm_accepts(plan: Plan, candidate: Path, classpath: str) -> bool:
    """Whether ``plan.java`` maps ``candidate`` whole, every region's CRC checked."""
    command = [
        str(plan.java),
        "-Xshare:on",
        f"-XX:SharedArchiveFile={candidate}",
        "-XX:+VerifySharedSpaces",
        f"-Xmx{plan.heap_mib}m",
        QUIET,
        "-XX:-CreateCoredumpOnCrash",
        "-XX:ErrorFile=/dev/null",
        "-cp",
        classpath,
        "-version",
    ]
    try:
        done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def publish(plan: Plan, exit_code: int | None, classpath: str) -> bool:
    """Check the JVM's dump and rename it into place; the temporary file never stays.

    Args:
        plan: the plan whose ``temp`` the JVM wrote.
        exit_code: the JVM's exit code (``None``: it did not exit).
        classpath: the JVM's own ``java.class.path``, to check the archive against.
    """
    temp = plan.temp
    if temp is None:
        return False
    try:
        if exit_code != 0 or plan.abandoned:
            return False
        if not looks_whole(temp):
            # The JVM ended well but wrote nothing usable: it will not do better next time.
            with contextlib.suppress(OSError):
                plan.failed_marker.write_text(
                    f"the JVM exited with 0 but {temp.name} was missing or not an archive\n"
                )
            return False
        if not jvm_accepts(plan, temp, classpath):
            return False
        archive = plan.archive_name(temp.stat().st_size)
        os.replace(temp, archive)
        for older in plan.published():  # another process's archive of the same key
            if older != archive:
                with contextlib.suppress(OSError):
                    older.unlink()
        return True
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def check_started(plan: Plan, java_home: str, classpath: str) -> None:
    """Abandon the dump when the JVM that started is not the one the key describes."""
    if Path(os.path.realpath(java_home)) != plan.java.parent.parent:
        plan.abandoned = f"the driver runs the java of {java_home}, not {plan.java}"
    elif sorted(e for e in classpath.split(os.pathsep) if e) != sorted(plan.classpath):
        plan.abandoned = "the driver's class path is not the one the archive's key was made of"


def finish(plan: Plan, proc: Any, classpath: str, patience: float = EXIT_PATIENCE_SECONDS) -> bool:
    """At interpreter exit: end the JVM that writes the archive, wait for it, publish.

    PySpark's gateway JVM calls ``System.exit(0)`` when its standard input reaches EOF; the
    dump happens inside that exit. Interrupted (Ctrl-C) or out of patience, the process goes
    and the JVM's temporary file is left to :func:`sweep`.
    """
    if plan.temp is None or proc is None:
        return False
    try:
        if proc.poll() is None:
            print(
                "saving the Spark driver's class archive for faster starts (once) ...",
                file=sys.stderr,
                flush=True,
            )
            if proc.stdin is not None:
                proc.stdin.close()
            code = proc.wait(timeout=patience)
        else:
            code = proc.returncode
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        return False
    return publish(plan, code, classpath)


def register(plan: Plan, spark: Any) -> None:
    """After the JVM started: check it is the expected one, and publish its dump at exit."""
    if plan.temp is None:
        return
    context = spark.sparkContext
    system = context._jvm.System
    classpath = str(system.getProperty("java.class.path"))
    check_started(plan, str(system.getProperty("java.home")), classpath)
    proc = getattr(context._gateway, "proc", None)
    atexit.register(finish, plan, proc, classpath)
