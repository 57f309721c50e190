"""``lakehouse serve`` (the app with its analytics pages) and ``lakehouse users create``."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from lakehouse.cli.app import command, flag, group, int_range, option, standalone
from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.paths import DJANGO_DIR, REPO_ROOT

users_app = group("users", "Users of the app and its dashboards.")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _manage(*args: str, stdin: bool = False) -> int:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
    }
    # From the repository root, like the CLI itself: the relative defaults (./lake, .lakehouse)
    # and .env then name the same lake and local cluster in Django's process as in this one.
    proc = subprocess.run(
        [sys.executable, str(DJANGO_DIR / "manage.py"), *args],
        env=env,
        cwd=REPO_ROOT,
        stdin=None if stdin else subprocess.DEVNULL,
        check=False,
    )
    return proc.returncode


@standalone("serve")
@option("--host", "host", default="127.0.0.1", help="Address to listen on (loopback only).")
@option("--port", "port", type=int_range(1, 65535), default=8000, help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Start the app with its analytics pages on http://HOST:PORT/analytics/ (Ctrl-C stops).

    This is Django's single-process server, for one machine; on AWS the app runs behind a
    proper WSGI server. Sign in with a user from `lakehouse users create`.
    """
    if host not in LOOPBACK:
        raise ConfigError(
            f"--host {host!r} is not a loopback address: the local server is for this machine "
            "only (127.0.0.1, localhost or ::1)"
        )
    code = _manage(
        "runserver",
        f"{host}:{port}" if host != "::1" else f"[::1]:{port}",
        "--noreload",
        stdin=True,
    )
    if code not in (0, -2, 130):
        raise LakehouseError(f"the app server stopped with exit status {code}")


@command(users_app, "create")
@option("--tenant", "tenant", required=True, help="The tenant's slug.")
@option("--email", "email", required=True, help="The user's e-mail (the login name).")
@option("--role", "role", default="viewer", help="viewer or admin.")
@flag("--password-stdin", "password_stdin", help="Read the password from standard input.")
def users_create(tenant: str, email: str, role: str, password_stdin: bool) -> None:
    """Create a tenant user; the generated password is printed once."""
    if role not in ("viewer", "admin"):
        raise ConfigError(f"--role must be viewer or admin, got {role!r}")
    args = ["create_tenant_user", "--tenant", tenant, "--email", email, "--role", role]
    if password_stdin:
        args.append("--password-stdin")
    code = _manage(*args, stdin=password_stdin)
    if code != 0:
        raise click.exceptions.Exit(code)
