"""The HTTP front door: each HTTP request → the Lambda event of the chosen kind → the real handler → HTTP.

It does what a Function URL (payload 2.0) or an API Gateway REST API (payload 1.0, Lambda proxy)
does in front of the function: the event's shape, base64 for non-text bodies (Function URL), the
proxy response turned back into status, headers and body, and a 502 when the function itself fails.
Calls into the handler are serialised, as in one warm Lambda container: Lambda never runs two
invocations at once in a container, and Powertools keeps the current event in shared state.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from token_vending_machine.names import ErrorCode

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]

MAX_REQUEST_BODY_BYTES = 1024 * 1024
FUNCTION_NAME = "token-vending-machine-local"
STAGE = "local"
LOCAL_ACCOUNT_ID = "000000000000"
# How long a client may sit on a connection between requests before the front door closes it.
IDLE_CONNECTION_SECONDS = 30.0
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
        return _json_response(200, result)
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
    return _json_response(502, {"message": "Internal Server Error"})


def _json_response(status: int, document: Any) -> HttpResponse:
    return HttpResponse(status, (("Content-Type", "application/json"),), json.dumps(document).encode("utf-8"))


def _error_response(status: int, code: ErrorCode, message: str) -> HttpResponse:
    return _json_response(status, {"error": code.value, "message": message})


# -- the server ---------------------------------------------------------------------------------------


class _RequestTooLarge(Exception):
    pass


class _BadFraming(Exception):
    pass


class FrontDoor:
    """A ThreadingHTTPServer on ``host`` that hands every request to ``handler`` as a Lambda event.

    ``function_timeout_seconds`` is what the context's ``get_remaining_time_in_millis`` counts down from.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        kind: EventKind = EventKind.FUNCTION_URL,
        host: str = "127.0.0.1",
        port: int = 0,
        function_timeout_seconds: float = 10.0,
        max_body_bytes: int = MAX_REQUEST_BODY_BYTES,
    ) -> None:
        self.kind = kind
        self._handler = handler
        self._host = host
        self._requested_port = port
        self._function_timeout = function_timeout_seconds
        self._max_body_bytes = max_body_bytes
        self._invoke_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FrontDoor:
        if self._server is not None:
            raise RuntimeError("the front door is already running")
        server = _Server((self._host, self._requested_port), _request_handler_class(self))
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="front-door", daemon=True
        )
        self._server = server
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FrontDoor:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the front door has not been started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}/"

    def invoke(self, request: HttpRequest) -> HttpResponse:
        """One request through the function, as the AWS front door would pass it."""
        request_id = str(uuid.uuid4())
        event = to_event(self.kind, request, request_id=request_id, now=time.time())
        with self._invoke_lock:
            context = LocalLambdaContext(aws_request_id=request_id, timeout_seconds=self._function_timeout)
            try:
                result = self._handler(event, context)
            except Exception:
                # The function failed: its traceback goes to the log (CloudWatch, in AWS), never to the caller.
                logger.exception("the function raised (request %s)", request_id)
                return bad_gateway()
        return from_lambda_response(self.kind, result)

    def read_body(self, headers: Mapping[str, str], stream: Any) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return _read_chunked(stream, self._max_body_bytes)
        raw_length = headers.get("content-length")
        if raw_length is None:
            return b""
        if not raw_length.strip().isdigit():
            raise _BadFraming("Content-Length is not a number")
        length = int(raw_length)
        if length > self._max_body_bytes:
            raise _RequestTooLarge
        body = stream.read(length)
        if len(body) != length:
            raise _BadFraming("the request body ended early")
        return bytes(body)

    def too_large(self) -> HttpResponse:
        return _error_response(
            413, ErrorCode.PAYLOAD_TOO_LARGE, f"The request body is larger than {self._max_body_bytes} bytes."
        )


def _read_chunked(stream: Any, limit: int) -> bytes:
    body = bytearray()
    while True:
        size_line = stream.readline(1024)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadFraming("bad chunk size") from None
        if size == 0:
            while stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(body)
        if len(body) + size > limit:
            raise _RequestTooLarge
        chunk = stream.read(size)
        if len(chunk) != size:
            raise _BadFraming("the request body ended early")
        body += chunk
        stream.readline(8)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops connections when dozens of clients connect at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler_class: type[BaseHTTPRequestHandler]) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler_class)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End idle keep-alive connections, so that no connection thread outlives the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def _request_handler_class(front_door: FrontDoor) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "tvm-local"
        timeout = IDLE_CONNECTION_SECONDS

        def _serve(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                body = front_door.read_body(headers, self.rfile)
            except _RequestTooLarge:
                # The rest of the body is never read, so this connection cannot carry another request.
                self.close_connection = True
                self._send(front_door.too_large())
                return
            except _BadFraming as exc:
                self.close_connection = True
                self._send(_error_response(400, ErrorCode.BAD_REQUEST, f"Malformed HTTP request: {exc}."))
                return
            request = HttpRequest(
                method=self.command,
                target=self.path,
                headers=tuple(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                protocol=self.request_version,
            )
            self._send(front_door.invoke(request))

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def _send(self, response: HttpResponse) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def version_string(self) -> str:
            return self.server_version

        def log_message(self, format: str, *args: Any) -> None:
            # The function logs every request itself; keep the terminal for those lines.
            logger.debug("%s %s", self.address_string(), format % args)

    return RequestHandler
