"""The helpers of `make tf-check` that need no Terraform: mirror discovery and plan walking."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.deploy import tf_check
from lakehouse.errors import LakehouseError


def test_mirror_from_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / tf_check.PROVIDER_PATH / "5.100.0").mkdir(parents=True)
    monkeypatch.setenv(tf_check.PLUGIN_DIR_ENV, str(tmp_path))
    assert tf_check.find_plugin_dir() == tmp_path


def test_mirror_variable_without_the_provider_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(tf_check.PLUGIN_DIR_ENV, str(tmp_path))
    with pytest.raises(LakehouseError, match=r"has no registry\.terraform\.io/hashicorp/aws"):
        tf_check.find_plugin_dir()


def test_workspace_cli_config_uses_only_the_mirror(tmp_path: Path) -> None:
    ws = tf_check.Workspace(plugin_dir=tmp_path / "mirror", work_dir=tmp_path / "ws")
    config = ws.cli_config.read_text("utf-8")
    assert f'path    = "{tmp_path / "mirror"}"' in config
    assert "direct" not in config
    env = ws.env()
    assert env["TF_CLI_CONFIG_FILE"] == str(ws.cli_config)
    assert env["TF_DATA_DIR"] == str(tmp_path / "ws" / "data")
    assert env["AWS_ACCESS_KEY_ID"] == "testing"


def test_plan_variables_point_every_provider_endpoint_at_moto(tmp_path: Path) -> None:
    variables = tf_check.plan_variables("http://127.0.0.1:5000", tmp_path)
    assert set(variables["aws_endpoints"]) == set(tf_check.AWS_SERVICES)
    assert set(variables["aws_endpoints"].values()) == {"http://127.0.0.1:5000"}
    # Every service the root module can redirect is one the tests redirect, and vice versa.
    main_tf = (tf_check.TERRAFORM_DIR / "main.tf").read_text("utf-8")
    redirected = {
        line.split("=")[0].strip()
        for line in main_tf.splitlines()
        if "lookup(endpoints.value," in line
    }
    assert redirected == set(tf_check.AWS_SERVICES)


def test_planned_resources_walks_every_module() -> None:
    plan = {
        "planned_values": {
            "root_module": {
                "resources": [{"address": "a"}],
                "child_modules": [
                    {
                        "resources": [{"address": "b"}],
                        "child_modules": [{"resources": [{"address": "c"}]}],
                    }
                ],
            }
        }
    }
    assert [r["address"] for r in tf_check.planned_resources(plan)] == ["a", "b", "c"]
