"""``getResolvedOptions``: job arguments from ``sys.argv``, parsed like Glue does.

Glue passes job arguments as ``--name value`` pairs after the script name. Requested options are
required; unknown arguments are ignored; the arguments Glue itself adds (bookmark option, job
and run ids, ...) are always resolved, ``None`` when absent. A problem raises
:class:`GlueArgumentError` (the real library's exception), not ``SystemExit``.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

BOOKMARK_OPTIONS = ("job-bookmark-enable", "job-bookmark-disable", "job-bookmark-pause")
# Arguments the Glue service adds to every run; a job may not request them by name.
_RESERVED = ("job-bookmark-option", "continuation-option")
_AUTO = (
    "JOB_ID",
    "JOB_RUN_ID",
    "SECURITY_CONFIGURATION",
    "encryption_type",
    "TempDir",
    "RedshiftTempDir",
)


class GlueArgumentError(Exception):
    """Raised for missing or malformed job arguments."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise GlueArgumentError(message)


def getResolvedOptions(args: list[str], options: list[str]) -> dict[str, Any]:  # noqa: N802
    """Resolve ``options`` (names without ``--``) from ``args`` (``sys.argv``).

    Raises:
        GlueArgumentError: a requested option is missing, or an option is given twice without a
            value, or the bookmark option has an unknown value.
        RuntimeError: a reserved argument is requested by name.
    """
    reserved = [o for o in options if o.replace("_", "-") in _RESERVED]
    if reserved:
        raise RuntimeError(f"Using reserved arguments {reserved}")
    parser = _Parser(add_help=False, allow_abbrev=False)
    parser.add_argument("--job-bookmark-option", choices=BOOKMARK_OPTIONS, required=False)
    parser.add_argument("--continuation-option", required=False)
    for name in _AUTO:
        if name not in options:
            parser.add_argument(f"--{name}", required=False)
    for name in options:
        parser.add_argument(f"--{name}", required=True)
    parsed, _unknown = parser.parse_known_args(args[1:])
    return vars(parsed)
