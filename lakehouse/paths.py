"""Folders of the monorepo that the local runtime uses as they are (scripts, SQL, the app)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DJANGO_DIR = REPO_ROOT / "django-backend"
GLUE_SCRIPTS_DIR = REPO_ROOT / "glue-scripts"
ATHENA_QUERIES_DIR = REPO_ROOT / "athena-queries"
TERRAFORM_DIR = REPO_ROOT / "terraform-infra"
