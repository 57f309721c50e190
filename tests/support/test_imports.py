"""No test package imports helpers from another one: what several share lives in tests/support.

A module may import from ``tests.support``, from its own package, and from the packages above or
below it (``tests/terraform_infra/modules`` uses ``tests/terraform_infra/plan.py``); a sibling's
helpers (``tests/lakehouse/athena`` from ``tests/lakehouse/catalog``) are refused.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _package_of(module: str) -> tuple[str, ...]:
    """The package a ``tests.*`` module name lives in (a package names itself)."""
    parts = tuple(module.split("."))
    return parts if (TESTS.parent.joinpath(*parts)).is_dir() else parts[:-1]


def _related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return a[: len(b)] == b or b[: len(a)] == a


def crossings() -> list[str]:
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        package = ("tests", *path.parent.relative_to(TESTS).parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("tests"):
                continue
            target = _package_of(node.module or "")
            if target[:2] != ("tests", "support") and not _related(package, target):
                found.append(f"{path.relative_to(TESTS.parent)}:{node.lineno}: {node.module}")
    return found


def test_no_test_package_imports_another_ones_helpers() -> None:
    assert crossings() == []


def test_a_sibling_import_is_found() -> None:
    assert _related(("tests", "terraform_infra", "modules"), ("tests", "terraform_infra"))
    assert not _related(("tests", "lakehouse", "athena"), ("tests", "lakehouse", "catalog"))
    assert not _related(("tests", "lakehouse"), ("tests", "glue_scripts"))
