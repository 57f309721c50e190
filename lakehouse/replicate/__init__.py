"""The local DMS: PostgreSQL logical replication (pgoutput) into DMS-compatible bronze files.

``run_once`` is what the pipeline and the tests call; ``lakehouse replicate`` is the CLI.
See ``README.md`` beside this file for where the local replicator chooses what DMS leaves
undocumented.
"""

from lakehouse.replicate.replicator import (
    ReplicationOptions,
    Replicator,
    RunSummary,
    run_once,
)
from lakehouse.replicate.source import ReplicationError

__all__ = ["ReplicationError", "ReplicationOptions", "Replicator", "RunSummary", "run_once"]
