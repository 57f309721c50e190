"""requirements/constraints.txt pins every dependency of pyproject.toml within its bounds."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"constraints.txt line {line!r} is not an exact pin (name==version)"
        key = canonicalize_name(name)
        assert key not in pins, f"{name} is pinned twice"
        pins[key] = version.strip()
    return pins


def test_every_dependency_is_pinned_within_its_bounds() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = _pins()
    for text in wanted:
        req = Requirement(text)
        pinned = pins.get(canonicalize_name(req.name))
        assert pinned is not None, f"{req.name} is not in constraints.txt: run 'make lock'"
        assert req.specifier.contains(pinned, prereleases=True), (
            f"{req.name}=={pinned} is outside pyproject.toml's {req.specifier}: run 'make lock'"
        )


def test_the_project_itself_is_not_pinned() -> None:
    # An editable install of this checkout must never be constrained to a released version.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert canonicalize_name(project["name"]) not in _pins()
