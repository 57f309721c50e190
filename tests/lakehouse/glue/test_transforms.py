"""``awsglue.transforms``: every class's ``apply`` gives what its DynamicFrame method gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import types as T  # noqa: N812

from lakehouse.glue.runner import ensure_stubs_on_path

ensure_stubs_on_path()

from awsglue import _local  # noqa: E402
from awsglue.context import GlueContext  # noqa: E402
from awsglue.dynamicframe import DynamicFrame  # noqa: E402
from awsglue.transforms import *  # noqa: E402, F403
from awsglue.transforms import (  # noqa: E402
    ApplyMapping,
    DropFields,
    DropNullFields,
    Filter,
    Join,
    Map,
    Relationalize,
    RenameField,
    ResolveChoice,
    SelectFields,
    SelectFromCollection,
    Spigot,
    SplitFields,
    SplitRows,
    Unbox,
    Union,
)


def test_every_transform_applies(spark: SparkSession, tmp_path: Path) -> None:
    _local.configure(str(tmp_path / "state"), str(tmp_path / "catalog"), str(tmp_path / "s3"))
    gc = GlueContext(spark.sparkContext)
    frame = DynamicFrame.fromDF(
        spark.createDataFrame(
            [(1, "7", None, '{"a": 1, "b": ["x"]}'), (2, "8", None, '{"a": 2, "b": []}')],
            "id long, qty string, empty string, payload string",
        ),
        gc,
        "f",
    )
    mapped = ApplyMapping.apply(
        frame=frame, mappings=[("id", "long", "id", "int"), ("qty", "string", "qty", "bigint")]
    )
    assert [(f.name, type(f.dataType)) for f in mapped.toDF().schema.fields] == [
        ("id", T.IntegerType),
        ("qty", T.LongType),
    ]
    assert SelectFields.apply(frame=frame, paths=["qty"]).toDF().columns == ["qty"]
    assert DropFields.apply(frame=frame, paths=["qty"]).toDF().columns == ["id", "empty", "payload"]
    assert (
        "quantity"
        in RenameField.apply(frame=frame, old_name="qty", new_name="quantity").toDF().columns
    )
    resolved = ResolveChoice.apply(frame=frame, specs=[("qty", "cast:int")])
    assert isinstance(resolved.toDF().schema["qty"].dataType, T.IntegerType)
    assert Filter.apply(frame=frame, f=lambda r: r["id"] == 2).toDF().collect()[0]["qty"] == "8"
    doubled = Map.apply(frame=frame, f=lambda r: {**r, "twice": r["id"] * 2})
    assert sorted(r["twice"] for r in doubled.toDF().collect()) == [2, 4]
    other = DynamicFrame.fromDF(
        spark.createDataFrame([(1, "one")], "key long, word string"), gc, "o"
    )
    joined = Join.apply(frame1=frame, frame2=other, keys1=["id"], keys2=["key"])
    assert [r["word"] for r in joined.toDF().collect()] == ["one"]
    assert Union.apply(frame1=frame, frame2=frame).count() == 4
    assert DropNullFields.apply(frame=frame).toDF().columns == ["id", "qty", "payload"]
    unboxed = Unbox.apply(frame=frame, path="payload", format="json")
    assert sorted(r["payload"]["a"] for r in unboxed.toDF().collect()) == [1, 2]
    tables = Relationalize.apply(frame=unboxed, staging_path="s3://tmp/rel", name="root")
    assert sorted(tables.keys()) == ["root", "root_payload.b"]
    assert [r["payload.b.val"] for r in tables["root_payload.b"].toDF().collect()] == ["x"]
    assert SelectFromCollection.apply(dfc=tables, key="root").toDF().columns == [
        "id",
        "qty",
        "empty",
        "payload.a",
        "payload.b",
    ]
    split = SplitFields.apply(frame=frame, paths=["id"], name1="ids", name2="rest")
    assert split["ids"].toDF().columns == ["id"]
    rows = SplitRows.apply(
        frame=frame, comparison_dict={"id": {"=": 1}}, name1="one", name2="other"
    )
    assert [r["id"] for r in rows["one"].toDF().collect()] == [1]
    assert Spigot.apply(frame=frame, path="s3://tmp/spigot", options={"topk": 1}) is frame
    assert len(list((tmp_path / "s3" / "tmp" / "spigot").glob("part-*.json"))) == 1
    assert ApplyMapping.name() == "ApplyMapping"


def test_a_missing_transform_says_so() -> None:
    with pytest.raises(NotImplementedError, match=r"awsglue.transforms.FlatMap is not supported"):
        from awsglue.transforms import FlatMap  # noqa: F401
