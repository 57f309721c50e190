"""Create or update the source schema by running the Django migrations."""

from __future__ import annotations

import os
import subprocess
import sys

from lakehouse.config import get_settings
from lakehouse.errors import LakehouseError
from lakehouse.paths import DJANGO_DIR


def migrate(dsn: str, *, publication: str | None = None) -> None:
    """Apply the Django migrations of ``django-backend/`` to the database at ``dsn``.

    Django runs in a subprocess because its settings are process-global. The publication name
    (``LAKEHOUSE_PUBLICATION``) and the role names are handed over so that the migrations create
    the publication the replicator will read and grant to the roles that exist, even when they
    were configured only in ``.env``. ``dsn`` should be the owner's: the migrations grant the
    other roles their privileges on the owner's tables.
    """
    settings = get_settings()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "LAKEHOUSE_PUBLICATION": publication or settings.publication,
        "LAKEHOUSE_APP_ROLE": settings.app_role,
        "LAKEHOUSE_MAINTENANCE_ROLE": settings.maintenance_role,
        "LAKEHOUSE_REPLICATOR_ROLE": settings.replicator_role,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    proc = subprocess.run(
        [sys.executable, str(DJANGO_DIR / "manage.py"), "migrate", "--noinput", "-v", "0"],
        env=env,
        cwd=DJANGO_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise LakehouseError(
            f"Django migrations failed for the database in DATABASE_URL:\n{proc.stderr.strip()}"
        )
