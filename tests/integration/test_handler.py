"""The real handler, Secrets Manager through moto, and the real momento SDK over gRPC to the local service."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import grpc
import pytest
from momento_wire_types.generated import permissionmessages_pb2 as permissions_pb

from tests.events import FakeLambdaContext, event_names, load_event, response_headers
from tests.integration.conftest import SECRET_NAME
from token_vending_machine.names import Env, ErrorCode

GENERATE = "GenerateDisposableToken"
HAPPY_EVENTS = [name for name in event_names() if not name.startswith(("error-", "cors-"))]
ERROR_EVENTS = event_names("error-")


def invoke(handler, event="test-event-1.json", context=None):
    response = handler(load_event(event) if isinstance(event, str) else event, context or FakeLambdaContext())
    return response["statusCode"], response_headers(response), json.loads(response["body"])


def topic_permissions(momento_local, auth_token):
    decoded = momento_local.decode_token(auth_token)
    return decoded, [
        (
            p.topic_permissions.role,
            p.topic_permissions.cache_selector.cache_name,
            p.topic_permissions.topic_selector.topic_name,
        )
        for p in decoded.permissions.explicit.permissions
    ]


def test_the_original_console_event_vends_a_token_scoped_to_its_cache_and_topic(make_handler, secret, momento_local):
    status, headers, body = invoke(make_handler())

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert set(body) == {"auth_token", "expires_at"}
    decoded, granted = topic_permissions(momento_local, body["auth_token"])
    assert granted == [(permissions_pb.TopicReadWrite, "SampleCache", "sample-topic")]
    assert len(decoded.permissions.explicit.permissions) == 1
    assert body["expires_at"] == decoded.expires_at
    assert abs(body["expires_at"] - (time.time() + 3600)) < 60


def test_the_auth_token_is_what_the_sdk_returns(make_handler, secret, momento_local):
    _, _, body = invoke(make_handler())

    inner = json.loads(base64.b64decode(body["auth_token"]))
    assert inner["endpoint"] == momento_local.endpoint
    assert inner["api_key"].count(".") == 2


@pytest.mark.parametrize("event", HAPPY_EVENTS)
def test_every_committed_happy_event_vends(make_handler, secret, event):
    status, _, body = invoke(make_handler(), event)

    assert status == 200
    assert body["auth_token"]


@pytest.mark.parametrize("event", ERROR_EVENTS)
def test_every_committed_failing_event_gets_a_4xx_json_error_without_calling_momento(
    make_handler, secret, momento_local, event
):
    status, headers, body = invoke(make_handler(), event)

    assert 400 <= status < 500
    assert headers["Content-Type"] == "application/json"
    assert body["error"] in set(ErrorCode)
    assert body["message"]
    assert momento_local.call_count(GENERATE) == 0


def test_token_expiry_comes_from_the_settings(make_handler, secret, momento_local):
    _, _, body = invoke(make_handler(**{Env.TOKEN_EXPIRY_SECONDS: "120"}))

    assert abs(body["expires_at"] - (time.time() + 120)) < 30


@pytest.mark.parametrize("shape", ["raw", "original", "v2"])
def test_every_secret_shape_vends(make_handler, secrets_client, momento_api_key, shape):
    value = {
        "raw": momento_api_key,
        "original": json.dumps({"momentoSecret": momento_api_key}),
        "v2": json.dumps({"apiKey": momento_api_key, "endpoint": "cell-1.example.momentohq.com"}),
    }[shape]
    secrets_client.create_secret(Name=SECRET_NAME, SecretString=value)

    status, _, _ = invoke(make_handler())

    assert status == 200


def test_a_missing_secret_is_a_configuration_error(make_handler):
    status, _, body = invoke(make_handler())

    assert (status, body["error"]) == (500, ErrorCode.CONFIGURATION_ERROR)


def test_a_malformed_secret_is_a_configuration_error(make_handler, secrets_client):
    secrets_client.create_secret(Name=SECRET_NAME, SecretString='{"password": "hunter2"}')

    status, _, body = invoke(make_handler())

    assert (status, body["error"]) == (500, ErrorCode.CONFIGURATION_ERROR)
    assert "hunter2" not in json.dumps(body)


def test_a_key_momento_rejects_is_a_configuration_error_after_one_refetch(make_handler, secrets_client, momento_local):
    secrets_client.create_secret(Name=SECRET_NAME, SecretString="not-a-key-this-server-issued")

    status, _, body = invoke(make_handler())

    assert (status, body["error"]) == (500, ErrorCode.CONFIGURATION_ERROR)
    assert momento_local.call_count(GENERATE) == 1  # the secret did not change, so no second call


def test_a_rotated_key_is_fetched_again_and_retried(make_handler, secrets_client, secret, momento_local):
    handler = make_handler(**{Env.SECRET_MAX_AGE_SECONDS: "3600", Env.TOKEN_REUSE_MIN_REMAINING: "1"})
    assert invoke(handler)[0] == 200
    secrets_client.put_secret_value(SecretId=SECRET_NAME, SecretString=momento_local.create_api_key())
    momento_local.inject_fault(GENERATE, grpc.StatusCode.UNAUTHENTICATED, times=1)  # Momento revoked the old key

    status, _, _ = invoke(handler)

    assert status == 200
    assert momento_local.call_count(GENERATE) == 3


def test_a_throttle_is_429_with_retry_after_and_not_retried(make_handler, secret, momento_local):
    momento_local.inject_fault(GENERATE, grpc.StatusCode.RESOURCE_EXHAUSTED, times=1)

    status, headers, body = invoke(make_handler())

    assert (status, body["error"]) == (429, ErrorCode.THROTTLED)
    assert int(headers["Retry-After"]) >= 1
    assert momento_local.call_count(GENERATE) == 1


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL])
def test_a_transient_failure_is_retried(make_handler, secret, momento_local, code):
    momento_local.inject_fault(GENERATE, code, times=2)

    status, _, _ = invoke(make_handler())

    assert status == 200
    assert momento_local.call_count(GENERATE) == 3


def test_momento_down_after_every_attempt_is_503(make_handler, secret, momento_local):
    momento_local.inject_fault(GENERATE, grpc.StatusCode.UNAVAILABLE, times=None)

    status, headers, body = invoke(make_handler(**{Env.MOMENTO_MAX_ATTEMPTS: "3"}))

    assert (status, body["error"]) == (503, ErrorCode.MOMENTO_UNAVAILABLE)
    assert "Retry-After" in headers
    assert momento_local.call_count(GENERATE) == 3


def test_a_hang_is_cut_by_the_deadline_and_answered_504(make_handler, secret, momento_local):
    momento_local.inject_fault(GENERATE, delay_seconds=5, times=None)
    handler = make_handler(**{Env.MOMENTO_TIMEOUT_SECONDS: "0.2", Env.MOMENTO_MAX_ATTEMPTS: "2"})

    status, _, body = invoke(handler)

    assert (status, body["error"]) == (504, ErrorCode.MOMENTO_TIMEOUT)
    assert momento_local.call_count(GENERATE) == 2


def test_retries_stop_when_the_invocation_runs_out_of_time(make_handler, secret, momento_local):
    momento_local.inject_fault(GENERATE, delay_seconds=5, times=None)
    handler = make_handler(**{Env.MOMENTO_TIMEOUT_SECONDS: "2", Env.MOMENTO_MAX_ATTEMPTS: "5"})

    status, _, _ = invoke(handler, context=FakeLambdaContext(remaining_ms=600))

    assert status == 504
    assert momento_local.call_count(GENERATE) == 1


def test_the_handler_recovers_after_a_hang(make_handler, secret, momento_local):
    handler = make_handler(**{Env.MOMENTO_TIMEOUT_SECONDS: "0.2", Env.MOMENTO_MAX_ATTEMPTS: "1"})
    momento_local.inject_fault(GENERATE, delay_seconds=5, times=1)
    assert invoke(handler)[0] == 504

    assert invoke(handler)[0] == 200


def test_the_lambda_entry_point_reads_its_settings_from_the_environment(monkeypatch, secret, momento_local):
    monkeypatch.setenv(Env.SECRET_NAME, SECRET_NAME)
    monkeypatch.setenv(Env.MOMENTO_LOCAL_ENDPOINT, momento_local.endpoint)
    monkeypatch.delitem(sys.modules, "token_vending_machine.handler", raising=False)
    from token_vending_machine import handler

    status, _, body = invoke(handler.lambda_handler)

    assert status == 200
    assert body["auth_token"]


def test_an_invalid_setting_fails_the_cold_start_with_a_clear_log_line():
    env = {**os.environ, Env.SECRET_NAME: SECRET_NAME, Env.TOKEN_EXPIRY_SECONDS: "0"}

    result = subprocess.run(
        [sys.executable, "-c", "import token_vending_machine.handler"], env=env, capture_output=True, text=True
    )

    assert result.returncode != 0
    line = json.loads(next(line for line in result.stdout.splitlines() if "cold start failed" in line))
    assert line["level"] == "CRITICAL"
    assert "TOKEN_EXPIRY_SECONDS" in line["cause"]
