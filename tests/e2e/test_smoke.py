"""`tvm smoke` against the local stack over real HTTP and real gRPC, and against endpoints that misbehave."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from local_stack import LocalStack
from momento_local import MomentoLocal
from momento_tvm_client.cli import main
from momento_tvm_client.sigv4 import SigV4Error, region_and_service
from momento_tvm_client.smoke import Outcome, SmokeOptions, SmokeReport, run_smoke
from token_vending_machine.names import Env

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "https://app.example.com"
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
# A JWT-shaped bearer credential, as a JWT authorizer's caller would send (never printed).
BEARER_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzbW9rZS10ZXN0In0.c2lnbmF0dXJlLW9mLXRoZS10ZXN0"
TIMEOUT = 3.0


@pytest.fixture(scope="module")
def stack(momento_local: MomentoLocal) -> Iterator[LocalStack]:
    """The stack as `make run` starts it, with CORS on for one origin."""
    with LocalStack(port=0, quiet=True, momento_local=momento_local, settings={Env.CORS_ALLOWED_ORIGINS: ORIGIN}) as s:
        yield s


def smoke(url: str, **options: Any) -> tuple[SmokeReport, str]:
    out = io.StringIO()
    report = run_smoke(SmokeOptions(url=url, timeout=TIMEOUT, **options), out=out)
    return report, out.getvalue()


def outcomes(report: SmokeReport) -> dict[str, Outcome]:
    return {result.name: result.outcome for result in report.results}


def test_every_check_passes_against_the_local_stack(stack: LocalStack) -> None:
    report, out = smoke(stack.url, origin=ORIGIN)

    assert report.ok, out
    assert set(outcomes(report).values()) == {Outcome.PASS}, out
    assert re.search(r"^PASS  vend token +\d+\.\d ms", out, re.MULTILINE), out
    assert out.splitlines()[-1].startswith("OK: 6 passed, 0 failed, 0 skipped")
    assert not JWT.search(out)


def test_without_an_origin_a_probe_origin_decides_whether_cors_is_checked(stack: LocalStack) -> None:
    report, out = smoke(stack.url)

    assert report.ok, out
    assert outcomes(report)["cors preflight"] is Outcome.SKIP


def test_a_preflight_for_another_origin_fails(stack: LocalStack) -> None:
    report, out = smoke(stack.url, origin="https://elsewhere.example.com")

    assert outcomes(report)["cors preflight"] is Outcome.FAIL
    assert "FAILED (cors preflight)" in out


def test_make_smoke_runs_the_cli_and_exits_0(stack: LocalStack) -> None:
    command = ["make", "--no-print-directory", "smoke", f"URL={stack.url}", f"ARGS=--origin {ORIGIN}"]

    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert re.search(r"^PASS  publish and receive ", finished.stdout, re.MULTILINE), finished.stdout
    assert "OK: 6 passed" in finished.stdout
    assert not JWT.search(finished.stdout + finished.stderr)


def test_a_policy_that_refuses_the_probe_topic_fails_the_vend(
    momento_local: MomentoLocal, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = {Env.ALLOWED_TOPICS: "chat-*"}
    with LocalStack(port=0, quiet=True, momento_local=momento_local, settings=settings) as refusing:
        code = main(["smoke", "--url", refusing.url, "--timeout", str(TIMEOUT)])

    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"^FAIL  vend token .* 403 forbidden", out, re.MULTILINE), out
    assert re.search(r"^SKIP  publish and receive .* no token", out, re.MULTILINE), out
    assert "FAILED (vend token)" in out


def test_an_endpoint_that_answers_garbage_fails(httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    httpserver.expect_request("/").respond_with_data("<html>hello</html>", content_type="text/html")

    code = main(["smoke", "--url", httpserver.url_for("/"), "--timeout", str(TIMEOUT)])

    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"^FAIL  vend token .*not valid JSON", out, re.MULTILINE), out
    assert re.search(r"^FAIL  malformed body .*expected HTTP 400, got 200", out, re.MULTILINE), out
    assert "FAILED (vend token, malformed body)" in out


def test_a_token_the_server_echoes_back_is_never_printed(httpserver: HTTPServer) -> None:
    def echo_the_credential(request: Request) -> Response:
        body = {"error": "unauthorized", "message": f"who is {request.headers.get('Authorization')}?"}
        return Response(json.dumps(body), 401, content_type="application/json")

    httpserver.expect_request("/").respond_with_handler(echo_the_credential)

    report, out = smoke(httpserver.url_for("/"), headers={"Authorization": f"Bearer {BEARER_JWT}"})

    assert not report.ok
    assert "unauthorized: who is <redacted>?" in out
    assert BEARER_JWT not in out and not JWT.search(out)


def test_sigv4_signs_every_request_but_the_preflight(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("botocore")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDSMOKETEST",
        "AWS_SECRET_ACCESS_KEY": "smoke-secret",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    httpserver.expect_request("/").respond_with_data("no", status=403)

    main(["smoke", "--url", httpserver.url_for("/"), "--sigv4", "--region", "eu-west-1", "--timeout", str(TIMEOUT)])

    capsys.readouterr()
    signatures = {request.method: request.headers.get("Authorization", "") for request, _ in httpserver.log}
    assert signatures["POST"].startswith("AWS4-HMAC-SHA256 Credential=AKIDSMOKETEST/")
    assert "/eu-west-1/lambda/aws4_request" in signatures["POST"]
    assert signatures["OPTIONS"] == ""


def test_sigv4_without_botocore_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "botocore", None)
    monkeypatch.setitem(sys.modules, "botocore.session", None)

    code = main(["smoke", "--url", "https://abc.lambda-url.eu-west-1.on.aws/", "--sigv4"])

    assert code == 2
    assert "--sigv4 needs botocore" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://abcdef.lambda-url.eu-west-1.on.aws/", ("eu-west-1", "lambda")),
        ("https://a1b2c3d4e5.execute-api.us-east-2.amazonaws.com/prod/token", ("us-east-2", "execute-api")),
    ],
)
def test_sigv4_region_and_service_come_from_an_aws_url(url: str, expected: tuple[str, str]) -> None:
    assert region_and_service(url) == expected


def test_sigv4_needs_a_region_for_other_urls() -> None:
    assert region_and_service("https://tvm.example.com/", "ap-south-1") == ("ap-south-1", "lambda")
    with pytest.raises(SigV4Error, match="--region"):
        region_and_service("https://tvm.example.com/")
