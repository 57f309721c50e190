"""``awsglue.transforms``: the transform classes, each with ``apply`` (``from ... import *``).

Each class is a thin call of the ``DynamicFrame`` method of the same meaning, as on Glue
(https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-transforms.html):
``ApplyMapping.apply(frame=dyf, mappings=[...])`` is ``dyf.apply_mapping([...])``.
``describe*`` class methods exist on Glue for its visual editor and raise
``NotImplementedError`` here.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention
from pyspark.sql import types as T  # noqa: N812

from awsglue._types import col
from awsglue.dynamicframe import DynamicFrame, DynamicFrameCollection

__all__ = [
    "ApplyMapping",
    "DropFields",
    "DropNullFields",
    "ErrorsAsDynamicFrame",
    "Filter",
    "GlueTransform",
    "Join",
    "Map",
    "Relationalize",
    "RenameField",
    "ResolveChoice",
    "SelectFields",
    "SelectFromCollection",
    "Spigot",
    "SplitFields",
    "SplitRows",
    "Unbox",
    "Union",
    "UnnestFrame",
]


class GlueTransform:
    """Base of the transforms: ``Transform.apply(**kwargs)`` is ``Transform()(**kwargs)``."""

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        return cls()(*args, **kwargs)

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError(f"{type(self).__name__} is not supported locally")

    @classmethod
    def describe(cls) -> Any:
        raise NotImplementedError(f"{cls.__name__}.describe is not supported locally")

    describeArgs = describe  # noqa: N815 - Glue's names
    describeReturn = describe  # noqa: N815
    describeTransform = describe  # noqa: N815
    describeErrors = describe  # noqa: N815


class ApplyMapping(GlueTransform):
    """Select, rename and cast fields (``DynamicFrame.apply_mapping``)."""

    def __call__(
        self, frame: DynamicFrame, mappings: Any, case_sensitive: bool = False, **kwargs: Any
    ) -> DynamicFrame:
        return frame.apply_mapping(mappings, case_sensitive, **kwargs)


class SelectFields(GlueTransform):
    def __call__(self, frame: DynamicFrame, paths: list[str], **kwargs: Any) -> DynamicFrame:
        return frame.select_fields(paths, **kwargs)


class DropFields(GlueTransform):
    def __call__(self, frame: DynamicFrame, paths: list[str], **kwargs: Any) -> DynamicFrame:
        return frame.drop_fields(paths, **kwargs)


class RenameField(GlueTransform):
    def __call__(
        self, frame: DynamicFrame, old_name: str, new_name: str, **kwargs: Any
    ) -> DynamicFrame:
        return frame.rename_field(old_name, new_name, **kwargs)


class ResolveChoice(GlueTransform):
    def __call__(
        self,
        frame: DynamicFrame,
        specs: Any = None,
        choice: str = "",
        **kwargs: Any,
    ) -> DynamicFrame:
        return frame.resolveChoice(specs=specs, choice=choice, **kwargs)


class Filter(GlueTransform):
    def __call__(self, frame: DynamicFrame, f: Any, **kwargs: Any) -> DynamicFrame:
        return frame.filter(f, **kwargs)


class Map(GlueTransform):
    def __call__(self, frame: DynamicFrame, f: Any, **kwargs: Any) -> DynamicFrame:
        return frame.map(f, **kwargs)


class Join(GlueTransform):
    def __call__(
        self,
        frame1: DynamicFrame,
        frame2: DynamicFrame,
        keys1: list[str],
        keys2: list[str],
        **kwargs: Any,
    ) -> DynamicFrame:
        return frame1.join(keys1, keys2, frame2, **kwargs)


class Union(GlueTransform):
    def __call__(self, frame1: DynamicFrame, frame2: DynamicFrame, **kwargs: Any) -> DynamicFrame:
        return frame1.union(frame2, **kwargs)


class DropNullFields(GlueTransform):
    """Drop the fields that are null in every record
    (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-transforms-DropNullFields.html).

    One Spark job counts the non-null values per top-level field.
    """

    def __call__(self, frame: DynamicFrame, **kwargs: Any) -> DynamicFrame:
        df = frame._df
        if not df.columns:
            return frame
        counts = df.agg(*[F.count(col(c)).alias(f"c{i}") for i, c in enumerate(df.columns)]).first()
        assert counts is not None
        empty = [
            c
            for i, c in enumerate(df.columns)
            if counts[f"c{i}"] == 0 or isinstance(df.schema[c].dataType, T.NullType)
        ]
        return frame.drop_fields([f"`{c}`" for c in empty])


class Relationalize(GlueTransform):
    def __call__(
        self,
        frame: DynamicFrame,
        staging_path: str | None = None,
        name: str = "roottable",
        options: Any = None,
        **kwargs: Any,
    ) -> DynamicFrameCollection:
        return frame.relationalize(name, staging_path, options, **kwargs)


class Unbox(GlueTransform):
    """Parse a string field holding JSON into a struct
    (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-transforms-Unbox.html).

    The struct's schema is inferred from all the field's values (one Spark job). Only
    ``format="json"`` is supported locally.
    """

    def __call__(
        self,
        frame: DynamicFrame,
        path: str,
        format: str,
        **kwargs: Any,
    ) -> DynamicFrame:
        if format.lower() != "json":
            raise NotImplementedError(
                f"Unbox with format={format!r} is not supported locally; only 'json' is"
            )
        df = frame._df
        texts = df.select(col(path).alias("v")).where(F.col("v").isNotNull())
        spark = df.sparkSession
        inferred = spark.read.json(texts.rdd.map(lambda r: r[0])).schema
        return frame._derive(df.withColumn(path, F.from_json(col(path), inferred)))


class UnnestFrame(GlueTransform):
    def __call__(self, frame: DynamicFrame, **kwargs: Any) -> DynamicFrame:
        return frame.unnest(**kwargs)


class SplitFields(GlueTransform):
    def __call__(
        self,
        frame: DynamicFrame,
        paths: list[str],
        name1: str | None = None,
        name2: str | None = None,
        **kwargs: Any,
    ) -> DynamicFrameCollection:
        return frame.split_fields(paths, name1 or "frame1", name2 or "frame2", **kwargs)


class SplitRows(GlueTransform):
    def __call__(
        self,
        frame: DynamicFrame,
        comparison_dict: dict[str, dict[str, Any]],
        name1: str = "frame1",
        name2: str = "frame2",
        **kwargs: Any,
    ) -> DynamicFrameCollection:
        return frame.split_rows(comparison_dict, name1, name2, **kwargs)


class SelectFromCollection(GlueTransform):
    def __call__(self, dfc: DynamicFrameCollection, key: str, **kwargs: Any) -> DynamicFrame:
        return dfc.select(key)


class Spigot(GlueTransform):
    def __call__(
        self, frame: DynamicFrame, path: str, options: Any = None, **kwargs: Any
    ) -> DynamicFrame:
        return frame.spigot(path, options, **kwargs)


class ErrorsAsDynamicFrame(GlueTransform):
    def __call__(self, frame: DynamicFrame) -> DynamicFrame:
        return frame.errorsAsDynamicFrame()


def __getattr__(name: str) -> Any:
    """``from awsglue.transforms import FlatMap``: a clear error for a transform not provided."""
    if name.startswith("_"):
        raise AttributeError(name)
    raise NotImplementedError(
        f"awsglue.transforms.{name} is not supported locally by the lakehouse Glue stand-in "
        "(see glue-scripts/README.md for the supported surface)"
    )
