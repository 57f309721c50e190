"""The engine's cache folders stay bounded: the least recently used entries go first, and only
the cache's own entries are ever removed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lakehouse.athena import cache_files

TEMP = ".entry-"


def _entry(folder: Path, name: str, age_seconds: float) -> Path:
    path = folder / f"{name}.json"
    path.write_text("{}")
    when = 1_700_000_000 - age_seconds
    os.utime(path, (when, when))
    return path


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_a_folder_over_its_bound_keeps_the_most_recently_used(tmp_path: Path) -> None:
    entries = [_entry(tmp_path, f"e{i:02}", age_seconds=100 - i) for i in range(9)]  # e08 newest
    cache_files.touch(entries[0])  # the oldest entry is read now: it is the newest
    assert cache_files.cap(tmp_path, TEMP, max_entries=8) == 3  # 9 -> 6 (three quarters of 8)
    assert _names(tmp_path) == {f"e{i:02}.json" for i in (0, 4, 5, 6, 7, 8)}


def test_a_folder_within_its_bound_is_left_alone(tmp_path: Path) -> None:
    for i in range(8):
        _entry(tmp_path, f"e{i}", age_seconds=i)
    assert cache_files.cap(tmp_path, TEMP, max_entries=8) == 0
    assert len(_names(tmp_path)) == 8
    assert cache_files.cap(tmp_path / "missing", TEMP, max_entries=8) == 0


def test_only_the_caches_own_entries_count_and_go(tmp_path: Path) -> None:
    for i in range(3):
        _entry(tmp_path, f"e{i}", age_seconds=10 + i)
    # Older than every entry, yet not entries: a write in progress, another file, a folder, and
    # a link to a file outside the cache (never followed, never removed).
    (tmp_path / f"{TEMP}abc.tmp").write_text("{")
    os.utime(tmp_path / f"{TEMP}abc.tmp", (1, 1))
    (tmp_path / "notes.txt").write_text("keep")
    (tmp_path / "sub.json").mkdir()
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    outside.write_text("{}")
    (tmp_path / "link.json").symlink_to(outside)
    assert cache_files.cap(tmp_path, TEMP, max_entries=2) == 2  # 3 entries > 2: down to 1
    assert _names(tmp_path) == {"e0.json", f"{TEMP}abc.tmp", "notes.txt", "sub.json", "link.json"}
    assert outside.read_text() == "{}"


def test_the_size_is_looked_at_on_the_first_write_and_then_every_few(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_files, "CHECK_EVERY", 4)
    monkeypatch.setattr(cache_files, "_writes", {})
    removed = []
    for i in range(10):
        _entry(tmp_path, f"e{i:02}", age_seconds=100 - i)
        removed.append(cache_files.after_write(tmp_path, TEMP, max_entries=2))
    # Writes 1, 5 and 9 look: 1 entry (within), 5 -> 1, then 5 again -> 1.
    assert removed == [0, 0, 0, 0, 4, 0, 0, 0, 4, 0]
    assert _names(tmp_path) == {"e08.json", "e09.json"}


def test_a_bound_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_entries must be at least 1"):
        cache_files.cap(tmp_path, TEMP, max_entries=0)


def test_an_entry_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    folder = tmp_path / "plans"
    cache_files.write_entry(folder / "a.json", {"rows": [1, 2]}, TEMP, max_entries=8)
    assert (folder / "a.json").read_text() == '{"rows": [1, 2]}'
    # A document that cannot be written (not JSON) fails and leaves nothing, not even its
    # temporary file; the entry written before is untouched.
    with pytest.raises(TypeError):
        cache_files.write_entry(folder / "b.json", {"rows": {1, 2}}, TEMP, max_entries=8)
    assert _names(folder) == {"a.json"}
    # Replaced whole.
    cache_files.write_entry(folder / "a.json", {"rows": []}, TEMP, max_entries=8)
    assert (folder / "a.json").read_text() == '{"rows": []}'
    assert _names(folder) == {"a.json"}
