"""Py4J name look-ups remembered (lakehouse.glue.jvmnames): the JVM is asked once per name."""

from __future__ import annotations

from typing import Any

import pytest
from py4j.java_gateway import JVMView, java_import
from py4j.protocol import Py4JError
from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse.glue.jvmnames import remember_names


@pytest.fixture
def view(spark: SparkSession) -> Any:
    """A fresh JVM view of the test session's gateway, remembering, with its commands counted."""
    gateway = spark.sparkContext._gateway
    assert gateway is not None
    fresh = gateway.new_jvm_view("jvmnames-test")
    # PySpark's own imports, in its order: "functions" misses in the first package.
    for name in ("org.apache.spark.api.python.*", "org.apache.spark.sql.*"):
        java_import(fresh, name)
    remember_names(fresh)
    return fresh


class Counting:
    """Counts the commands a gateway client sends while active."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.sent = 0
        self._send = client.send_command

    def __enter__(self) -> Counting:
        def send(*args: Any, **kwargs: Any) -> Any:
            self.sent += 1
            return self._send(*args, **kwargs)

        self.client.send_command = send
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.send_command = self._send


def test_a_class_and_its_static_method_are_asked_once(view: Any) -> None:
    with Counting(view._gateway_client) as counted:
        col = view.functions.col  # the class, then the method: two questions
        asked = counted.sent
        again = view.functions.col  # none
    assert (asked, counted.sent) == (2, 2)
    assert again is col
    assert col("a").toString() == "a"


def test_packages_and_their_classes_are_remembered(view: Any) -> None:
    with Counting(view._gateway_client) as counted:
        parse = view.java.lang.Integer.parseInt
        asked = counted.sent
        assert view.java.lang.Integer.parseInt is parse
    assert asked == 4  # java, java.lang, java.lang.Integer, parseInt
    assert counted.sent == asked
    assert parse("42") == 42


def test_static_fields_are_read_each_time(view: Any) -> None:
    integer = view.java.lang.Integer
    with Counting(view._gateway_client) as counted:
        assert integer.MAX_VALUE == 2**31 - 1
        assert integer.MAX_VALUE == 2**31 - 1
    assert counted.sent == 2  # the field's value, asked again


def test_an_unknown_name_still_fails_every_time(view: Any) -> None:
    for _ in range(2):
        with pytest.raises(Py4JError):
            view.functions.no_such_function_here("a")


def test_the_sessions_view_remembers_and_pyspark_still_works(spark: SparkSession) -> None:
    view = spark.sparkContext._jvm
    assert isinstance(view, JVMView)
    assert type(view) is not JVMView
    remember_names(view)  # idempotent
    df = spark.createDataFrame([(1, None), (2, "x")], "a int, b string")
    out = df.select(F.when(F.col("b").isNull(), F.lit("none")).otherwise(F.col("b")).alias("c"))
    assert [r.c for r in out.orderBy("a").collect()] == ["none", "x"]
