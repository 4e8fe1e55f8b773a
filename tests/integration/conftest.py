"""Integration fixtures: Secrets Manager through moto (in-process), the local Momento service over gRPC."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from token_vending_machine.names import Env
from token_vending_machine.settings import load_settings
from token_vending_machine.wiring import create_handler

SECRET_NAME = "MomentoApiKeySecret"


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def secrets_client(aws_credentials: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


@pytest.fixture
def secret(secrets_client: Any, momento_api_key: str) -> str:
    """The Rust original's secret: ``{"momentoSecret": "<key>"}``."""
    value = json.dumps({"momentoSecret": momento_api_key})
    secrets_client.create_secret(Name=SECRET_NAME, SecretString=value)
    return value


@pytest.fixture(autouse=True)
def clean_momento_local(momento_local: Any) -> Iterator[None]:
    momento_local.clear_faults()
    momento_local.reset_call_counts()
    yield
    momento_local.clear_faults()


@pytest.fixture
def make_handler(momento_local: Any, secrets_client: Any) -> Callable[..., Any]:
    """A real handler wired to moto and the local Momento service; keyword overrides set env values."""

    def make(**env: str) -> Any:
        settings = load_settings(
            {
                Env.SECRET_NAME: SECRET_NAME,
                Env.MOMENTO_LOCAL_ENDPOINT: momento_local.endpoint,
                Env.MOMENTO_TIMEOUT_SECONDS: "0.5",
                # The local service has no account limit; tests of the function's own limit set it.
                Env.MOMENTO_CALL_RATE_LIMIT: "0",
                **env,
            }
        )
        return create_handler(settings, secrets_client=secrets_client)

    return make
