"""The settings resolve and are checked exactly as pydantic-settings does the same fields.

The oracle is a pydantic-settings ``BaseSettings`` model with :class:`Settings`'s fields (their
types, defaults, variables and bounds) and the configuration the project used when its settings
were a pydantic model (``.env``, UTF-8, extra variables ignored, fields by name or by variable):
every scenario must give the same values, or the same errors (variable, error type, message).
"""

from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices, Field, ValidationError, create_model, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.config import Settings, SettingsError


class _Base(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
    )


def _field(spec: dataclasses.Field[Any], kind: Any) -> tuple[Any, Any]:
    rules = spec.metadata["rules"]
    return kind, Field(
        default=spec.default,
        validation_alias=AliasChoices(rules.variable),
        gt=rules.gt,
        ge=rules.ge,
        le=rules.le,
        pattern=rules.pattern,
        allow_inf_nan=False if rules.finite else None,
    )


def _lake_not_empty(cls: type, v: str) -> str:
    if not v.strip():
        raise ValueError("LAKEHOUSE_LAKE must be a folder or an s3://bucket/prefix URI")
    return v


_HINTS = typing.get_type_hints(Settings)
Oracle: type[BaseSettings] = create_model(  # type: ignore[call-overload]
    "Oracle",
    __base__=_Base,
    __validators__={"lake_not_empty": field_validator("lake")(classmethod(_lake_not_empty))},
    **{f.name: _field(f, _HINTS[f.name]) for f in dataclasses.fields(Settings)},
)

SCENARIOS: dict[str, tuple[dict[str, str], str | None, dict[str, Any]]] = {
    # name: (environment, .env text, arguments)
    "defaults": ({}, None, {}),
    "environment": (
        {"LAKEHOUSE_PG_PORT": "5555", "LAKEHOUSE_SPARK_VERBOSE": "true", "DATABASE_URL": ""},
        None,
        {},
    ),
    "any case": ({"lakehouse_pg_port": "5556", "Lakehouse_Athena_Engine": "athena"}, None, {}),
    "dotenv": (
        {},
        "LAKEHOUSE_PG_PORT=6000\nLAKEHOUSE_LAKE=/srv/lake\nNOT_A_SETTING=1\nDATABASE_URL\n",
        {},
    ),
    "environment over dotenv": (
        {"LAKEHOUSE_PG_PORT": "6001"},
        "LAKEHOUSE_PG_PORT=6000\nLAKEHOUSE_DB_NAME=from_dotenv\n",
        {},
    ),
    "arguments over both": (
        {"LAKEHOUSE_PG_PORT": "6001", "LAKEHOUSE_LAKE": "/env/lake"},
        "LAKEHOUSE_PG_PORT=6000\n",
        {"pg_port": 7000, "LAKEHOUSE_LAKE": "/arg/lake"},
    ),
    "no dotenv": ({}, "LAKEHOUSE_PG_PORT=6000\n", {"_env_file": None}),
    "optional numbers": (
        {"LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS": "8", "LAKEHOUSE_ICEBERG_JAR": "/opt/i.jar"},
        None,
        {},
    ),
    "bad port": ({"LAKEHOUSE_PG_PORT": "abc"}, None, {}),
    "bad values": (
        {
            "LAKEHOUSE_ATHENA_TIMEOUT": "-1",
            "LAKEHOUSE_ATHENA_ENGINE": "trino",
            "LAKEHOUSE_ATHENA_MEMORY_LIMIT": "lots",
            "LAKEHOUSE_CDC_MIN_FILE_SIZE_KB": "",
        },
        None,
        {},
    ),
    "bad dotenv value": ({}, "LAKEHOUSE_PIPELINE_WORKERS=0\n", {}),
    "texts as pydantic reads them": (
        {
            "LAKEHOUSE_PG_PORT": " 6_000 ",
            "LAKEHOUSE_PIPELINE_WORKERS": "2.0",
            "LAKEHOUSE_SPARK_VERBOSE": "YES",
            "LAKEHOUSE_METRICS_CLOUDWATCH": "off",
            "LAKEHOUSE_CDC_INTERVAL": "1e-1",
            "LAKEHOUSE_PG_BIN_DIR": "",
            "LAKEHOUSE_SPARK_DRIVER_MEMORY": "1536m",
            "LAKEHOUSE_ATHENA_MEMORY_LIMIT": " 1.5 GiB ",
        },
        None,
        {},
    ),
    "typed arguments": (
        {},
        None,
        {"pg_port": 7000.0, "state_dir": "/x", "cdc_interval_seconds": 2, "spark_verbose": 1},
    ),
    "bad texts": (
        {
            "LAKEHOUSE_ATHENA_TIMEOUT": "nan",
            "LAKEHOUSE_SNAPSHOT_RETENTION_DAYS": "0",
            "LAKEHOUSE_SPARK_VERBOSE": "maybe",
            "LAKEHOUSE_PIPELINE_WORKERS": "2.5",
            "LAKEHOUSE_LAKE": "  ",
            "LAKEHOUSE_SPARK_DRIVER_MEMORY": "4 g",
            "LAKEHOUSE_SPARK_MAX_PARTITION_BYTES": "1024",
            "LAKEHOUSE_CDC_INTERVAL": "61",
            "LAKEHOUSE_ATHENA_ENGINE": "LOCAL",
        },
        None,
        {},
    ),
    "bad arguments": ({}, None, {"lake": Path("x"), "silver_slice_bytes": 0, "pg_port": 1.5}),
}


def _resolve(arguments: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", Settings(**arguments).as_dict()
    except SettingsError as exc:
        return "invalid", exc.errors


def _oracle(arguments: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", Oracle(**arguments).model_dump()
    except ValidationError as exc:
        return "invalid", [(e["loc"], e["type"], e["msg"]) for e in exc.errors()]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_settings_resolve_as_pydantic_settings_does(
    scenario: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment, dotenv, arguments = SCENARIOS[scenario]
    for name in list(os.environ):
        if name.upper().startswith("LAKEHOUSE_") or name.upper() == "DATABASE_URL":
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv, encoding="utf-8")

    got = _resolve(arguments)
    assert got == _oracle(arguments)
    # The scenarios do what their names say (so that agreeing is not agreeing on nothing).
    if scenario.startswith("bad"):
        assert got[0] == "invalid"
    else:
        assert got[0] == "ok"
    if scenario == "arguments over both":
        assert (got[1]["pg_port"], got[1]["lake"]) == (7000, "/arg/lake")
    if scenario == "environment over dotenv":
        assert (got[1]["pg_port"], got[1]["db_name"]) == (6001, "from_dotenv")
    if scenario == "no dotenv":
        assert got[1]["pg_port"] == 55432
