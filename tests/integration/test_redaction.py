"""A full run with every logger at DEBUG: no key, token or secret value may appear in any output."""

from __future__ import annotations

import base64
import io
import json
import logging

import grpc
import pytest
from aws_lambda_powertools import Logger

from tests.events import FakeLambdaContext, event_names, load_event
from tests.integration.conftest import SECRET_NAME
from token_vending_machine.names import SERVICE_NAME, Env
from token_vending_machine.settings import load_settings
from token_vending_machine.wiring import create_handler


@pytest.fixture
def everything_at_debug():
    """Every library logger (botocore, momento, grpc, ...) at DEBUG into a buffer the test reads."""
    buffer = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(previous)


def store_quietly(secrets_client, value, *, create=False):
    """The test's own writes to the secret are not the function's logging: keep them out of the output."""
    logging.disable(logging.CRITICAL)
    try:
        if create:
            secrets_client.create_secret(Name=SECRET_NAME, SecretString=value)
        else:
            secrets_client.put_secret_value(SecretId=SECRET_NAME, SecretString=value)
    finally:
        logging.disable(logging.NOTSET)


def test_a_full_run_logs_no_key_token_or_secret(
    everything_at_debug, capfd, secrets_client, momento_local, momento_api_key
):
    secret_value = json.dumps({"momentoSecret": momento_api_key})
    store_quietly(secrets_client, secret_value, create=True)
    settings = load_settings(
        {
            Env.SECRET_NAME: SECRET_NAME,
            Env.MOMENTO_LOCAL_ENDPOINT: momento_local.endpoint,
            Env.MOMENTO_TIMEOUT_SECONDS: "0.2",
            Env.SECRET_MAX_AGE_SECONDS: "0",
            Env.TOKEN_REUSE_MIN_REMAINING: "1",
            Env.MOMENTO_CALL_RATE_LIMIT: "0",
        }
    )
    handler = create_handler(
        settings, secrets_client=secrets_client, logger=Logger(service=SERVICE_NAME, level="DEBUG")
    )
    tokens = []

    for name in event_names():
        response = handler(load_event(name), FakeLambdaContext())
        if response["statusCode"] == 200:
            tokens.append(json.loads(response["body"])["auth_token"])
    rotated_key = momento_local.create_api_key()
    store_quietly(secrets_client, rotated_key)
    for fault in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE):
        momento_local.inject_fault("GenerateDisposableToken", fault, times=1)
        handler(load_event("test-event-1.json"), FakeLambdaContext())
    momento_local.inject_fault("GenerateDisposableToken", delay_seconds=2, times=3)
    handler(load_event("test-event-1.json"), FakeLambdaContext())
    store_quietly(secrets_client, '{"momentoSecret": ""}')
    handler(load_event("test-event-1.json"), FakeLambdaContext())

    output = "".join(capfd.readouterr()) + everything_at_debug.getvalue()
    assert "token request" in output  # the run was logged, and captured
    assert len(tokens) >= 6
    inner_keys = [json.loads(base64.b64decode(token))["api_key"] for token in tokens]
    for sensitive in [momento_api_key, rotated_key, secret_value, *tokens, *inner_keys]:
        assert sensitive not in output
