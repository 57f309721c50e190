"""Errors the CLI turns into a clear message and a nonzero exit."""

#: Exit code of a command that found the lake locked by another writer
#: (:mod:`lakehouse.storage.lock`; ``EX_TEMPFAIL`` of sysexits.h: a temporary failure, try again
#: later). Here so that the CLI's help can name it without loading the lock.
EXIT_LOCKED = 75


class LakehouseError(Exception):
    """A problem the user can fix; the message says what happened and what to do."""

    exit_code = 1


class ConfigError(LakehouseError):
    """A setting is missing or invalid."""

    exit_code = 2
