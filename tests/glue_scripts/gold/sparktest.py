"""``assertDataFrameEqual`` from PySpark, importable beside NumPy 2.

``import pyspark.testing`` runs the package's ``__init__``, which imports pandas-on-Spark, and
PySpark 3.5's pandas-on-Spark fails to import under NumPy 2 (it uses ``np.NaN``, removed in
NumPy 2.0), and the pinned pyarrow (26) refuses NumPy 1. The function itself lives in
``pyspark/testing/utils.py``, which does not need pandas-on-Spark, so when the package import
fails that one file is loaded directly. pandas is pinned below 3 (pyproject.toml); this stays
until the project moves to a PySpark whose pandas-on-Spark imports under NumPy 2.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyspark


def _load() -> Callable[..., None]:
    try:
        from pyspark.testing.utils import assertDataFrameEqual

        return assertDataFrameEqual
    except (ImportError, AttributeError):  # NumPy 2 breaks pyspark.pandas
        path = Path(pyspark.__file__).parent / "testing" / "utils.py"
        spec = importlib.util.spec_from_file_location("_pyspark_testing_utils", path)
        assert spec is not None
        assert spec.loader is not None
        module: Any = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        loaded: Callable[..., None] = module.assertDataFrameEqual
        return loaded


assertDataFrameEqual = _load()  # noqa: N816 - the PySpark name
