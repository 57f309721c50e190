"""Helpers to run Django in a subprocess: its settings are process-global, and the rest of the
suite must not inherit them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from lakehouse.paths import DJANGO_DIR


def run_manage(
    dsn: str, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` with the test settings against ``dsn`` (``env``: more variables)."""
    proc = subprocess.run(
        [sys.executable, str(DJANGO_DIR / "manage.py"), *args],
        env={
            **os.environ,
            "DATABASE_URL": dsn,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            **(env or {}),
        },
        cwd=DJANGO_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def django_json(dsn: str, code: str, env: dict[str, str] | None = None) -> Any:
    """Run ``code`` in ``manage.py shell``; it must print one JSON document."""
    out = run_manage(dsn, "shell", "--no-imports", "-c", code, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])
