"""The local front door: an HTTP server on 127.0.0.1 that hands each request to the real handler as a Lambda event.

It reads the request (Content-Length or chunked, with AWS's 1 MiB limit), lets ``events.py`` turn it
into the event of the chosen kind, calls the handler with a Lambda context, and writes back what
``events.py`` makes of the proxy response. With a ``site`` (the browser demo), the paths it handles
are answered by it instead. Calls into the handler are serialised, as in one warm
Lambda container: Lambda never runs two invocations at once in a container, and Powertools keeps the
current event in shared state.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from momento_local.serving import ServerThread, shut
from token_vending_machine.names import ErrorCode

from .demo import DemoSite
from .events import (
    EventKind,
    HttpRequest,
    HttpResponse,
    LocalLambdaContext,
    bad_gateway,
    from_lambda_response,
    json_response,
    to_event,
)

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]

MAX_REQUEST_BODY_BYTES = 1024 * 1024
# How long a client may sit on a connection between requests before the front door closes it.
IDLE_CONNECTION_SECONDS = 30.0
# socketserver's default backlog of 5 drops connections when dozens of clients connect at once.
LISTEN_BACKLOG = 128


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening socket for ``LocalFrontDoor(listener=...)``: its port is known before the front door starts."""
    return socket.create_server((host, port), backlog=LISTEN_BACKLOG)


class LocalFrontDoor:
    """A ThreadingHTTPServer on ``host`` that hands every request to ``handler`` as a Lambda event.

    ``function_timeout_seconds`` is what the context's ``get_remaining_time_in_millis`` counts down from.
    ``listener`` is a socket from :func:`bind_listener` to serve on instead of binding ``host:port``
    (the front door closes it when it stops); ``site`` answers the paths it handles (the demo page).
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
        listener: socket.socket | None = None,
        site: DemoSite | None = None,
    ) -> None:
        self.kind = kind
        self._handler = handler
        self._host = host
        self._requested_port = port
        self._function_timeout = function_timeout_seconds
        self._max_body_bytes = max_body_bytes
        self._listener = listener
        self._site = site
        self._invoke_lock = threading.Lock()
        self._serving = ServerThread[_Server]("the front door", thread_name="front-door", poll_interval=0.1)

    def start(self) -> LocalFrontDoor:
        self._serving.start(lambda: _Server((self._host, self._requested_port), self, self._listener))
        return self

    def stop(self) -> None:
        self._serving.stop(_Server.close_connections)

    def __enter__(self) -> LocalFrontDoor:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._serving.port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}/"

    def respond(self, request: HttpRequest) -> HttpResponse:
        """The site's answer for its own paths, else the function's."""
        if self._site is not None and self._site.handles(request.path):
            return self._site.respond(request)
        return self.invoke(request)

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


class _RequestTooLarge(Exception):
    pass


class _BadFraming(Exception):
    pass


def _error_response(status: int, code: ErrorCode, message: str) -> HttpResponse:
    """The front door's own refusals (before the function runs), in the function's error body shape."""
    return json_response(status, {"error": code.value, "message": message})


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
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self, address: tuple[str, int], front_door: LocalFrontDoor, listener: socket.socket | None = None
    ) -> None:
        self.front_door = front_door
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler, bind_and_activate=listener is None)
        if listener is not None:
            self.socket.close()
            self.socket = listener
            self.server_address = listener.getsockname()

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
            shut(connection)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tvm-local"
    timeout = IDLE_CONNECTION_SECONDS
    server: _Server

    def _serve(self) -> None:
        body = self._read_body()
        if isinstance(body, HttpResponse):
            self._send(body)
            return
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=tuple(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        self._send(self.server.front_door.respond(request))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, BREW...) reaches the function too, as through a Function URL,
        # and gets its JSON 405 rather than http.server's HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _read_body(self) -> bytes | HttpResponse:
        """The request's body, or the answer to give instead when it cannot be read."""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            return self.server.front_door.read_body(headers, self.rfile)
        except _RequestTooLarge:
            # The rest of the body is never read, so this connection cannot carry another request.
            self.close_connection = True
            return self.server.front_door.too_large()
        except _BadFraming as exc:
            self.close_connection = True
            return _error_response(400, ErrorCode.BAD_REQUEST, f"Malformed HTTP request: {exc}.")

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
