"""``pipeline watch``: one micro-batch replicates the source and processes it to silver."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.pipeline.watch import Batch, watch
from lakehouse.source.seed import seed
from tests.support.lake import (
    drop_slot,
    entities,
    lake_settings,
    silver_frame,
    source_frame,
)
from tests.support.spark import assert_frames_equal

pytestmark = pytest.mark.slow


def test_one_micro_batch_brings_silver_to_the_source(
    spark: SparkSession, make_source_db: Callable[[], str], tmp_path: Path
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.005, seed=3, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    seen: list[Batch] = []
    try:
        batches = watch(settings, interval=0, spark=spark, max_batches=1, on_batch=seen.append)
    finally:
        drop_slot(dsn, settings.slot_name)
    assert [b.number for b in batches] == [1]
    assert seen == batches
    assert not batches[0].result.failed
    for entity in entities():
        assert_frames_equal(
            silver_frame(spark, settings, entity),
            source_frame(spark, dsn, entity),
        )
