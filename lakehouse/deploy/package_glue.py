"""Build the Glue artifacts Terraform uploads: the job scripts and ``lakehouse_glue.zip``.

The output folder (``dist/glue/`` by default) holds exactly one ``<job>.py`` per script in
``glue-scripts/`` (stale copies are removed, so Terraform's ``fileset()`` sees the same jobs as
the source tree), the shared library as a zip for ``--extra-py-files``, declarations JSON
included, and ``lakehouse_lock.zip``: the lake's writer lock (:mod:`lakehouse.storage.lock`
and the two modules it imports), which the single job ``run_pipeline`` holds while it writes, so
that it and ``lakehouse pipeline run`` share one implementation of the lock. The zips are
reproducible: sorted entries, fixed timestamps and permissions, so the same sources give the
same bytes and Terraform re-uploads only what changed.

Run it as ``python -m lakehouse.deploy.package_glue [--out DIR]`` (``make package-glue``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lakehouse.errors import LakehouseError
from lakehouse.paths import GLUE_SCRIPTS_DIR, REPO_ROOT, job_scripts

LIBRARY_PACKAGE = "lakehouse_glue"
LIBRARY_ZIP = f"{LIBRARY_PACKAGE}.zip"
LOCK_ZIP = "lakehouse_lock.zip"
#: The pinned modules the lock needs beyond Glue 5's own, as ``--additional-python-modules``
#: takes them (comma-separated). Glue 5.0 ships boto3 1.34, older than S3's conditional writes
#: (``IfNoneMatch``/``IfMatch``), and no psutil
#: (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-python-libraries.html).
LOCK_REQUIREMENTS = "lakehouse_lock.requirements"
LOCK_DEPENDENCIES = ("boto3", "botocore", "psutil")
CONSTRAINTS = REPO_ROOT / "requirements" / "constraints.txt"
#: The writer lock and what it imports, relative to the repository root; nothing else of the
#: ``lakehouse`` package (its CLI, DuckDB, PostgreSQL) goes to Glue. Its other dependencies,
#: boto3 and psutil, are installed by the job (``--additional-python-modules``).
LOCK_MODULES = (
    "lakehouse/__init__.py",
    "lakehouse/errors.py",
    "lakehouse/storage/__init__.py",
    "lakehouse/storage/lock.py",
)
MANIFEST = "manifest.json"
DEFAULT_OUT = REPO_ROOT / "dist" / "glue"
# The earliest time a zip entry can carry; any fixed value makes the archive reproducible.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_PARTS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


@dataclass(frozen=True)
class GlueArtifacts:
    """What :func:`build` wrote."""

    out_dir: Path
    scripts: tuple[str, ...]
    library: Path
    sha256: dict[str, str]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _library_files(library_dir: Path) -> list[Path]:
    files = [
        p
        for p in library_dir.rglob("*")
        if p.is_file()
        and not (_SKIP_PARTS & set(p.relative_to(library_dir).parts))
        and p.suffix not in _SKIP_SUFFIXES
    ]
    return sorted(files, key=lambda p: p.relative_to(library_dir).as_posix())


def _write_zip(members: list[tuple[str, Path]], target: Path) -> None:
    """Write ``(name in the archive, file)`` pairs, in order, with fixed times and modes."""
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for arcname, path in members:
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    tmp.replace(target)


def write_library_zip(library_dir: Path, target: Path) -> None:
    """Zip the library package so that ``import lakehouse_glue`` works from the archive root."""
    if not (library_dir / "__init__.py").is_file():
        raise LakehouseError(
            f"{library_dir} is not a Python package (no __init__.py); point --scripts at the "
            "glue-scripts folder that contains lakehouse_glue/"
        )
    _write_zip(
        [
            (f"{LIBRARY_PACKAGE}/{path.relative_to(library_dir).as_posix()}", path)
            for path in _library_files(library_dir)
        ],
        target,
    )


def lock_requirements(constraints: Path = CONSTRAINTS) -> str:
    """``name==version`` of each of :data:`LOCK_DEPENDENCIES`, from the project's constraints."""
    pins = dict(
        line.split("==", 1)
        for line in constraints.read_text("utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    )
    missing = [name for name in LOCK_DEPENDENCIES if name not in pins]
    if missing:
        raise LakehouseError(
            f"{constraints} pins no {', '.join(missing)}: refresh it with `make lock`"
        )
    return ",".join(f"{name}=={pins[name].strip()}" for name in LOCK_DEPENDENCIES)


def write_lock_zip(target: Path) -> None:
    """Zip the writer lock so that ``import lakehouse.storage.lock`` works from the archive."""
    _write_zip([(name, REPO_ROOT / name) for name in LOCK_MODULES], target)


def build(scripts_dir: Path = GLUE_SCRIPTS_DIR, out_dir: Path = DEFAULT_OUT) -> GlueArtifacts:
    """Write the scripts, the library zip and a manifest of their SHA-256 into ``out_dir``."""
    if not scripts_dir.is_dir():
        raise LakehouseError(f"Glue scripts folder {scripts_dir} does not exist")
    out_dir.mkdir(parents=True, exist_ok=True)
    scripts = list(job_scripts(scripts_dir).values())
    wanted = {p.name for p in scripts}
    # A script deleted from the source must not live on as a Glue job.
    for stale in out_dir.glob("*.py"):
        if stale.name not in wanted:
            stale.unlink()
    for script in scripts:
        target = out_dir / script.name
        if not target.exists() or target.read_bytes() != script.read_bytes():
            shutil.copyfile(script, target)
    library = out_dir / LIBRARY_ZIP
    write_library_zip(scripts_dir / LIBRARY_PACKAGE, library)
    write_lock_zip(out_dir / LOCK_ZIP)
    (out_dir / LOCK_REQUIREMENTS).write_text(lock_requirements() + "\n", "utf-8")
    digests = {
        name: _sha256(out_dir / name)
        for name in sorted(wanted | {LIBRARY_ZIP, LOCK_ZIP, LOCK_REQUIREMENTS})
    }
    (out_dir / MANIFEST).write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n", "utf-8")
    return GlueArtifacts(
        out_dir=out_dir,
        scripts=tuple(sorted(p.stem for p in scripts)),
        library=library,
        sha256=digests,
    )


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (``make package-glue``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scripts", type=Path, default=GLUE_SCRIPTS_DIR, help="glue-scripts/")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    try:
        result = build(args.scripts, args.out)
    except LakehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(
        f"{len(result.scripts)} job scripts, {LIBRARY_ZIP} "
        f"({result.library.stat().st_size} bytes) and {LOCK_ZIP} in {result.out_dir}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
