"""The CLI starts light: ``lakehouse --help`` loads none of the heavy libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "pyspark",
    "duckdb",
    "psycopg",
    "psycopg2",
    "boto3",
    "botocore",
    "django",
    "sqlglot",
    "pyiceberg",
    "pyarrow",
    "numpy",
    "pandas",
    "pydantic_settings",
    "psutil",
    # Nor what every command used to load: the settings' and typer's pydantic, rich, typer.
    "pydantic",
    "rich",
    "typer",
)


def test_help_imports_no_heavy_library() -> None:
    probe = (
        "import sys, json\n"
        "from lakehouse.cli.main import app\n"
        "from click.testing import CliRunner\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "for group in ('db', 'pipeline', 'glue', 'replicate'):\n"
        "    assert CliRunner().invoke(app, [group, '--help']).exit_code == 0\n"
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=os.environ
    )
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_help_lists_every_command_and_completion() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in ("seed", "simulate", "replicate", "pipeline", "reconcile", "crawl", "athena"):
        assert f"  {command} " in out, out
    assert "--install-completion" in out


def test_an_invalid_setting_is_named_without_a_traceback_or_its_value(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LAKEHOUSE_LAKE": str(tmp_path / "lake"),
        "LAKEHOUSE_PG_PORT": "not-a-port",
        "LAKEHOUSE_ATHENA_TIMEOUT": "-1",
        # A DSN holds a password: the message names variables, never their values.
        "DATABASE_URL": "postgresql://app:s3cret-pw@127.0.0.1:1/saas",
    }
    out = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.main", "athena", "select 1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # no .env of the checkout
    )
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert "LAKEHOUSE_PG_PORT: Input should be a valid integer" in out.stderr
    assert "LAKEHOUSE_ATHENA_TIMEOUT: Input should be greater than 0" in out.stderr
    assert ".env.example" in out.stderr
    assert "s3cret-pw" not in out.stderr + out.stdout
