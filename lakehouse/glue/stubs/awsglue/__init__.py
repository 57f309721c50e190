"""Local stand-in for the AWS Glue ETL library (``awsglue``), on PySpark 3.5.

The real ``awsglue`` package exists only inside Glue (its JVM side is not distributed). The
local runner puts this folder on ``sys.path`` so Glue scripts run unchanged: ours and everyday
ones (Glue Studio, the AWS samples). It provides ``getResolvedOptions``, ``Job`` with
bookmarks, ``GlueContext`` sources and sinks over S3 (mapped to the lake) and the local Data
Catalog, ``DynamicFrame`` with choice types and error records, ``DynamicFrameCollection`` and
``awsglue.transforms``. The supported surface, the local model of choice types and the known
differences are listed in ``glue-scripts/README.md``; anything else raises
``NotImplementedError`` naming the call.
"""

from awsglue.dynamicframe import DynamicFrame, DynamicFrameCollection

__all__ = ["DynamicFrame", "DynamicFrameCollection"]
