"""The quality report across a compaction: it names the compacted snapshot of a table it read
at the snapshot the compaction replaced, and nothing else."""

from __future__ import annotations

from typing import Any

from lakehouse_glue.publish import follow_compaction


def _report() -> dict[str, Any]:
    return {"rules_version": "v", "silver_snapshots": {"customers": 11, "orders": 21, "x": None}}


def test_a_table_read_at_the_replaced_snapshot_names_the_compacted_one() -> None:
    report = _report()
    assert follow_compaction(report, "customers", 11, 12)
    assert report["silver_snapshots"] == {"customers": 12, "orders": 21, "x": None}
    assert report["rules_version"] == "v"


def test_a_table_read_at_another_snapshot_or_not_read_is_left_alone() -> None:
    report = _report()
    # The report read customers before a later commit: its results are not the compacted rows'.
    assert not follow_compaction(report, "customers", 10, 12)
    assert not follow_compaction(report, "events", 31, 32)  # not in the report
    assert not follow_compaction(report, "x", None, 5)  # a table without a snapshot
    assert report == _report()
    assert not follow_compaction({}, "customers", 11, 12)
    assert not follow_compaction({"silver_snapshots": None}, "customers", 11, 12)
