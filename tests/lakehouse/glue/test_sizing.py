"""Spark sized to the machine and the lake: the rules, the overrides, the measured inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lakehouse.config import Settings
from lakehouse.errors import ConfigError
from lakehouse.glue.runner import default_arguments, spark_sizing
from lakehouse.glue.sizing import GIB, MIB, Machine, local_cores, measure, size_spark
from lakehouse.storage import LocalStorage


def test_a_small_lake_on_a_roomy_machine() -> None:
    sized = size_spark(Machine(available_bytes=20 * GIB, cores=2, data_bytes=40 * MIB))
    # 2 GiB before any data, and 4 x the bronze bytes.
    assert sized.driver_memory_mib == 2048 + 160
    assert sized.driver_memory == "2208m"
    # 5 x 40 MiB inflated / 64 MiB = 4 partitions, which is also twice the cores.
    assert sized.shuffle_partitions == 4
    # A quarter of each core's share of (heap - 300 MiB) * 0.6 is 143 MiB: Spark's 128 MiB.
    assert sized.max_partition_bytes == 128 * MIB
    assert "20.0 GiB available, 2 core(s), 40 MiB of bronze" in sized.basis


def test_a_large_lake_is_capped_by_the_memory_available() -> None:
    sized = size_spark(Machine(available_bytes=4 * GIB, cores=2, data_bytes=1 * GIB))
    assert sized.driver_memory_mib == 2048  # half of what is available, not 6 GiB
    assert sized.shuffle_partitions == 80  # 5 GiB inflated / 64 MiB
    assert sized.max_partition_bytes == 128 * MIB  # never above Spark's default


def test_the_heap_is_bounded_per_core_whatever_the_size_of_the_lake() -> None:
    # Scale 10 (~600 MiB of bronze) and scale 30 (~1.8 GiB) on a roomy 2-core machine: the
    # same 1.5 GiB per core, so a larger lake cannot grow the peak memory with it.
    for data in (600 * MIB, 1800 * MIB, 100 * GIB):
        sized = size_spark(Machine(available_bytes=20 * GIB, cores=2, data_bytes=data))
        assert sized.driver_memory_mib == 3072
        assert sized.slice_bytes == 3072 * MIB // 16
    # Just below the bound the heap still follows the data: 2 GiB + 4 x 200 MiB.
    below = size_spark(Machine(available_bytes=20 * GIB, cores=2, data_bytes=200 * MIB))
    assert below.driver_memory_mib == 2048 + 800
    # More cores, a higher bound; still at most half of what is available.
    assert size_spark(Machine(20 * GIB, cores=4, data_bytes=10 * GIB)).driver_memory_mib == 6144
    assert size_spark(Machine(8 * GIB, cores=16, data_bytes=10 * GIB)).driver_memory_mib == 4096
    # The shuffle partitions still follow the data: more, smaller tasks in the same heap.
    small = size_spark(Machine(available_bytes=20 * GIB, cores=2, data_bytes=600 * MIB))
    large = size_spark(Machine(available_bytes=20 * GIB, cores=2, data_bytes=1800 * MIB))
    assert (small.shuffle_partitions, large.shuffle_partitions) == (47, 141)


def test_a_machine_short_of_memory_still_gets_the_minimum_heap() -> None:
    sized = size_spark(Machine(available_bytes=1 * GIB, cores=8, data_bytes=0))
    assert sized.driver_memory_mib == 1024
    assert sized.shuffle_partitions == 16  # twice the cores
    assert sized.max_partition_bytes == 16 * MIB  # the floor


def test_settings_override_each_value() -> None:
    machine = Machine(available_bytes=20 * GIB, cores=2, data_bytes=40 * MIB)
    sized = size_spark(
        machine, driver_memory_mib=512, shuffle_partitions=7, max_partition_bytes=32 * MIB
    )
    assert (sized.driver_memory_mib, sized.shuffle_partitions, sized.max_partition_bytes) == (
        512,
        7,
        32 * MIB,
    )
    # Only the memory given: the split follows from it.
    sized = size_spark(machine, driver_memory_mib=1024)
    assert sized.max_partition_bytes == int((1024 - 300) * MIB * 0.6 / 2 / 4)


def test_the_silver_slice_follows_the_heap_unless_set() -> None:
    machine = Machine(available_bytes=20 * GIB, cores=2, data_bytes=40 * MIB)
    # A sixteenth of the 2208 MiB heap: 138 MiB of compressed bronze per slice.
    assert size_spark(machine).slice_bytes == 2208 * MIB // 16
    assert size_spark(machine, driver_memory_mib=128).slice_bytes == 16 * MIB  # the floor
    assert size_spark(machine, slice_bytes=12345).slice_bytes == 12345


def test_the_slice_setting_reaches_silver_jobs_only() -> None:
    settings = Settings(silver_slice_bytes=4 * MIB)
    assert default_arguments(settings, "transform_events_bronze_to_silver")["--slice_bytes"] == (
        str(4 * MIB)
    )
    assert "--slice_bytes" not in default_arguments(settings, "create_gold_revenue_daily")
    with pytest.raises(ConfigError):
        Settings(silver_slice_bytes=0)


def test_cores_of_a_local_master() -> None:
    assert local_cores("local[3]") == 3
    assert local_cores("local[*]") == os.cpu_count()
    assert local_cores("local") == os.cpu_count()


def test_sizing_measures_the_bronze_folder(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    bronze = lake / "bronze" / "dms" / "public" / "orders"
    bronze.mkdir(parents=True)
    (bronze / "LOAD00000001.csv.gz").write_bytes(b"x" * (3 * MIB))
    (lake / "silver").mkdir()
    (lake / "silver" / "big.parquet").write_bytes(b"x" * (5 * MIB))  # not bronze: not counted
    assert measure(LocalStorage(lake / "bronze"), "local[2]").data_bytes == 3 * MIB
    assert measure(LocalStorage(lake / "bronze"), "local[2]").cores == 2

    settings = Settings(lake=str(lake), spark_master="local[2]")
    assert spark_sizing(settings).shuffle_partitions == 4
    settings = Settings(
        lake=str(lake),
        spark_master="local[2]",
        spark_driver_memory="3g",
        spark_shuffle_partitions=9,
        spark_max_partition_bytes=64 * MIB,
    )
    sized = spark_sizing(settings)
    assert (sized.driver_memory, sized.shuffle_partitions, sized.max_partition_bytes) == (
        "3072m",
        9,
        64 * MIB,
    )
    assert Settings(spark_driver_memory="1536m").spark_driver_memory == "1536m"


@pytest.mark.parametrize("bad", ["lots", "4", "4gb", "-1g", "4 g"])
def test_a_driver_memory_spark_would_misread_is_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"spark_driver_memory|SPARK_DRIVER_MEMORY"):
        Settings(spark_driver_memory=bad)
