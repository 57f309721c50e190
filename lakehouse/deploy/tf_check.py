"""Offline checks of the Terraform deployment: fmt, init, validate, plan against moto, checkov.

``make tf-check`` runs :func:`main`; ``tests/terraform_infra`` runs the same steps through
:class:`Workspace`. Everything is offline: the ``hashicorp/aws`` provider comes from a filesystem
mirror (``LAKEHOUSE_TF_PLUGIN_DIR``), AWS is a moto server on 127.0.0.1 with dummy credentials,
and checkov runs from its own virtualenv (its pins conflict with the project's).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.config import get_settings
from lakehouse.db.cluster import free_port
from lakehouse.deploy.package_glue import DEFAULT_OUT, build
from lakehouse.errors import LakehouseError
from lakehouse.paths import TERRAFORM_DIR

PLUGIN_DIR_ENV = "LAKEHOUSE_TF_PLUGIN_DIR"
PROVIDER_PATH = Path("registry.terraform.io") / "hashicorp" / "aws"
# Where .ci/run looks for the mirror too; used only when the variable is unset.
_MIRROR_SEARCH_ROOTS = ("/opt", "/usr/share", "/usr/local/share", "~/.terraform.d", "/var/lib")
CHECKOV_VERSION = "3.3.30"
# Every service the root module's provider `endpoints` block can redirect.
AWS_SERVICES = (
    "athena", "cloudwatch", "cloudwatchlogs", "dms", "ec2", "eventbridge", "glue", "iam", "kms",
    "lakeformation", "quicksight", "rds", "s3", "secretsmanager", "sns", "sts",
)  # fmt: skip
PLAN_REGION = "us-east-1"
# The planning identity's account (moto's default) and fixed tenants and administrators for the
# plan, so that Lake Formation's settings, grants, filters and tenant workgroups are part of it.
PLAN_ACCOUNT_ID = "123456789012"
PLAN_ADMIN_ARNS = (f"arn:aws:iam::{PLAN_ACCOUNT_ID}:role/platform-data-admin",)
PLAN_TENANTS: dict[str, dict[str, Any]] = {
    "acme": {
        "tenant_id": "00000000-0000-4000-8000-000000000001",
        "principal_arns": [f"arn:aws:iam::{PLAN_ACCOUNT_ID}:role/acme-analysts"],
    },
    "globex": {
        "tenant_id": "00000000-0000-4000-8000-000000000002",
        "principal_arns": [f"arn:aws:iam::{PLAN_ACCOUNT_ID}:role/globex-analysts"],
        "bytes_scanned_cutoff_per_query": 1073741824,
    },
}
PLAN_TENANT_IDS = tuple(tenant["tenant_id"] for tenant in PLAN_TENANTS.values())


def find_plugin_dir() -> Path | None:
    """The provider mirror root (the folder holding ``registry.terraform.io``), or ``None``."""
    configured = os.environ.get(PLUGIN_DIR_ENV)
    if configured:
        root = Path(configured)
        if not (root / PROVIDER_PATH).is_dir():
            raise LakehouseError(
                f"{PLUGIN_DIR_ENV}={configured} has no {PROVIDER_PATH}: point it at the folder "
                "that contains registry.terraform.io"
            )
        return root
    for base in _MIRROR_SEARCH_ROOTS:
        start = Path(base).expanduser()
        if not start.is_dir():
            continue
        # Bounded walk (depth 5), the same as .ci/run's `find -maxdepth 5`.
        for dirpath, dirnames, _ in os.walk(start):
            path = Path(dirpath)
            if len(path.relative_to(start).parts) >= 5:
                dirnames.clear()
                continue
            if path.match(f"*/{PROVIDER_PATH.as_posix()}"):
                return path.parents[2]
    return None


def terraform_binary() -> str:
    """Path of the ``terraform`` executable (>= 1.11)."""
    found = shutil.which("terraform")
    if found is None:
        raise LakehouseError("terraform is not on PATH: install Terraform 1.11 or newer")
    return found


@dataclass
class Workspace:
    """One initialised copy of ``terraform-infra`` state: a private data dir and CLI config."""

    plugin_dir: Path
    work_dir: Path
    config_dir: Path = TERRAFORM_DIR
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.cli_config = self.work_dir / "terraform.rc"
        # Only the mirror: init must never reach a registry. The caller's TF_CLI_CONFIG_FILE
        # (which may name a missing file) is replaced by this one.
        self.cli_config.write_text(
            "provider_installation {\n"
            "  filesystem_mirror {\n"
            f"    path    = {json.dumps(str(self.plugin_dir))}\n"
            '    include = ["registry.terraform.io/hashicorp/aws"]\n'
            "  }\n"
            "}\n",
            "utf-8",
        )

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            TF_CLI_CONFIG_FILE=str(self.cli_config),
            TF_DATA_DIR=str(self.work_dir / "data"),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            CHECKPOINT_DISABLE="1",
            # moto's documented dummy credentials: plans never reach a real account.
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106
            AWS_SESSION_TOKEN="testing",  # noqa: S106
            AWS_REGION=PLAN_REGION,
            AWS_DEFAULT_REGION=PLAN_REGION,
        )
        for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            env.pop(key, None)
        env.update(self.extra_env)
        return env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``terraform -chdir=<config> <args>``; raise with its output when it fails."""
        cmd = [terraform_binary(), f"-chdir={self.config_dir}", *args, "-no-color"]
        done = subprocess.run(cmd, env=self.env(), capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise LakehouseError(
                f"terraform {' '.join(args)} failed in {self.config_dir} "
                f"(exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done

    def fmt_check(self) -> None:
        self.run("fmt", "-check", "-recursive", "-diff")

    def init(self) -> None:
        self.run("init", "-backend=false", "-input=false")

    def validate(self) -> None:
        self.run("validate")

    def plan(
        self, variables: dict[str, Any], extra_var_files: list[Path] | None = None
    ) -> dict[str, Any]:
        """Plan with ``variables`` (after ``extra_var_files``, which they override) and return
        ``terraform show -json`` of the saved plan."""
        var_file = self.work_dir / "plan.tfvars.json"
        var_file.write_text(json.dumps(variables, indent=2), "utf-8")
        plan_file = self.work_dir / "lakehouse.tfplan"
        files = [f"-var-file={f}" for f in [*(extra_var_files or []), var_file]]
        self.run("plan", "-input=false", "-lock=false", *files, f"-out={plan_file}")
        shown = self.run("show", "-json", str(plan_file))
        result: dict[str, Any] = json.loads(shown.stdout)
        return result


def plan_variables(endpoint: str, artifacts_dir: Path) -> dict[str, Any]:
    """Root variables for a plan against a moto server at ``endpoint``."""
    return {
        "aws_region": PLAN_REGION,
        "aws_endpoints": {service: endpoint for service in AWS_SERVICES},
        "network": {
            "vpc_id": "vpc-0a1b2c3d4e5f60718",
            "subnet_ids": ["subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60722"],
            "source_cidr_blocks": ["10.20.0.0/16"],
        },
        "glue": {"artifacts_dir": str(artifacts_dir)},
        "monitoring": {"alarm_emails": ["data-oncall@example.com"]},
        "lake_formation": {"enabled": True, "admin_arns": list(PLAN_ADMIN_ARNS)},
        "tenants": PLAN_TENANTS,
    }


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 and a free port; yields its URL, stops it afterwards."""
    executable = Path(sys.executable).with_name("moto_server")
    if not executable.exists():
        raise LakehouseError(f"{executable} not found: install the dev extras (`make setup`)")
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [str(executable), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise LakehouseError(
                    f"moto_server exited with {proc.returncode}: {log.read().decode()[-2000:]}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise LakehouseError(f"moto_server did not listen on {port} in 60 s") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def planned_resources(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every resource of a ``terraform show -json`` plan (all modules), with its values."""
    out: list[dict[str, Any]] = []

    def walk(module: dict[str, Any]) -> None:
        out.extend(module.get("resources", []))
        for child in module.get("child_modules", []):
            walk(child)

    walk(plan["planned_values"]["root_module"])
    return out


def ensure_checkov(tools_dir: Path) -> Path:
    """checkov in its own virtualenv under ``tools_dir`` (created once, pinned); its path."""
    venv = tools_dir / "checkov"
    exe = venv / "bin" / "checkov"
    marker = venv / f".installed-{CHECKOV_VERSION}"
    if exe.exists() and marker.exists():
        return exe
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    done = subprocess.run(
        [*pip, f"checkov=={CHECKOV_VERSION}"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise LakehouseError(
            f"installing checkov {CHECKOV_VERSION} into {venv} failed:\n{done.stderr[-3000:]}"
        )
    marker.touch()
    return exe


@dataclass(frozen=True)
class CheckovResult:
    """Summary of one checkov run."""

    passed: int
    failed: int
    skipped: int
    failures: list[str]


def run_checkov(checkov: Path, config_dir: Path = TERRAFORM_DIR) -> CheckovResult:
    """Scan ``config_dir`` (and its modules) with checkov's Terraform checks."""
    cmd = [
        str(checkov), "-d", str(config_dir), "--framework", "terraform", "--skip-download",
        "--quiet", "--compact", "--output", "json", "--skip-path", r"\.terraform",
    ]  # fmt: skip
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise LakehouseError(
            f"checkov produced no JSON report (exit {done.returncode}):\n{done.stderr[-3000:]}"
        ) from exc
    reports = report if isinstance(report, list) else [report]
    passed = failed = skipped = 0
    failures: list[str] = []
    for item in reports:
        summary = item.get("summary", {})
        passed += int(summary.get("passed", 0))
        failed += int(summary.get("failed", 0))
        skipped += int(summary.get("skipped", 0))
        for check in item.get("results", {}).get("failed_checks", []):
            failures.append(
                f"{check['check_id']} {check['resource']} "
                f"({check['file_path']}:{check['file_line_range']}): {check['check_name']}"
            )
    return CheckovResult(passed=passed, failed=failed, skipped=skipped, failures=failures)


def main(argv: list[str] | None = None) -> int:
    """``make tf-check``: every step, stopping at the first failure."""
    parser = argparse.ArgumentParser(description="Offline Terraform checks of terraform-infra/")
    parser.add_argument("--artifacts", type=Path, default=DEFAULT_OUT, help="dist/glue folder")
    args = parser.parse_args(argv)
    try:
        plugin_dir = find_plugin_dir()
        if plugin_dir is None:
            raise LakehouseError(
                f"no hashicorp/aws provider mirror found: set {PLUGIN_DIR_ENV} to the folder "
                "that contains registry.terraform.io"
            )
        build(out_dir=args.artifacts)
        with tempfile.TemporaryDirectory(prefix="lakehouse-tf-") as tmp:
            ws = Workspace(plugin_dir=plugin_dir, work_dir=Path(tmp))
            print("terraform fmt -check -recursive")
            ws.fmt_check()
            print(f"terraform init (offline, mirror {plugin_dir})")
            ws.init()
            print("terraform validate")
            ws.validate()
            with moto_server() as endpoint:
                print(f"terraform plan against moto at {endpoint}")
                plan = ws.plan(plan_variables(endpoint, args.artifacts.resolve()))
            counts = Counter(r["type"] for r in planned_resources(plan) if r["mode"] == "managed")
            print(f"plan: {sum(counts.values())} resources")
            for kind, count in sorted(counts.items()):
                print(f"  {count:4d}  {kind}")
        print(f"checkov {CHECKOV_VERSION}")
        result = run_checkov(ensure_checkov(get_settings().state_dir.resolve() / "tools"))
        print(f"checkov: {result.passed} passed, {result.failed} failed, {result.skipped} skipped")
        if result.failed:
            raise LakehouseError("checkov failed checks:\n  " + "\n  ".join(result.failures))
    except LakehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print("tf-check passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
