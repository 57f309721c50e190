"""What every test package shares, registered as pytest plugins by the root ``conftest.py``.

- :mod:`tests.support.spark`: the session's local SparkSession (``spark``) and
  ``assertDataFrameEqual``.
- :mod:`tests.support.moto`: a moto S3 server on 127.0.0.1 (``moto_s3``) and its environment
  (``s3_env``).

Test modules use the fixtures by name and import only types and helpers from here, never from
another test package.
"""
