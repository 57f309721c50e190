"""The local stand-in for Glue 5.1's Iceberg support: the runtime jar and the lake's catalog.

On AWS, ``--datalake-formats iceberg`` puts Iceberg's Spark runtime on the job's class path
and ``--conf spark.sql.catalog.<name>=...`` makes the Glue Data Catalog an Iceberg catalog.
Here the genuine Apache Iceberg runtime for Spark 3.5 / Scala 2.12 comes from the PyPI wheel
``snowpark-connect-deps-iceberg`` (pinned in pyproject.toml; ``LAKEHOUSE_ICEBERG_JAR`` may
point at another jar), and each lake gets a Hadoop (file-system) catalog whose warehouse is the
lake root, so the table ``silver.customers`` lives at ``<lake>/silver/customers/`` where the
local Athena engine reads it too.

Every session that runs the jobs, the pipeline's and the tests', takes its Iceberg settings
from :func:`session_config`; :func:`register_lake_catalog` then adds the catalog of one lake at
run time (catalog settings are not static, so one session can serve several lakes).
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from lakehouse_glue import fs
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.errors import LakehouseError

#: The distribution that carries the runtime jar, and the jar's name pattern.
RUNTIME_DISTRIBUTION = "snowpark-connect-deps-iceberg"
RUNTIME_JAR_PREFIX = "iceberg-spark-runtime-3.5_2.12-"
EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
SPARK_CATALOG = "org.apache.iceberg.spark.SparkCatalog"


def runtime_jar(settings: Settings) -> Path:
    """The Iceberg Spark runtime jar: the setting when given, else the one the wheel installed.

    Raises:
        LakehouseError: the setting names a missing file, or the wheel is not installed.
    """
    if settings.iceberg_runtime_jar is not None:
        jar = settings.iceberg_runtime_jar.expanduser().resolve()
        if not jar.is_file():
            raise LakehouseError(
                f"LAKEHOUSE_ICEBERG_JAR={settings.iceberg_runtime_jar} is not a file; point it "
                f"at an {RUNTIME_JAR_PREFIX}<version>.jar or unset it to use the pinned one"
            )
        return jar
    try:
        files = metadata.files(RUNTIME_DISTRIBUTION) or []
    except metadata.PackageNotFoundError as exc:
        raise LakehouseError(
            f"the Iceberg Spark runtime is missing: install the project (`make setup`, which "
            f"installs {RUNTIME_DISTRIBUTION}) or set LAKEHOUSE_ICEBERG_JAR to the jar"
        ) from exc
    jars = sorted(
        f for f in files if f.name.startswith(RUNTIME_JAR_PREFIX) and f.name.endswith(".jar")
    )
    if not jars:
        raise LakehouseError(
            f"{RUNTIME_DISTRIBUTION} is installed but carries no {RUNTIME_JAR_PREFIX}*.jar; "
            f"reinstall the pinned version (`make setup`) or set LAKEHOUSE_ICEBERG_JAR"
        )
    return Path(str(jars[-1].locate())).resolve()


def session_config(settings: Settings) -> dict[str, str]:
    """The Spark settings that make a session an Iceberg one (jar and SQL extensions)."""
    return {"spark.jars": str(runtime_jar(settings)), "spark.sql.extensions": EXTENSIONS}


def skip_local_checksums(spark: SparkSession) -> None:
    """Write and read ``file:`` paths of this JVM without Hadoop's ``.<name>.crc`` files.

    Hadoop's local file system keeps a checksum file beside every file it writes and reads it
    back on every read; without Hadoop's native library (pip's PySpark has none) it also sets
    each new file's permissions with a ``chmod`` child process, one for the file and one for
    its checksum. A table of 64 bucket files cost 128 processes per write, about 7 ms of CPU
    each (the JVM's and the child's), a cost 8 tenants' 8 bucket files barely pay. Local lakes
    are now written as S3 lakes are: the file alone. The setting belongs to the JVM's cached
    ``file:`` file system, which every later read and write of the session (its tasks too)
    gets; a reader of a lake written before skips its ``.crc`` files (``lakehouse_glue.fs``).
    """
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]
    local = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI("file:///"), conf)
    local.setWriteChecksum(False)
    local.setVerifyChecksum(False)


def catalog_name(lake_uri: str) -> str:
    """The Spark catalog name of a lake: one per lake root, so one session serves several."""
    return "lake_" + hashlib.sha256(lake_uri.rstrip("/").encode("utf-8")).hexdigest()[:12]


def register_lake_catalog(spark: SparkSession, settings: Settings) -> str:
    """Make the lake's Hadoop catalog known to ``spark`` (idempotent); returns its name.

    The table cache is off: another process (``pipeline watch`` beside ``lakehouse maintain``,
    or a test's second run) may commit to the same tables, and a cached table would hide that.
    """
    name = catalog_name(settings.lake_uri)
    prefix = f"spark.sql.catalog.{name}"
    if spark.conf.get(prefix, None) is None:
        spark.conf.set(f"{prefix}.type", "hadoop")
        spark.conf.set(f"{prefix}.warehouse", fs.qualify(settings.lake_uri))
        spark.conf.set(f"{prefix}.cache-enabled", "false")
        spark.conf.set(prefix, SPARK_CATALOG)
    return name
