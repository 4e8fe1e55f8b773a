"""Event translation: an HTTP request → the Lambda event an AWS front door would send, and back.

Function URL events (payload 2.0, as an HTTP API also sends them) and API Gateway REST events
(payload 1.0, Lambda proxy on ``/{proxy+}``): the event's shape, base64 for non-text bodies
(Function URL), the Lambda context the handler is given, and the proxy response turned back into
status, headers and body, with a 502 when AWS could not use it. No sockets here: the HTTP server is
``front_door.py``.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl

logger = logging.getLogger(__name__)

FUNCTION_NAME = "token-vending-machine-local"
STAGE = "local"
LOCAL_ACCOUNT_ID = "000000000000"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT_MEDIA_TYPES = {"application/json", "application/javascript", "application/xml", "application/yaml"}


class EventKind(StrEnum):
    """Which AWS front door the events imitate."""

    FUNCTION_URL = "function-url"  # payload 2.0, as a Lambda Function URL (and an HTTP API) sends it
    REST = "rest"  # payload 1.0, as an API Gateway REST API with Lambda proxy integration sends it


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query string, as on the request line
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"

    @property
    def path(self) -> str:
        return self.target.partition("?")[0] or "/"

    @property
    def raw_query_string(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass
class LocalLambdaContext:
    """The attributes and method of Lambda's context object that the handler and Powertools read."""

    aws_request_id: str
    timeout_seconds: float
    function_name: str = FUNCTION_NAME
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT_ID}:function:{FUNCTION_NAME}"
    log_group_name: str = f"/aws/lambda/{FUNCTION_NAME}"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


# -- HTTP request → Lambda event -------------------------------------------------------------------


def to_event(kind: EventKind, request: HttpRequest, *, request_id: str, now: float) -> dict[str, Any]:
    if kind is EventKind.FUNCTION_URL:
        return function_url_event(request, request_id=request_id, now=now)
    return rest_api_event(request, request_id=request_id, now=now)


def function_url_event(request: HttpRequest, *, request_id: str, now: float) -> dict[str, Any]:
    """Payload 2.0: lower-cased headers (repeats joined by commas), cookies apart, base64 unless text."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in _forwarded_headers(request):
        name = name.lower()
        if name == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        else:
            headers[name] = f"{headers[name]},{value}" if name in headers else value
    host = headers.get("host", "localhost")
    domain_prefix = host.split(".", 1)[0].split(":", 1)[0]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.raw_query_string,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": domain_prefix,
            "domainName": host,
            "domainPrefix": domain_prefix,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": _clf_time(now),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    query = _query_parameters(request.raw_query_string)
    if query:
        event["queryStringParameters"] = {name: ",".join(values) for name, values in query.items()}
    if request.body:
        if _is_text(request.header("content-type")):
            event["body"] = request.body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def rest_api_event(request: HttpRequest, *, request_id: str, now: float) -> dict[str, Any]:
    """Payload 1.0 on a ``/{proxy+}`` resource: headers as sent plus their multi-value form; text bodies
    (a REST API without binary media types passes the body through as text)."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in _forwarded_headers(request):
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query = _query_parameters(request.raw_query_string)
    path = request.path
    proxy = path.lstrip("/")
    lowered = {name.lower(): value for name, value in headers.items()}
    return {
        "resource": "/{proxy+}" if proxy else "/",
        "path": path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": proxy} if proxy else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "httpMethod": request.method,
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": lowered.get("user-agent"),
                "user": None,
                "userArn": None,
                "accountId": None,
                "caller": None,
                "accessKey": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
            },
            "path": f"/{STAGE}{path}",
            "protocol": request.protocol,
            "requestId": request_id,
            "requestTime": _clf_time(now),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": "local",
            "resourcePath": "/{proxy+}" if proxy else "/",
            "stage": STAGE,
        },
        "body": request.body.decode("utf-8", errors="replace") if request.body else None,
        "isBase64Encoded": False,
    }


def _forwarded_headers(request: HttpRequest) -> Iterable[tuple[str, str]]:
    """The client's headers, with the X-Forwarded-* ones the AWS front door sets (a client's are replaced)."""
    replaced = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port"}
    yield from ((name, value) for name, value in request.headers if name.lower() not in replaced)
    host = request.header("host") or ""
    port = host.rpartition(":")[2] if ":" in host else "80"
    yield from (("X-Forwarded-For", request.source_ip), ("X-Forwarded-Proto", "http"), ("X-Forwarded-Port", port))


def _query_parameters(raw_query_string: str) -> dict[str, list[str]]:
    parameters: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query_string, keep_blank_values=True):
        parameters.setdefault(name, []).append(value)
    return parameters


def _is_text(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in _TEXT_MEDIA_TYPES or media_type.endswith(("+json", "+xml"))


def _clf_time(now: float) -> str:
    """``22/Nov/2026:08:00:00 +0000``, whatever the process's locale."""
    t = time.gmtime(now)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


# -- Lambda proxy response → HTTP response ------------------------------------------------------------


def from_lambda_response(kind: EventKind, result: Any) -> HttpResponse:
    """What the front door answers for the handler's return value, as AWS would."""
    if kind is EventKind.FUNCTION_URL and not (isinstance(result, dict) and "statusCode" in result):
        # A Function URL treats any other return value as a JSON document with status 200.
        return json_response(200, result)
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        logger.error("the handler returned a malformed proxy response")
        return bad_gateway()
    headers: list[tuple[str, str]] = []
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(value)) for value in values)
    single = result.get("headers") or {}
    overridden = {name.lower() for name in single}
    headers = [(name, value) for name, value in headers if name.lower() not in overridden]
    headers.extend((name, str(value)) for name, value in single.items())
    headers.extend(("Set-Cookie", cookie) for cookie in result.get("cookies") or [])
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    body = result.get("body") or ""
    if not isinstance(body, str):
        body = json.dumps(body)
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    return HttpResponse(result["statusCode"], tuple(headers), payload)


def bad_gateway() -> HttpResponse:
    """What AWS answers when the function fails or returns something it cannot use."""
    return json_response(502, {"message": "Internal Server Error"})


def json_response(status: int, document: Any) -> HttpResponse:
    return HttpResponse(status, (("Content-Type", "application/json"),), json.dumps(document).encode("utf-8"))
