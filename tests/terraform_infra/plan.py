"""Reading the offline Terraform plan: resources by type, and the names the plan uses."""

from __future__ import annotations

import json
from typing import Any

from lakehouse_glue.model import load_declaration

from lakehouse.paths import GLUE_SCRIPTS_DIR

NAME = "lakehouse-dev"  # default name_prefix and environment of the plan


# The catalog database of each layer: environment in the name, so environments share an account.
DB = {layer: f"lakehouse_dev_{layer}" for layer in ("bronze", "silver", "gold")}


GOLD_JSON = GLUE_SCRIPTS_DIR / "lakehouse_glue" / "declarations" / "gold.json"


# DMS takes the CSV delimiters as escape sequences; the contract holds the characters.
DMS_ESCAPES = {"\\n": "\n", "\\r": "\r", "\\t": "\t"}


def of_type(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["type"] == kind]


def one(resources: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = of_type(resources, kind)
    assert len(found) == 1, f"expected one {kind}, found {[r['address'] for r in found]}"
    values: dict[str, Any] = found[0]["values"]
    return values


def gold_mart_decls() -> list[dict[str, Any]]:
    marts: list[dict[str, Any]] = json.loads(GOLD_JSON.read_text("utf-8"))["marts"]
    return marts


def gold_marts() -> list[str]:
    return [m["name"] for m in gold_mart_decls()]


def expected_jobs() -> set[str]:
    """Every job the pipeline knows: 8 silver, one per gold mart, the quality report."""
    silver = {e.silver_job_name for e in load_declaration().entities}
    return silver | {f"create_gold_{m}" for m in gold_marts()} | {"publish_quality_report"}
