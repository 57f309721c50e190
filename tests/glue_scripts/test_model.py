"""lakehouse_glue.model: the bronze contract's full-load file size is one DMS accepts; declared
types are read whole."""

from __future__ import annotations

import pytest
from lakehouse_glue.model import (
    DMS_MAX_FILE_SIZE_KB,
    Column,
    _check_type,
    check_full_load_max_file_size_kb,
    load_bronze_contract,
)


def test_the_contract_splits_full_loads_below_the_dms_default() -> None:
    # 64 MiB of CSV per LOAD file: a gzip file is read whole by one task, so a large table
    # must arrive as several files to be read on several cores.
    kb = load_bronze_contract().full_load_max_file_size_kb
    assert kb == 64 * 1024
    assert check_full_load_max_file_size_kb(kb) == kb


@pytest.mark.parametrize("value", [1, DMS_MAX_FILE_SIZE_KB])
def test_the_bounds_dms_accepts_are_accepted(value: int) -> None:
    assert check_full_load_max_file_size_kb(value) == value


@pytest.mark.parametrize("value", [0, -1, DMS_MAX_FILE_SIZE_KB + 1, 65536.5, "65536", True, None])
def test_a_size_dms_would_refuse_names_the_setting(value: object) -> None:
    with pytest.raises(ValueError, match=r"full_load_max_file_size_kb .* from 1 to 1048576"):
        check_full_load_max_file_size_kb(value)


def test_a_decimal_type_is_read_whole() -> None:
    assert _check_type("decimal(12,2)") == "decimal(12,2)"
    assert Column("p", "decimal(12,2)", nullable=True).decimal == (12, 2)
    # Python's "$" alone matches before a final line break.
    with pytest.raises(ValueError, match="unknown logical type"):
        _check_type("decimal(12,2)\n")
    assert Column("p", "decimal(12,2)\n", nullable=True).decimal is None
