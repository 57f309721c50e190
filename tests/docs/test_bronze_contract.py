"""docs/bronze-contract.md states the settings of bronze_contract.json, and only those."""

from __future__ import annotations

import json
import re
from pathlib import Path

import lakehouse_glue

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "bronze-contract.md"
CONTRACT = Path(lakehouse_glue.__file__).parent / "declarations" / "bronze_contract.json"
# Values the table words instead of printing them.
WORDED = {"csv_row_delimiter": "a line feed", "cdc_path": "none"}


def _rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| [A-Za-z0-9]+ \| `([a-z0-9_]+)` \| (.+) \|$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def _expected(value: object) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def test_every_endpoint_setting_is_in_the_table_with_its_value() -> None:
    contract = json.loads(CONTRACT.read_text(encoding="utf-8"))
    rows = _rows()
    # Every setting Terraform sends to the endpoint is documented, and nothing else is listed.
    assert set(contract["terraform"]) <= set(rows)
    assert set(rows) <= {k for k in contract if not k.startswith("$")}
    for key, cell in rows.items():
        value = contract[key]
        if key in WORDED:
            assert WORDED[key] in cell, (key, cell)
        elif isinstance(value, dict):
            assert f"{value['aws']} s on AWS" in cell
            assert f"{value['local']} s locally" in cell
        else:
            assert cell.startswith(_expected(value)), (key, cell, value)


def test_the_column_and_file_name_rules_match_the_contract() -> None:
    contract = json.loads(CONTRACT.read_text(encoding="utf-8"))
    text = DOC.read_text(encoding="utf-8")
    for key in ("op_column", "change_seq_column", "change_seq_expression", "timestamp_format"):
        assert f"`{contract[key]}`" in text, key
    assert f"{contract['change_seq_width']} decimal digits" in text
    first_load = f"{contract['full_load_file_prefix']}{1:0{contract['full_load_file_digits']}X}"
    assert f"`{first_load}{contract['file_suffix']}`" in text
    assert all(f"`{op}`" in text for op in contract["ops"].values())
