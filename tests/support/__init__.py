"""What every test package shares; the fixtures are registered as pytest plugins by the root
``conftest.py``, so each session fixture is built at most once per run.

Fixtures:

- :mod:`tests.support.postgres`: a private PostgreSQL 15 cluster (``pg_cluster``), a migrated
  template and fresh source databases (``source_db``, ``make_source_db``), and ``as_role``.
- :mod:`tests.support.spark`: the session's local SparkSession (``spark``), and
  ``assert_frames_equal``, the one policy for comparing frames (on chispa).
- :mod:`tests.support.moto`: a moto S3 server on 127.0.0.1 (``moto_s3``) and its environment
  (``s3_env``).
- :mod:`tests.support.lake`: the one lake builder (``build_lake``: pipeline, parquet or iceberg
  layout, crawled or not) and its fixtures ``e2e_lake``, ``athena_lake``, ``iceberg_lake``.
- :mod:`tests.support.processes`: ``lakehouse`` commands as real processes (``processes``).

Helpers: :mod:`~tests.support.bronze` (hand-made bronze rows and files),
:mod:`~tests.support.tables` (reading the lake's Iceberg tables in Spark),
:mod:`~tests.support.oracle` and :mod:`~tests.support.page_oracle` (the same questions answered
in PostgreSQL from ``gold_sql/``), :mod:`~tests.support.iceberg_catalog` (pyiceberg in the
Hadoop layout).

Test modules use the fixtures by name and import helpers only from here or from their own
package, never from another test package.
"""
