"""``lakehouse serve`` (the app with its analytics pages) and ``lakehouse users create``."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Annotated

import typer

from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.paths import DJANGO_DIR, REPO_ROOT

users_app = typer.Typer(help="Users of the app and its dashboards.", no_args_is_help=True)
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


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
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


@users_app.command("create")
def users_create(
    tenant: Annotated[str, typer.Option(help="The tenant's slug.")],
    email: Annotated[str, typer.Option(help="The user's e-mail (the login name).")],
    role: Annotated[str, typer.Option(help="viewer or admin.")] = "viewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a tenant user; the generated password is printed once."""
    if role not in ("viewer", "admin"):
        raise ConfigError(f"--role must be viewer or admin, got {role!r}")
    args = ["create_tenant_user", "--tenant", tenant, "--email", email, "--role", role]
    if password_stdin:
        args.append("--password-stdin")
    code = _manage(*args, stdin=password_stdin)
    if code != 0:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
