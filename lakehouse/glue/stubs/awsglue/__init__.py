"""Local stand-in for the subset of the AWS Glue ETL library the lakehouse jobs use.

The real ``awsglue`` package exists only inside Glue (it is not on PyPI). The local runner puts
this folder on ``sys.path`` so the job scripts run unchanged; on AWS the real library is used.
Only what the scripts call is provided, and it behaves like the real one: argument parsing and
its errors, ``GlueContext.spark_session``, ``create_dynamic_frame.from_options`` over files with
job bookmarks keyed by ``transformation_ctx``, ``Job.init``/``Job.commit`` and ``DynamicFrame``
to and from ``DataFrame``. Known differences are listed in ``glue-scripts/README.md``.
"""

from awsglue.dynamicframe import DynamicFrame

__all__ = ["DynamicFrame"]
