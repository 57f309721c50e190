"""``Job``: init and commit, with job bookmarks kept as JSON under the local state folder.

A bookmark holds, per ``transformation_ctx``, what Glue documents for S3 sources in "Tracking
processed data using job bookmarks", section "Tracking files using modification timestamps"
(https://docs.aws.amazon.com/glue/latest/dg/monitor-continuations.html#monitor-continuations-timestamps):
the high timestamp of the last run (the listing time, T1) and the files already handed out whose
modification time falls in the band ``(T1 - dt, T1]``, where ``dt`` is the ``maxBand`` connection
option (900 000 ms by default,
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-connect-s3-home.html). A run
listing at T2 hands out the files modified in ``(T1 - dt, T2]`` except those saved in the band;
a file whose modification time is at or before ``T1 - dt`` is never handed out again, even if it
appears only now (say, copied with its old time kept), and a file rewritten later is read again
(its modification time moved past T1). See :func:`select_new`.

``Job.init`` loads the bookmark, sources record their new state, and only ``Job.commit`` makes
it durable: a run that fails before the commit is retried in full. ``job-bookmark-disable``
reads everything and records nothing; ``job-bookmark-pause`` reads only new files but does not
move the bookmark.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lakehouse_glue import fs

from awsglue import _local

DEFAULT_MAX_BAND_MS = 900_000
"""Glue's default ``maxBand``: 15 minutes, in milliseconds."""


@dataclass(frozen=True)
class SourceState:
    """The bookmark of one S3 source: high timestamp and the files saved in its band."""

    high_ms: int
    band: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"high_ms": self.high_ms, "band": dict(sorted(self.band.items()))}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SourceState:
        if "high_ms" not in doc:
            # A bookmark written before the timestamp rule: URI -> modification time of every
            # file handed out. Its newest file is the best high timestamp it can give.
            files = {str(u): int(m) for u, m in doc.items()}
            return cls(max(files.values(), default=0), files)
        return cls(int(doc["high_ms"]), {str(u): int(m) for u, m in doc["band"].items()})


def select_new(
    listed: dict[str, int], state: SourceState | None, now_ms: int, max_band_ms: int
) -> tuple[dict[str, int], SourceState]:
    """The files a run listing at ``now_ms`` hands out, and the state it saves for the next run.

    ``listed`` maps URI -> modification time (ms). Without a state (first run, or after a
    reset) every file modified up to ``now_ms`` is new. Files modified after the listing time
    wait for a later run, as Glue's ranges end at the listing time.
    """
    low = None if state is None else state.high_ms - max_band_ms
    new = {
        u: m
        for u, m in listed.items()
        if m <= now_ms
        and (low is None or m > low)
        and not (state is not None and state.band.get(u) == m)
    }
    band = {u: m for u, m in listed.items() if now_ms - max_band_ms < m <= now_ms}
    return new, SourceState(now_ms, band)


class Bookmarks:
    """Committed and pending bookmark state of one job."""

    def __init__(self, job_name: str, option: str, committed: dict[str, SourceState]) -> None:
        self.job_name = job_name
        self.option = option
        self.committed = committed
        self.pending: dict[str, SourceState] = {}

    @property
    def filters(self) -> bool:
        return self.option in ("job-bookmark-enable", "job-bookmark-pause")

    def seen(self, ctx: str) -> SourceState | None:
        return self.committed.get(ctx)

    def record(self, ctx: str, state: SourceState) -> None:
        # A source read twice in one run (a retry) keeps the state of its last read.
        self.pending[ctx] = state


_JOB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")


def bookmark_path(job_name: str) -> str:
    """Where a job's bookmark lives; the name must not be able to leave the folder."""
    if not _JOB_NAME.fullmatch(job_name) or job_name in (".", ".."):
        raise ValueError(
            f"job name {job_name!r} is not usable: use letters, digits, '_', '-' or '.'"
        )
    return f"{_local.state_uri()}/bookmarks/{job_name}.json"


class Job:
    """A Glue job run: ``init`` before reading, ``commit`` after writing."""

    def __init__(self, glue_context: Any) -> None:
        self._glue_context = glue_context
        self._bookmarks: Bookmarks | None = None

    @staticmethod
    def continuation_options() -> list[str]:
        return [
            "--continuation-option",
            "continuation-enabled",
            "continuation-readonly",
            "continuation-ignore",
        ]

    @staticmethod
    def job_bookmark_options() -> list[str]:
        return [
            "--job-bookmark-option",
            "job-bookmark-enable",
            "job-bookmark-disable",
            "job-bookmark-pause",
        ]

    def init(self, job_name: str, args: dict[str, Any] | None = None) -> None:
        """Start the run: load the bookmark of ``job_name`` (Glue's default: disabled)."""
        option = str((args or {}).get("job_bookmark_option") or "job-bookmark-disable")
        path = bookmark_path(job_name)
        committed: dict[str, SourceState] = {}
        if option != "job-bookmark-disable":
            text = fs.read_text(self._glue_context.spark_session, path)
            if text:
                sources = json.loads(text).get("sources", {})
                committed = {ctx: SourceState.from_json(doc) for ctx, doc in sources.items()}
        self._bookmarks = Bookmarks(job_name, option, committed)
        self._glue_context._bookmarks = self._bookmarks

    def commit(self) -> None:
        """Make what the sources read durable (only when bookmarks are enabled)."""
        if self._bookmarks is None:
            raise RuntimeError("Job.commit() called before Job.init()")
        b = self._bookmarks
        if b.option == "job-bookmark-enable" and b.pending:
            sources = {**b.committed, **b.pending}
            doc = {
                "job_name": b.job_name,
                "committed_at": datetime.now(UTC).isoformat(),
                "sources": {ctx: st.to_json() for ctx, st in sorted(sources.items())},
            }
            fs.write_text(
                self._glue_context.spark_session,
                bookmark_path(b.job_name),
                json.dumps(doc, indent=1, sort_keys=True),
            )
            b.committed, b.pending = sources, {}
        self._glue_context._bookmarks = None
