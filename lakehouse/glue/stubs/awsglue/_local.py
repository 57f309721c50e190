"""Where the stand-in keeps its state; set by the local runner, else taken from settings."""

from __future__ import annotations

_state_uri: str | None = None


def configure(state_uri: str) -> None:
    """Use ``state_uri`` (``settings.glue_state_uri`` of the run) for bookmarks and runs."""
    global _state_uri
    _state_uri = state_uri.rstrip("/")


def state_uri() -> str:
    """The configured state location, or the one of the process settings."""
    if _state_uri is not None:
        return _state_uri
    from lakehouse.config import get_settings

    return get_settings().glue_state_uri
