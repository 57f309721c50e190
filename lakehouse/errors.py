"""Errors the CLI turns into a clear message and a nonzero exit."""


class LakehouseError(Exception):
    """A problem the user can fix; the message says what happened and what to do."""

    exit_code = 1


class ConfigError(LakehouseError):
    """A setting is missing or invalid."""

    exit_code = 2
