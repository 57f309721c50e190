"""How long the offline Terraform checks take, and how large the deployment and artifacts are.

Measures each step of ``make tf-check`` once (packaging, offline init, validate, a full plan
against moto, checkov) on this machine, plus the plan's size.
Run: ``python -m bench.bench_terraform``.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from bench.common import report, timed
from lakehouse.config import get_settings
from lakehouse.deploy import tf_check
from lakehouse.deploy.package_glue import build


def main() -> None:
    plugin_dir = tf_check.find_plugin_dir()
    if plugin_dir is None:
        raise SystemExit(f"set {tf_check.PLUGIN_DIR_ENV} to the hashicorp/aws provider mirror")
    metrics: dict[str, float | int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-tf-") as tmp:
        root = Path(tmp)
        with timed(metrics, "package_glue_s"):
            artifacts = build(out_dir=root / "dist")
        metrics["job_scripts"] = len(artifacts.scripts)
        metrics["library_zip_kib"] = round(artifacts.library.stat().st_size / 1024, 1)
        ws = tf_check.Workspace(plugin_dir=plugin_dir, work_dir=root / "ws")
        with timed(metrics, "fmt_check_s"):
            ws.fmt_check()
        with timed(metrics, "init_offline_s"):
            ws.init()
        with timed(metrics, "validate_s"):
            ws.validate()
        with tf_check.moto_server() as endpoint, timed(metrics, "plan_against_moto_s"):
            plan = ws.plan(tf_check.plan_variables(endpoint, artifacts.out_dir))
        kinds = Counter(
            r["type"] for r in tf_check.planned_resources(plan) if r["mode"] == "managed"
        )
        metrics["planned_resources"] = sum(kinds.values())
        metrics["planned_resource_types"] = len(kinds)
        checkov = tf_check.ensure_checkov(get_settings().state_dir.resolve() / "tools")
        with timed(metrics, "checkov_s"):
            result = tf_check.run_checkov(checkov)
        metrics["checkov_passed"] = result.passed
        metrics["checkov_failed"] = result.failed
        metrics["checkov_skipped"] = result.skipped
    report(
        "terraform",
        params={
            "lake_formation_tenants": len(tf_check.PLAN_TENANT_IDS),
            "checkov": tf_check.CHECKOV_VERSION,
        },
        metrics=metrics,
        targets={"checkov_failed": "0", "plan_against_moto_s": "< 120 on 2 cores"},
    )


if __name__ == "__main__":
    main()
