"""``DynamicFrame``: here a thin wrapper of a Spark DataFrame (the scripts only convert)."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame


class DynamicFrame:
    """A named frame of records; ``toDF``/``fromDF`` convert to and from Spark DataFrames."""

    def __init__(self, df: DataFrame, glue_ctx: Any, name: str = "") -> None:
        self._df = df
        self.glue_ctx = glue_ctx
        self.name = name

    def toDF(self) -> DataFrame:  # noqa: N802 - the Glue API name
        return self._df

    @classmethod
    def fromDF(cls, dataframe: DataFrame, glue_ctx: Any, name: str) -> DynamicFrame:  # noqa: N802
        return cls(dataframe, glue_ctx, name)

    def count(self) -> int:
        return self._df.count()

    def printSchema(self) -> None:  # noqa: N802
        self._df.printSchema()

    def show(self, num_rows: int = 20) -> None:
        self._df.show(num_rows)
