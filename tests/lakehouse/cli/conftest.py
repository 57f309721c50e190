"""The Athena tests' lake fixture (see tests/athena_queries/lake.py)."""

from tests.athena_queries.lake import athena_lake

__all__ = ["athena_lake"]
