"""Folders of the monorepo that the local runtime uses as they are (scripts, SQL, the app)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DJANGO_DIR = REPO_ROOT / "django-backend"
GLUE_SCRIPTS_DIR = REPO_ROOT / "glue-scripts"
ATHENA_QUERIES_DIR = REPO_ROOT / "athena-queries"
TERRAFORM_DIR = REPO_ROOT / "terraform-infra"


def job_scripts(scripts_dir: Path = GLUE_SCRIPTS_DIR) -> dict[str, Path]:
    """Job name -> script, for every Glue job script: the top-level ``*.py`` files of
    ``scripts_dir``, by name, except private modules (``_*.py``). Glue names a job after its
    script, locally and in Terraform (``athena-queries/ddl/catalog.json``)."""
    return {
        p.stem: p
        for p in sorted(scripts_dir.glob("*.py"))
        if p.is_file() and not p.name.startswith("_")
    }
