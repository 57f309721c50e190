"""Which pipeline runs count as short (and get the quick-start JVM)."""

from __future__ import annotations

from pathlib import Path

from lakehouse.config import Settings
from lakehouse.pipeline.run import is_short_run


def test_only_an_incremental_run_over_existing_silver_is_short(tmp_path: Path) -> None:
    settings = Settings(lake=str(tmp_path / "lake"))
    # No lake yet, then bronze only: the first run reads every full-load file.
    assert not is_short_run(settings, full_refresh=False)
    (tmp_path / "lake" / "bronze" / "dms").mkdir(parents=True)
    assert not is_short_run(settings, full_refresh=False)
    (tmp_path / "lake" / "silver" / "orders").mkdir(parents=True)
    assert is_short_run(settings, full_refresh=False)
    assert not is_short_run(settings, full_refresh=True)
