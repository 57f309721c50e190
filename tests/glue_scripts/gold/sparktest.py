"""Kept for tests written against its old place: ``tests.support.spark`` is the home."""

from tests.support.spark import assertDataFrameEqual

__all__ = ["assertDataFrameEqual"]
