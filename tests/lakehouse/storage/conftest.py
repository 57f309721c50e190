"""The moto fixtures live in ``tests.support.moto`` (registered for every test by the root
conftest); the names stay importable from here for tests written against the old place.

They are served by ``__getattr__`` rather than imported, so that pytest does not register the
fixtures a second time for this folder (which would start a second server).
"""

from __future__ import annotations

from typing import Any

from tests.support.moto import MotoS3

__all__ = ["MotoS3"]


def __getattr__(name: str) -> Any:
    if name in ("moto_s3", "s3_env"):
        from tests.support import moto

        return getattr(moto, name)
    raise AttributeError(name)
