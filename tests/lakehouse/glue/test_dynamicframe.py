"""The local DynamicFrame: every method on small data with real PySpark, asserting values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import types as T  # noqa: N812

from lakehouse.glue.runner import ensure_stubs_on_path

ensure_stubs_on_path()

from awsglue import _local  # noqa: E402
from awsglue.context import GlueContext  # noqa: E402
from awsglue.dynamicframe import (  # noqa: E402
    DynamicFrame,
    DynamicFrameCollection,
    GlueErrorThresholdError,
)


@pytest.fixture
def gc(spark: SparkSession, tmp_path: Path) -> GlueContext:
    _local.configure(str(tmp_path / "state"), str(tmp_path / "catalog"), str(tmp_path / "s3"))
    return GlueContext(spark.sparkContext)


def _people(spark: SparkSession, gc: GlueContext) -> DynamicFrame:
    df = spark.createDataFrame(
        [
            (1, "Ann", "34", ("Paris", "FR")),
            (2, "Bob", "x", ("Lyon", "FR")),
            (3, "Cy", None, None),
        ],
        "id long, name string, age string, address struct<city:string,country:string>",
    )
    return DynamicFrame.fromDF(df, gc, "people")


def _rows(dyf: DynamicFrame) -> list[dict[str, Any]]:
    return [r.asDict(recursive=True) for r in dyf.toDF().orderBy(dyf.toDF().columns[0]).collect()]


def _mixed_json(tmp_path: Path, gc: GlueContext) -> DynamicFrame:
    src = tmp_path / "s3" / "bucket" / "mixed"
    src.mkdir(parents=True)
    lines = [
        {"id": 1, "price": 10, "tags": ["a", "b"]},
        {"id": 2, "price": "ten", "tags": []},
        {"id": 3, "price": 2.5, "tags": ["c"]},
    ]
    (src / "part-0.json").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return gc.create_dynamic_frame.from_options(
        "s3", {"paths": ["s3://bucket/mixed/"]}, format="json"
    )


def test_apply_mapping_renames_casts_nests_and_drops(spark: SparkSession, gc: GlueContext) -> None:
    out = _people(spark, gc).apply_mapping(
        [
            ("id", "long", "person_id", "int"),
            ("AGE", "string", "age", "int"),  # case-insensitive by default
            ("address.city", "string", "location.city", "string"),
            ("missing", "string", "note", "string"),
        ]
    )
    schema = out.toDF().schema
    assert [f.name for f in schema.fields] == ["person_id", "age", "location", "note"]
    assert isinstance(schema["person_id"].dataType, T.IntegerType)
    assert isinstance(schema["age"].dataType, T.IntegerType)
    assert _rows(out) == [
        {"person_id": 1, "age": 34, "location": {"city": "Paris"}, "note": None},
        {"person_id": 2, "age": None, "location": {"city": "Lyon"}, "note": None},  # "x"
        {"person_id": 3, "age": None, "location": {"city": None}, "note": None},
    ]
    with pytest.raises(ValueError, match="must be"):
        _people(spark, gc).apply_mapping([("id", "long", "id")])


def test_select_drop_rename_unnest(spark: SparkSession, gc: GlueContext) -> None:
    people = _people(spark, gc)
    assert people.select_fields(["id", "address.city"]).toDF().columns == ["id", "address"]
    assert _rows(people.select_fields(["id", "address.city"]))[0] == {
        "id": 1,
        "address": {"city": "Paris"},
    }
    dropped = people.drop_fields(["name", "address.country"])
    assert dropped.toDF().columns == ["id", "age", "address"]
    assert _rows(dropped)[0]["address"] == {"city": "Paris"}
    renamed = people.rename_field("name", "full_name").rename_field("address.city", "address.town")
    assert _rows(renamed)[0]["full_name"] == "Ann"
    assert _rows(renamed)[0]["address"] == {"country": "FR", "town": "Paris"}
    flat = people.unnest()
    assert flat.toDF().columns == ["id", "name", "age", "address.city", "address.country"]
    assert _rows(flat)[1]["address.city"] == "Lyon"
    with pytest.raises(ValueError, match="no field"):
        people.rename_field("nope", "x")


def test_json_mixed_types_are_a_choice_resolved_by_every_action(
    tmp_path: Path, gc: GlueContext, capsys: pytest.CaptureFixture[str]
) -> None:
    dyf = _mixed_json(tmp_path, gc)
    field = dyf.schema()["price"]
    assert field.metadata["glue_choice"] == ["double", "string"]
    dyf.printSchema()
    printed = capsys.readouterr().out
    assert "|-- price: choice\n|    |-- double\n|    |-- string" in printed
    assert "|-- id: long" in printed

    cast = dyf.resolveChoice(specs=[("price", "cast:double")])
    assert isinstance(cast.toDF().schema["price"].dataType, T.DoubleType)
    assert [r["price"] for r in _rows(cast)] == [10.0, None, 2.5]

    projected = dyf.resolveChoice(specs=[("price", "project:string")])
    assert [r["price"] for r in _rows(projected)] == [None, "ten", None]

    cols = dyf.resolveChoice(choice="make_cols")
    assert cols.toDF().columns == ["id", "price_double", "price_string", "tags"]
    assert [(r["price_double"], r["price_string"]) for r in _rows(cols)] == [
        (10.0, None),
        (None, "ten"),
        (2.5, None),
    ]

    struct = dyf.resolveChoice(specs=[("price", "make_struct")])
    assert [r["price"] for r in _rows(struct)] == [
        {"double": 10.0, "string": None},
        {"double": None, "string": "ten"},
        {"double": 2.5, "string": None},
    ]
    assert _rows(dyf) == _rows(struct)  # toDF of an unresolved choice: make_struct
    with pytest.raises(ValueError, match="either specs or choice"):
        dyf.resolveChoice(specs=[("price", "make_cols")], choice="make_cols")
    with pytest.raises(ValueError, match="not one of"):
        dyf.resolveChoice(specs=[("price", "guess")])


def test_filter_and_map_keep_failing_records_as_errors(
    spark: SparkSession, gc: GlueContext
) -> None:
    people = _people(spark, gc)
    adults = people.filter(lambda r: int(r["age"]) >= 18)  # "x" and None raise
    assert [r["name"] for r in _rows(adults)] == ["Ann"]
    assert adults.stageErrorsCount() == 2
    assert adults.errorsCount() == 2
    errors = adults.errorsAsDynamicFrame().toDF().collect()
    assert sorted(json.loads(e["record"])["name"] for e in errors) == ["Bob", "Cy"]
    assert all(e["error"].startswith(("ValueError", "TypeError")) for e in errors)
    with pytest.raises(GlueErrorThresholdError, match="stageThreshold=0"):
        adults.assertErrorThreshold()

    def upper(r: dict[str, Any]) -> dict[str, Any]:
        r["name"] = r["name"].upper()
        r["initial"] = r["name"][0]
        if r["id"] == 3:
            raise RuntimeError("no address")
        return r

    mapped = adults.union(people.filter(lambda r: r["id"] == 3)).map(upper)
    assert [(r["name"], r["initial"]) for r in _rows(mapped)] == [("ANN", "A")]
    assert mapped.stageErrorsCount() == 1
    assert mapped.errorsCount() == 3  # the filter's two, then the map's one
    assert isinstance(mapped.toDF().schema["id"].dataType, T.LongType)
    # A nonzero threshold stops the transform itself.
    with pytest.raises(GlueErrorThresholdError, match="totalThreshold=1"):
        adults.map(upper, totalThreshold=1)
    assert people.filter(lambda r: r["id"] > 1).errorsCount() == 0
    people.filter(lambda r: r["id"] > 1).assertErrorThreshold()  # no errors: no raise


def test_join_union_and_collections(spark: SparkSession, gc: GlueContext) -> None:
    people = _people(spark, gc)
    orders = DynamicFrame.fromDF(
        spark.createDataFrame(
            [(10, 1, 5.0), (11, 1, 7.0), (12, 2, 1.0)], "order_id int, pid long, amount double"
        ),
        gc,
        "orders",
    )
    joined = people.join(["id"], ["pid"], orders)
    assert joined.count() == 3
    assert sorted((r["name"], r["order_id"]) for r in joined.toDF().collect()) == [
        ("Ann", 10),
        ("Ann", 11),
        ("Bob", 12),
    ]
    with pytest.raises(ValueError, match="in both frames"):
        people.join(["id"], ["id"], people.rename_field("id", "id"))
    same_key = people.join(["id"], ["id"], orders.rename_field("pid", "id"))
    assert same_key.toDF().columns.count("id") == 1

    ints = DynamicFrame.fromDF(spark.createDataFrame([(1,)], "v long"), gc, "a")
    texts = DynamicFrame.fromDF(spark.createDataFrame([("one",)], "v string"), gc, "b")
    both = ints.union(texts)
    assert both.schema()["v"].metadata["glue_choice"] == ["long", "string"]
    assert sorted(
        r["v"]
        for r in both.resolveChoice(specs=[("v", "cast:long")]).toDF().collect()
        if r["v"] is not None
    ) == [1]

    split = people.split_fields(["id", "name"], "keys", "rest")
    assert isinstance(split, DynamicFrameCollection)
    assert split.keys() == ["keys", "rest"]
    assert split["keys"].toDF().columns == ["id", "name"]
    assert split.select("rest").toDF().columns == ["age", "address"]
    rows = people.split_rows({"id": {">": 1, "<=": 2}}, "middle", "others")
    assert [r["id"] for r in _rows(rows["middle"])] == [2]
    assert [r["id"] for r in _rows(rows["others"])] == [1, 3]
    counted = split.map(lambda f, ctx: f.drop_fields(["name"]))
    assert counted["keys"].toDF().columns == ["id"]
    with pytest.raises(KeyError, match="no frame"):
        split.select("nope")


def test_relationalize_pivots_arrays_into_joinable_frames(tmp_path: Path, gc: GlueContext) -> None:
    dyf = _mixed_json(tmp_path, gc).resolveChoice(choice="cast:double")
    out = dyf.relationalize("root", "s3://bucket/staging/")
    assert sorted(out.keys()) == ["root", "root_tags"]
    root = out["root"].toDF()
    tags = out["root_tags"].toDF()
    assert tags.columns == ["id", "index", "tags.val"]
    pairs = sorted(
        (r["root_id"], r["index"], r["tag"])
        for r in root.join(tags, root["tags"] == tags["id"])
        .select(root["id"].alias("root_id"), tags["index"], tags["`tags.val`"].alias("tag"))
        .collect()
    )
    assert pairs == [(1, 0, "a"), (1, 1, "b"), (3, 0, "c")]
    assert (tmp_path / "s3" / "bucket" / "staging").is_dir()


def test_spigot_show_partitions_and_unsupported_calls(
    spark: SparkSession, gc: GlueContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = _people(spark, gc)
    assert people.spigot("s3://bucket/sample", {"topk": 2}) is people
    written = [
        json.loads(line)
        for f in (tmp_path / "s3" / "bucket" / "sample").glob("part-*.json")
        for line in f.read_text().splitlines()
    ]
    assert len(written) == 2
    people.show(1)
    assert json.loads(capsys.readouterr().out.strip())["name"] == "Ann"
    assert people.repartition(3).getNumPartitions() == 3
    assert people.repartition(3).coalesce(1).getNumPartitions() == 1
    with pytest.raises(
        NotImplementedError, match=r"DynamicFrame.mergeDynamicFrame is not supported locally"
    ):
        people.mergeDynamicFrame(people, ["id"])
    with pytest.raises(NotImplementedError, match=r"GlueContext.extract_jdbc_conf"):
        gc.extract_jdbc_conf("conn")
