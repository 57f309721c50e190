"""Create or update the source schema by running the Django migrations."""

from __future__ import annotations

import os
import subprocess
import sys

from lakehouse.errors import LakehouseError
from lakehouse.paths import DJANGO_DIR


def migrate(dsn: str) -> None:
    """Apply the Django migrations of ``django-backend/`` to the database at ``dsn``."""
    proc = subprocess.run(
        [sys.executable, str(DJANGO_DIR / "manage.py"), "migrate", "--noinput", "-v", "0"],
        env={**os.environ, "DATABASE_URL": dsn},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise LakehouseError(f"Django migrations failed:\n{proc.stderr.strip()}")
