"""The settings resolve exactly as pydantic-settings resolves the same fields.

The oracle is a pydantic-settings ``BaseSettings`` model with :class:`Settings`'s fields and the
configuration the project used before it read the environment itself (``.env``, UTF-8, extra
variables ignored, fields by name or by variable): every scenario must give the same values, or
the same validation errors.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from lakehouse.config import Settings


class _Base(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )


Oracle: type[BaseSettings] = create_model(  # type: ignore[call-overload]
    "Oracle",
    __base__=_Base,
    **{name: (info.annotation, info) for name, info in Settings.model_fields.items()},
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
}


def _resolve(model: type[Any], arguments: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", model(**arguments).model_dump()
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

    got = _resolve(Settings, arguments)
    assert got == _resolve(Oracle, arguments)
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
