"""Warming a pipeline daemon's Spark up before its first client, on a scratch copy of a sample.

A daemon's first run costs more than a new process's (``glue-scripts/README.md``): the JVM's
planner, Iceberg's commit path and the generated code of every job all compile during it. The
warm-up does that work before a client waits for it: it runs the real pipeline, in the daemon's
session, on a scratch lake made from the first records of the lake's own bronze files, so every
job meets the same schemas, the same declarations and the same code paths (an initial build,
then an incremental run of merges, history and gold) as the client's runs will.

It never writes the lake: the scratch lake is a folder of its own in the daemon's state
directory (private, removed after), with its own Iceberg catalog and its own writer lock, and
nothing of the lake is read but the head of one or two bronze files per entity
(:meth:`lakehouse.storage.Storage.read_head`: a ranged GET on S3). What it learns is only what
the JVM keeps: compiled code and the cache of generated classes.
"""

from __future__ import annotations

import csv
import gzip
import shutil
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse_glue.model import BronzeContract, load_bronze_contract, load_declaration
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.pipeline.run import run_pipeline
from lakehouse.storage import open_storage

#: Records taken from the head of each sampled bronze file.
WARM_ROWS = 200
#: Bytes read from the head of a bronze file for its sample (gzip: a few thousand records).
HEAD_BYTES = 256 * 1024
#: The scratch folder's name in the state directory.
SCRATCH = "daemon-warm-up"


@dataclass
class WarmUp:
    """What a warm-up did: its seconds, the jobs it ran, and those that failed (on the
    sample; a failure there is logged, never the lake's)."""

    seconds: float = 0.0
    jobs: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: str | None = None


def head_records(head: bytes, rows: int, contract: BronzeContract, *, whole: bool) -> bytes:
    """The header and the first ``rows`` records of a gzip CSV file of which ``head`` is the
    first bytes, exactly as written (a quoted field may hold line breaks: records are cut
    where the CSV reader ends one, never inside). When ``head`` is not the ``whole`` file the
    last record it holds may be cut, so it is left out.
    """
    text = zlib.decompressobj(wbits=31).decompress(head).decode("utf-8", errors="replace")
    lines = _lines(text, contract.csv_row_delimiter)
    reader = csv.reader(
        iter(lines), delimiter=contract.csv_delimiter, quotechar='"', doublequote=True
    )
    ends: list[int] = []  # the line after each record (the header is record 0)
    try:
        for _ in reader:
            ends.append(reader.line_num)
            if len(ends) > rows + 1:
                break
    except csv.Error:  # not RFC 4180 from here on: the records before it are the sample
        whole = True
    if not whole or len(ends) > rows + 1:
        ends = ends[: rows + 1] if len(ends) > rows + 1 else ends[:-1]
    ends = ends if len(ends) > 1 else []  # the header alone is no sample
    return "".join(lines[: ends[-1]]).encode("utf-8") if ends else b""


def _lines(text: str, delimiter: str) -> list[str]:
    """``text`` split after each row delimiter, the delimiters kept (only the contract's own:
    a carriage return inside a field is data)."""
    parts = text.split(delimiter)
    lines = [part + delimiter for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _samples(settings: Settings, rows: int) -> Iterator[tuple[str, str, bytes, bool]]:
    """``(table folder, file name, sample, is a full-load file)`` for the first full-load file
    and the newest change file of each entity of the lake's bronze."""
    contract = load_bronze_contract()
    storage = open_storage(settings.bronze_uri)
    for entity in load_declaration().entities:
        folder = contract.table_folder(entity.schema, entity.name)
        names = [n for n in storage.list_files(folder) if n.endswith(contract.file_suffix)]
        loads = [n for n in names if contract.is_full_load_file(n)]
        changes = [n for n in names if not contract.is_full_load_file(n)]
        for name, is_load in ((loads[:1], True), (changes[-1:], False)):
            for file_name in name:
                head = storage.read_head(f"{folder}/{file_name}", HEAD_BYTES)
                sample = head_records(head, rows, contract, whole=len(head) < HEAD_BYTES)
                if sample:
                    yield folder, file_name, gzip.compress(sample), is_load


def scratch_settings(settings: Settings, folder: Path) -> Settings:
    """The settings of the scratch lake in ``folder``: everything of ``settings`` but where
    the lake and the state are, and no metrics sent anywhere."""
    return settings.replace(
        lake=str(folder / "lake"), state_dir=folder / "state", metrics_cloudwatch=False
    )


def warm_up(
    settings: Settings,
    spark: SparkSession,
    *,
    rows: int = WARM_ROWS,
    log: Callable[[str], None] = lambda _: None,
) -> WarmUp:
    """Run the pipeline twice on a scratch sample of ``settings``' bronze, in ``spark``: an
    initial build from the full-load samples, then an incremental run of the change samples.

    The scratch folder (``<state dir>/daemon-warm-up``) is removed before and after.
    """
    started = time.perf_counter()
    folder = settings.state_dir.resolve() / SCRATCH
    _clear(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=0o700)  # not there: _clear removed it (a link, not where it led)
    try:
        samples = list(_samples(settings, rows))
        if not any(is_load for *_, is_load in samples):
            return WarmUp(skipped="the lake's bronze has no full-load file yet")
        scratch = scratch_settings(settings, folder)
        bronze = Path(scratch.bronze_uri)
        result = WarmUp()
        for loads in (True, False):
            wrote = False
            for table, name, data, is_load in samples:
                if is_load == loads:
                    (bronze / table).mkdir(parents=True, exist_ok=True)
                    (bronze / table / name).write_bytes(data)
                    wrote = True
            if not wrote:
                continue
            res = run_pipeline(scratch, spark=spark)
            result.jobs += len(res.runs)
            result.failed += [run.job_name for run in res.failed]
            log(
                f"warm-up: {'initial build' if loads else 'incremental run'} of the sample, "
                f"{len(res.runs)} job(s) in {res.seconds:.1f} s"
            )
        result.seconds = round(time.perf_counter() - started, 3)
        return result
    finally:
        _clear(folder)


def _clear(folder: Path) -> None:
    """Remove the scratch folder; a symbolic link there is removed itself, never followed."""
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)


__all__ = ["WARM_ROWS", "WarmUp", "head_records", "scratch_settings", "warm_up"]
