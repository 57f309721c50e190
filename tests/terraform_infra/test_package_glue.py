"""The Glue artifacts Terraform uploads: complete, importable and byte-for-byte reproducible."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from lakehouse.deploy.package_glue import (
    LIBRARY_ZIP,
    LOCK_MODULES,
    LOCK_REQUIREMENTS,
    LOCK_ZIP,
    MANIFEST,
    GlueArtifacts,
    build,
)
from lakehouse.paths import GLUE_SCRIPTS_DIR, REPO_ROOT, job_scripts

LIBRARY_DIR = GLUE_SCRIPTS_DIR / "lakehouse_glue"


def test_scripts_are_copied_exactly(glue_artifacts: GlueArtifacts) -> None:
    sources = list(job_scripts().values())
    assert glue_artifacts.scripts == tuple(sorted(p.stem for p in sources))
    assert sorted(p.name for p in glue_artifacts.out_dir.glob("*.py")) == [p.name for p in sources]
    for source in sources:
        assert (glue_artifacts.out_dir / source.name).read_bytes() == source.read_bytes()


def test_library_zip_holds_the_package_and_its_declarations(glue_artifacts: GlueArtifacts) -> None:
    with zipfile.ZipFile(glue_artifacts.library) as archive:
        names = archive.namelist()
        for name in ("entities.json", "bronze_contract.json", "gold.json"):
            member = f"lakehouse_glue/declarations/{name}"
            assert archive.read(member) == (LIBRARY_DIR / "declarations" / name).read_bytes()
        assert archive.read("lakehouse_glue/model.py") == (LIBRARY_DIR / "model.py").read_bytes()
        infos = archive.infolist()
    assert "lakehouse_glue/__init__.py" in names
    assert names == sorted(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    expected = sorted(
        f"lakehouse_glue/{p.relative_to(LIBRARY_DIR).as_posix()}"
        for p in LIBRARY_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    assert names == expected


def test_build_is_reproducible(tmp_path: Path) -> None:
    first = build(out_dir=tmp_path / "first")
    again = build(out_dir=tmp_path / "again")
    assert again.library.read_bytes() == first.library.read_bytes()
    assert again.sha256 == first.sha256
    manifest = json.loads((tmp_path / "again" / MANIFEST).read_text("utf-8"))
    assert manifest[LIBRARY_ZIP] == hashlib.sha256(again.library.read_bytes()).hexdigest()


def test_library_imports_from_the_zip_alone(glue_artifacts: GlueArtifacts) -> None:
    # -S: no site-packages, so the installed (editable) copy cannot answer the import.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import lakehouse_glue.model as m; "
        "print(m.__file__); print(','.join(m.load_declaration().names))"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, str(glue_artifacts.library)],
        capture_output=True,
        text=True,
        check=True,
    )
    where, names = done.stdout.strip().splitlines()
    assert where.startswith(str(glue_artifacts.library))
    assert names.split(",") == [
        "tenants", "customers", "products", "orders", "order_items", "subscriptions",
        "invoices", "events",
    ]  # fmt: skip


def test_removed_script_leaves_the_output(tmp_path: Path) -> None:
    scripts = tmp_path / "glue-scripts"
    (scripts / "lakehouse_glue").mkdir(parents=True)
    (scripts / "lakehouse_glue" / "__init__.py").write_text("", "utf-8")
    for name in ("create_gold_a.py", "create_gold_b.py"):
        (scripts / name).write_text(f"# {name}\n", "utf-8")
    out = tmp_path / "out"
    assert build(scripts, out).scripts == ("create_gold_a", "create_gold_b")
    (scripts / "create_gold_b.py").unlink()
    assert build(scripts, out).scripts == ("create_gold_a",)
    assert sorted(p.name for p in out.glob("*.py")) == ["create_gold_a.py"]


def test_lock_zip_holds_the_writer_lock_and_imports_from_the_zip(
    glue_artifacts: GlueArtifacts,
) -> None:
    lock_zip = glue_artifacts.out_dir / LOCK_ZIP
    with zipfile.ZipFile(lock_zip) as archive:
        assert archive.namelist() == list(LOCK_MODULES)
        for name in LOCK_MODULES:
            assert archive.read(name) == (REPO_ROOT / name).read_bytes()
    # -S: no .pth files, so the editable install of `lakehouse` cannot answer the import; the
    # lock's own dependencies (boto3, psutil) come from site-packages, as Glue installs them.
    site = next(p for p in sys.path if p.endswith("site-packages"))
    code = (
        "import sys; sys.path[:0] = sys.argv[1:]; from lakehouse.storage import lock; "
        "print(lock.__file__); print(lock.EXIT_LOCKED)"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, str(lock_zip), site],
        capture_output=True,
        text=True,
        check=True,
    )
    where, code_locked = done.stdout.strip().splitlines()
    assert where.startswith(str(lock_zip))
    assert code_locked == "75"
    # The lock's modules beyond Glue's own, pinned as constraints.txt pins them.
    pins = (glue_artifacts.out_dir / LOCK_REQUIREMENTS).read_text("utf-8").strip().split(",")
    assert [p.split("==")[0] for p in pins] == ["boto3", "botocore", "psutil"]
    constraints = (REPO_ROOT / "requirements" / "constraints.txt").read_text("utf-8")
    assert all(f"\n{pin}\n" in constraints for pin in pins)
