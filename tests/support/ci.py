"""Tests that need a tool the machine may lack (the Terraform provider mirror, Chromium)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(why: str) -> NoReturn:
    """Skip the test on a developer's machine; fail it when ``CI`` is set, where every test
    must run (``.ci/run`` sets it and installs what the tests need)."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set: this test cannot be skipped ({why})")
    pytest.skip(why)
