"""``Job``: init and commit, with job bookmarks kept as JSON under the local state folder.

A bookmark holds, per ``transformation_ctx``, the files a bookmarked source has handed out
(URI -> modification time). ``Job.init`` loads it, sources record what they read, and only
``Job.commit`` makes that durable: a run that fails before the commit is retried in full.
``job-bookmark-disable`` reads everything and records nothing; ``job-bookmark-pause`` reads
only new files but does not move the bookmark.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from lakehouse_glue import fs

from awsglue import _local


class Bookmarks:
    """Committed and pending bookmark state of one job."""

    def __init__(self, job_name: str, option: str, committed: dict[str, dict[str, int]]) -> None:
        self.job_name = job_name
        self.option = option
        self.committed = committed
        self.pending: dict[str, dict[str, int]] = {}

    @property
    def filters(self) -> bool:
        return self.option in ("job-bookmark-enable", "job-bookmark-pause")

    def seen(self, ctx: str) -> dict[str, int]:
        return self.committed.get(ctx, {})

    def record(self, ctx: str, files: dict[str, int]) -> None:
        self.pending.setdefault(ctx, {}).update(files)


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
        committed: dict[str, dict[str, int]] = {}
        if option != "job-bookmark-disable":
            text = fs.read_text(self._glue_context.spark_session, path)
            if text:
                committed = json.loads(text).get("sources", {})
        self._bookmarks = Bookmarks(job_name, option, committed)
        self._glue_context._bookmarks = self._bookmarks

    def commit(self) -> None:
        """Make what the sources read durable (only when bookmarks are enabled)."""
        if self._bookmarks is None:
            raise RuntimeError("Job.commit() called before Job.init()")
        b = self._bookmarks
        if b.option == "job-bookmark-enable" and b.pending:
            sources = {ctx: dict(files) for ctx, files in b.committed.items()}
            for ctx, files in b.pending.items():
                sources.setdefault(ctx, {}).update(files)
            doc = {
                "job_name": b.job_name,
                "committed_at": datetime.now(UTC).isoformat(),
                "sources": sources,
            }
            fs.write_text(
                self._glue_context.spark_session,
                bookmark_path(b.job_name),
                json.dumps(doc, indent=1, sort_keys=True),
            )
            b.committed, b.pending = sources, {}
        self._glue_context._bookmarks = None
