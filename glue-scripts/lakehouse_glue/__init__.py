"""Shared library of the lakehouse Glue jobs.

Shipped to AWS Glue as ``--extra-py-files`` (built by ``make package-glue``) and imported
unchanged by the local runtime. It holds everything generic: the entity declaration and the
bronze contract (:mod:`lakehouse_glue.model`), bronze readers, change application, quality
rules and writers. It must only depend on what Glue 5.0 provides (PySpark 3.5, Python 3.11
standard library).
"""
