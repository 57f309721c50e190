"""``assertDataFrameEqual`` from PySpark, importable beside pandas 3.

``import pyspark.testing`` runs the package's ``__init__``, which imports pandas-on-Spark, and
PySpark 3.5's pandas-on-Spark fails to import under pandas 3 (``DateOffset`` moved). The
function itself lives in ``pyspark/testing/utils.py``, which treats pandas as optional, so when
the package import fails we load that one file directly. Drop this once pandas is pinned below 3
(or PySpark moves to 4).
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
    except (ImportError, AttributeError):  # pandas 3 or NumPy 2 break pyspark.pandas
        path = Path(pyspark.__file__).parent / "testing" / "utils.py"
        spec = importlib.util.spec_from_file_location("_pyspark_testing_utils", path)
        assert spec is not None
        assert spec.loader is not None
        module: Any = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        loaded: Callable[..., None] = module.assertDataFrameEqual
        return loaded


assertDataFrameEqual = _load()  # noqa: N816 - the PySpark name
