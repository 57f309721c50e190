"""A test that cannot run is skipped on a developer's machine and fails in CI."""

from __future__ import annotations

import pytest

from tests.support.ci import unavailable


def test_a_missing_tool_skips_without_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no mirror"):
        unavailable("no mirror")


@pytest.mark.parametrize("value", ["true", "1"])
def test_a_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match=r"CI is set: .* \(no mirror\)"):
        unavailable("no mirror")
