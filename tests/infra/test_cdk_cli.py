"""`cdk synth` as the README runs it: the pinned CLI, offline, dummy credentials, the real bundle.

GIVEN a recognisable MOMENTO_API_KEY in the environment, THEN it is nowhere in cdk.out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.bundling import REPO_ROOT
from infra.names import DEFAULT_STACK_NAME, FrontDoor

CDK_BIN = REPO_ROOT / "node_modules" / ".bin" / "cdk"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CDK_BIN.exists(), reason="the CDK CLI is not installed: run `make node_modules`"),
]


def offline_environment(api_key: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CDK_")) and key != "MOMENTO_API_KEY"
    }
    environment.update(
        {
            "PATH": f"{CDK_BIN.parent}{os.pathsep}{os.environ['PATH']}",
            "AWS_ACCESS_KEY_ID": "offline",
            "AWS_SECRET_ACCESS_KEY": "offline",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "CDK_DISABLE_VERSION_CHECK": "1",
            "MOMENTO_API_KEY": api_key,
        }
    )
    return environment


@pytest.fixture(scope="module")
def cloud_assembly(tmp_path_factory: pytest.TempPathFactory, fake_api_key_in_environment: str) -> Path:
    outdir = tmp_path_factory.mktemp("cdk-cli") / "cdk.out"
    result = subprocess.run(
        [str(CDK_BIN), "synth", "--quiet", "--output", str(outdir), "-c", f"frontDoor={FrontDoor.REST_API}"],
        cwd=REPO_ROOT,
        env=offline_environment(fake_api_key_in_environment),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return outdir


def test_synth_writes_the_template_and_the_bundled_asset(cloud_assembly: Path) -> None:
    assert (cloud_assembly / f"{DEFAULT_STACK_NAME}.template.json").exists()
    assets = [path for path in cloud_assembly.glob("asset.*") if path.is_dir()]
    assert len(assets) == 1
    assert (assets[0] / "token_vending_machine" / "handler.py").exists()
    assert (assets[0] / "grpc").is_dir()


def test_api_key_is_nowhere_in_cdk_out(cloud_assembly: Path, fake_api_key_in_environment: str) -> None:
    needle = fake_api_key_in_environment.encode()
    leaks = [path for path in cloud_assembly.rglob("*") if path.is_file() and needle in path.read_bytes()]
    assert leaks == []


def test_cdk_json_keeps_the_cli_quiet_and_offline() -> None:
    settings = json.loads((REPO_ROOT / "cdk.json").read_text())
    assert settings["notices"] is False
    assert settings["context"]["cli-telemetry"] is False
    assert shutil.which("uv") or os.environ.get("UV"), "cdk.json runs the app with uv"
