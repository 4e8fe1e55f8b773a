"""The cold-start paths: the secret through the Parameters and Secrets extension (no boto3), metrics,
and the SnapStart after-restore hook."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import pytest
from werkzeug import Request, Response

from tests.events import FakeLambdaContext, load_event
from token_vending_machine.names import METRICS_NAMESPACE, SERVICE_NAME, Env
from token_vending_machine.settings import load_settings
from token_vending_machine.wiring import build_vendor, create_handler

SECRET_NAME = "MomentoApiKeySecret"
SESSION_TOKEN = "session-token-for-the-extension"


@pytest.fixture
def extension(httpserver, momento_api_key, monkeypatch):
    """A stand-in for the Parameters and Secrets extension: GET /secretsmanager/get?secretId=..."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    reads = []

    def answer(request: Request) -> Response:
        if request.headers.get("X-Aws-Parameters-Secrets-Token") != SESSION_TOKEN:
            return Response("missing token", status=401)
        if request.args.get("secretId") != SECRET_NAME:
            return Response("not found", status=400)
        reads.append(request.args["secretId"])
        return Response(
            json.dumps({"Name": SECRET_NAME, "SecretString": json.dumps({"momentoSecret": momento_api_key})})
        )

    httpserver.expect_request("/secretsmanager/get").respond_with_handler(answer)
    httpserver.reads = reads
    return httpserver


def extension_settings(momento_local, port, **env):
    return load_settings(
        {
            Env.SECRET_NAME: SECRET_NAME,
            Env.MOMENTO_LOCAL_ENDPOINT: momento_local.endpoint,
            Env.SECRETS_EXTENSION_PORT: str(port),
            **env,
        }
    )


def test_the_secret_is_read_through_the_extension_when_it_is_attached(extension, momento_local):
    handler = create_handler(extension_settings(momento_local, extension.port))

    response = handler(load_event("test-event-1.json"), FakeLambdaContext())

    assert response["statusCode"] == 200
    assert extension.reads == [SECRET_NAME]


def test_an_extension_error_is_a_configuration_error(httpserver, momento_local, monkeypatch):
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    httpserver.expect_request("/secretsmanager/get").respond_with_data("ResourceNotFoundException", status=400)
    handler = create_handler(extension_settings(momento_local, httpserver.port))

    response = handler(load_event("test-event-1.json"), FakeLambdaContext())

    assert (response["statusCode"], json.loads(response["body"])["error"]) == (500, "configuration_error")


def test_an_unreachable_extension_is_503(momento_local):
    handler = create_handler(extension_settings(momento_local, 1))

    response = handler(load_event("test-event-1.json"), FakeLambdaContext())

    assert (response["statusCode"], json.loads(response["body"])["error"]) == (503, "secret_unavailable")


def test_with_the_extension_a_cold_start_never_imports_boto3(extension, momento_local):
    env = {
        **os.environ,
        Env.SECRET_NAME: SECRET_NAME,
        Env.MOMENTO_LOCAL_ENDPOINT: momento_local.endpoint,
        Env.SECRETS_EXTENSION_PORT: str(extension.port),
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    script = (
        "import json, sys\n"
        "from tests.events import FakeLambdaContext, load_event\n"
        "from token_vending_machine.handler import lambda_handler\n"
        "response = lambda_handler(load_event('test-event-1.json'), FakeLambdaContext())\n"
        "print(json.dumps({'status': response['statusCode'], 'boto3': 'boto3' in sys.modules}))\n"
    )

    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)

    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"status": 200, "boto3": False}


def test_metrics_count_tokens_errors_and_reuse(make_handler, secret, capsys):
    handler = make_handler()
    # The metrics ride on the request's log line; Powertools keeps the stream of the first logger of
    # this service name, so point it at this test's captured stdout.
    logging.getLogger(SERVICE_NAME).handlers[0].setStream(sys.stdout)
    for event in ["test-event-1.json", "test-event-1.json", "error-not-json.json"]:
        handler(load_event(event), FakeLambdaContext())

    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = [{metric["Name"] for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]} for blob in blobs]
    assert blobs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == METRICS_NAMESPACE
    assert names == [
        {"TokensVended", "MomentoCallLatency"},
        {"TokensVended", "TokenReuseHits"},
        {"Error_bad_request"},
    ]


def test_after_a_snapstart_restore_the_key_and_tokens_are_fetched_anew(extension, momento_local):
    settings = extension_settings(momento_local, extension.port)
    vendor = build_vendor(settings)
    handler = create_handler(settings, vendor=vendor)
    handler(load_event("test-event-1.json"), FakeLambdaContext())
    momento_local.reset_call_counts()

    vendor.after_restore()
    response = handler(load_event("test-event-1.json"), FakeLambdaContext())

    assert response["statusCode"] == 200
    assert extension.reads == [SECRET_NAME, SECRET_NAME]
    assert momento_local.call_count("GenerateDisposableToken") == 1


COLD_START = (
    "import gc, json, sys\n"
    "import token_vending_machine.handler\n"
    "print(json.dumps({'gc_enabled': gc.isenabled(), 'frozen': gc.get_freeze_count()}), flush=True)\n"
    "sys.stdin.readline()\n"
)


@pytest.mark.parametrize(("initialization", "read_at_init"), [("on-demand", True), ("snap-start", False)])
def test_the_key_is_read_during_the_cold_start_except_for_a_snapshot(
    extension, momento_local, initialization, read_at_init
):
    env = {
        **os.environ,
        Env.SECRET_NAME: SECRET_NAME,
        Env.MOMENTO_LOCAL_ENDPOINT: momento_local.endpoint,
        Env.SECRETS_EXTENSION_PORT: str(extension.port),
        "AWS_LAMBDA_INITIALIZATION_TYPE": initialization,
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    child = subprocess.Popen(
        [sys.executable, "-c", COLD_START], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        collector = json.loads(child.stdout.readline())
        deadline = time.monotonic() + (5 if read_at_init else 0.5)
        while not extension.reads and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        child.communicate("\n", timeout=30)

    assert extension.reads == ([SECRET_NAME] if read_at_init else [])
    # The collector was paused for the build only: it runs again, and the build's objects are frozen out of it.
    assert collector["gc_enabled"] is True
    assert collector["frozen"] > 10_000


def test_through_boto3_the_key_is_read_by_the_first_request_not_in_the_background(momento_local, momento_api_key):
    class SecretsManager:
        calls = 0

        def get_secret_value(self, SecretId: str) -> dict:
            self.calls += 1
            return {"Name": SecretId, "SecretString": json.dumps({"momentoSecret": momento_api_key})}

    client = SecretsManager()
    settings = load_settings({Env.SECRET_NAME: SECRET_NAME, Env.MOMENTO_LOCAL_ENDPOINT: momento_local.endpoint})
    handler = create_handler(settings, vendor=build_vendor(settings, secrets_client=client, prefetch_key=True))
    time.sleep(0.2)  # long enough for a background read to have happened
    assert client.calls == 0

    assert handler(load_event("test-event-1.json"), FakeLambdaContext())["statusCode"] == 200
    assert client.calls == 1
