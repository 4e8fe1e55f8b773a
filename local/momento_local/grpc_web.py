"""gRPC-web in front of the local server's own gRPC servicers, for browsers and `@gomomento/sdk-web`.

Browsers cannot speak native gRPC; `@gomomento/sdk-web` speaks gRPC-web text mode over XMLHttpRequest.
`GrpcWebGateway` is a small HTTP/1.1 server that translates each gRPC-web call into an in-process call
of the very method handler the gRPC server runs, so every service is implemented once:

* Routing: `RecordingServer` wraps the `grpc.Server` and records every handler the generated
  `add_*Servicer_to_server` functions register, so any service added to the server is served here too,
  with its own (de)serializers, and no code per service.
* Calls: POST `/<package.Service>/<Method>` with `Content-Type: application/grpc-web-text` (base64 of
  length-prefixed frames; `application/grpc-web` binary frames work too). The handler runs in its own
  thread with `WebServicerContext`, a `grpc.ServicerContext` carrying the request headers as metadata
  (`authorization`, `cache`, ...), the `grpc-timeout` deadline, abort, codes, details and metadata.
* Responses: HTTP 200 with one frame per message, flushed as each is produced (a chunked body, so a
  subscription's first heartbeat reaches the browser at once), then a trailer frame (flag 0x80) with
  `grpc-status` and `grpc-message` (percent-encoded as gRPC does). Each frame is base64-encoded on its
  own in text mode, as the gRPC-web protocol allows. A passed deadline ends the call with
  DEADLINE_EXCEEDED, a closed connection cancels it (its context callbacks run), and stopping the
  gateway ends open calls with UNAVAILABLE. Errors come the same way (HTTP 200, a trailer frame),
  never as trailers-only headers: grpc-web reads both, and one path is simpler.
* CORS: a preflight from an allowed `Origin` gets 204 with that origin echoed, POST and OPTIONS, the
  request headers the SDK sends listed one by one (`Access-Control-Allow-Headers: *` never covers
  `Authorization`) and `grpc-status`/`grpc-message` exposed; other origins get 403. `allowed_origins`
  None echoes any origin, which is accepted only on a loopback host: callers authenticate with a bearer
  token in a header (no cookies, no credentials mode), so a foreign page gains nothing it could not do
  with a token it would need to hold anyway. Bound elsewhere, the allowed origins must be listed.

Only unary and server-streaming methods exist in gRPC-web; client streaming is UNIMPLEMENTED.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import logging
import queue
import re
import select
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, cast

import grpc

from .serving import ServerThread, shut

logger = logging.getLogger(__name__)

GRPC_WEB_TEXT = "application/grpc-web-text"
GRPC_WEB_BINARY = "application/grpc-web"
# What Google's grpc-web client and @gomomento/sdk-web send besides CORS-safelisted headers.
ALLOWED_REQUEST_HEADERS = (
    "authorization",
    "cache",
    "agent",
    "runtime-version",
    "read-concern",
    "content-type",
    "grpc-timeout",
    "x-grpc-web",
    "x-user-agent",
)
EXPOSED_RESPONSE_HEADERS = ("grpc-status", "grpc-message")
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # gRPC's default maximum message size

Metadata = tuple[tuple[str, str | bytes], ...]

_TRAILER_FLAG = 0x80
_COMPRESSED_FLAG = 0x01
_FRAME_HEADER_BYTES = 5
_END_OF_CALL = object()
# How often a waiting call looks for a passed deadline or a client that went away.
_CHECK_INTERVAL_SECONDS = 0.2
_DRAIN_SECONDS = 1.0
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
_TIMEOUT_PATTERN = re.compile(r"(\d{1,8})([HMSmun])")
_BASE64_CHUNK = re.compile(rb"[^=]+=*")  # text mode may concatenate separately padded chunks
# Headers of HTTP, CORS or gRPC-web itself, not metadata for the servicer.
_TRANSPORT_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "connection",
        "content-length",
        "content-type",
        "grpc-accept-encoding",
        "grpc-encoding",
        "grpc-timeout",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "te",
        "transfer-encoding",
        "x-grpc-web",
    }
)


class RecordingServer(grpc.Server):
    """A `grpc.Server` that remembers the method handlers registered on it, to serve them over gRPC-web."""

    def __init__(self, server: grpc.Server) -> None:
        self._server = server
        self._generic_handlers: list[grpc.GenericRpcHandler] = []
        self._method_handlers: dict[str, grpc.RpcMethodHandler] = {}

    def find_handler(self, method: str) -> grpc.RpcMethodHandler | None:
        """The handler of a full method path such as `/cache_client.pubsub.Pubsub/Publish`, or None."""
        if method in self._method_handlers:
            return self._method_handlers[method]
        details = _HandlerCallDetails(method, ())
        return next(filter(None, (handler.service(details) for handler in self._generic_handlers)), None)

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        generic_rpc_handlers = tuple(generic_rpc_handlers)
        self._generic_handlers.extend(generic_rpc_handlers)
        self._server.add_generic_rpc_handlers(generic_rpc_handlers)

    def add_registered_method_handlers(self, service_name: str, method_handlers: dict[str, Any]) -> None:
        for name, handler in method_handlers.items():
            self._method_handlers[f"/{service_name}/{name}"] = handler
        self._server.add_registered_method_handlers(service_name, method_handlers)

    def add_insecure_port(self, address: str) -> int:
        return self._server.add_insecure_port(address)

    def add_secure_port(self, address: str, server_credentials: grpc.ServerCredentials) -> int:
        return self._server.add_secure_port(address, server_credentials)

    def start(self) -> None:
        self._server.start()

    def stop(self, grace: float | None) -> threading.Event:
        return self._server.stop(grace)

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        return self._server.wait_for_termination(timeout)


class _HandlerCallDetails(NamedTuple):
    method: str
    invocation_metadata: Metadata


class _AbortError(Exception):
    """Raised by `WebServicerContext.abort`, as grpc's own context raises, to end the handler."""


@dataclass(frozen=True)
class CallStatus:
    """How a call ended, as its trailer frame says."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: Metadata


class WebServicerContext(grpc.ServicerContext):
    """The `grpc.ServicerContext` a handler sees when its call arrives over gRPC-web."""

    def __init__(self, metadata: Metadata, *, deadline: float | None, peer: str) -> None:
        self._metadata = metadata
        self._deadline = deadline  # time.monotonic() value
        self._peer = peer
        self._lock = threading.Lock()
        self._code = grpc.StatusCode.OK
        self._details = ""
        self._initial_metadata: Metadata = ()
        self._trailing_metadata: Metadata = ()
        self._callbacks: list[Callable[[], None]] = []
        self._final: CallStatus | None = None

    # -- what the handler uses ---------------------------------------------------------------------

    def invocation_metadata(self) -> Metadata:
        return self._metadata

    def peer(self) -> str:
        return self._peer

    def peer_identities(self) -> None:
        return None

    def peer_identity_key(self) -> None:
        return None

    def auth_context(self) -> dict[str, list[bytes]]:
        return {}

    def send_initial_metadata(self, initial_metadata: Metadata) -> None:
        self._initial_metadata = tuple(initial_metadata)

    def set_trailing_metadata(self, trailing_metadata: Metadata) -> None:
        self._trailing_metadata = tuple(trailing_metadata)

    def trailing_metadata(self) -> Metadata:
        return self._trailing_metadata

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        if code == grpc.StatusCode.OK:
            code = grpc.StatusCode.UNKNOWN  # as grpc does: an abort is never a success
        self._code, self._details = code, details
        raise _AbortError(details)

    def abort_with_status(self, status: grpc.Status) -> None:
        self._trailing_metadata = tuple(status.trailing_metadata or ())
        self.abort(status.code, status.details)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def set_details(self, details: str) -> None:
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def is_active(self) -> bool:
        return self._final is None and self.time_remaining() != 0

    def time_remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    def cancel(self) -> None:
        self.end(grpc.StatusCode.CANCELLED, "Cancelled")

    def add_callback(self, callback: Callable[[], None]) -> bool:
        with self._lock:
            if self._final is not None:
                return False
            self._callbacks.append(callback)
            return True

    # -- what the gateway uses ---------------------------------------------------------------------

    @property
    def initial_metadata(self) -> Metadata:
        return self._initial_metadata

    @property
    def final_status(self) -> CallStatus | None:
        return self._final

    def end(self, code: grpc.StatusCode | None = None, details: str = "") -> bool:
        """Fix the call's status (the handler's own unless `code` is given) and run its callbacks.

        Returns False when the call had already ended."""
        with self._lock:
            if self._final is not None:
                return False
            if code is None and self.time_remaining() == 0:  # the deadline wins, as in grpc
                code, details = grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"
            elif code is None:
                code, details = self._code, self._details
            self._final = CallStatus(code, details, self._trailing_metadata)
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("a gRPC-web call's callback failed")
        return True


class _MalformedRequestError(Exception):
    """The body is not one uncompressed gRPC-web message frame."""


class _Call:
    """One gRPC-web call: its handler runs in its own thread and hands serialized responses over."""

    def __init__(self, handler: grpc.RpcMethodHandler, request: Any, context: WebServicerContext) -> None:
        self._handler = handler
        self._request = request
        self.context = context
        self.outbox: queue.SimpleQueue[bytes | object] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="momento-local-grpc-web-call", daemon=True).start()

    def interrupt(self, code: grpc.StatusCode, details: str) -> None:
        """End the call now (deadline, client gone, shutdown), whatever its handler is doing."""
        if self.context.end(code, details):
            self.outbox.put(_END_OF_CALL)

    def _run(self) -> None:
        try:
            with contextlib.closing(self._responses()) as responses:
                for response in responses:
                    if not self.context.is_active():
                        break
                    self.outbox.put(self._handler.response_serializer(response))
        except _AbortError:
            pass
        except Exception as exc:
            logger.exception("gRPC-web call failed in its handler")
            self.context.set_code(grpc.StatusCode.UNKNOWN)
            self.context.set_details(f"Exception calling application: {exc}")
        finally:
            if self.context.end():
                self.outbox.put(_END_OF_CALL)

    def _responses(self) -> Generator[Any, None, None]:
        if self._handler.unary_unary is not None:
            response = self._handler.unary_unary(self._request, self.context)
            if response is not None:  # None: the handler set a failing code instead
                yield response
            return
        responses = self._handler.unary_stream(self._request, self.context)
        try:
            yield from responses
        finally:
            close = getattr(responses, "close", None)
            if close is not None:
                close()


class _ResponseWriter:
    """Writes a gRPC-web response: headers before the first frame, one chunk per frame, flushed."""

    def __init__(self, request: BaseHTTPRequestHandler, *, text: bool, headers: Sequence[tuple[str, str]]) -> None:
        self._request = request
        self._text = text
        self._headers = headers
        self._headers_sent = False

    def message(self, payload: bytes, initial_metadata: Metadata) -> bool:
        """Send one message frame; False when the client has gone."""
        return self._send(_frame(0, payload), initial_metadata)

    def trailers(self, status: CallStatus, initial_metadata: Metadata = ()) -> None:
        lines = [("grpc-status", str(status.code.value[0])), ("grpc-message", _percent_encode(status.details))]
        lines += [(name, _metadata_text(raw)) for name, raw in status.trailing_metadata]
        block = "".join(f"{key}:{value}\r\n" for key, value in lines).encode()
        if self._send(_frame(_TRAILER_FLAG, block), initial_metadata):
            self._write(b"0\r\n\r\n")

    def _send(self, frame: bytes, initial_metadata: Metadata) -> bool:
        data = base64.b64encode(frame) if self._text else frame
        try:
            if not self._headers_sent:
                self._send_headers(initial_metadata)
            return self._write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        except OSError:
            return False

    def _send_headers(self, initial_metadata: Metadata) -> None:
        self._headers_sent = True
        self._request.send_response(200)
        content_type = GRPC_WEB_TEXT if self._text else GRPC_WEB_BINARY
        for key, value in [("Content-Type", f"{content_type}+proto"), *self._headers]:
            self._request.send_header(key, value)
        for name, raw in initial_metadata:
            self._request.send_header(name, _metadata_text(raw))
        self._request.send_header("Transfer-Encoding", "chunked")
        self._request.end_headers()

    def _write(self, data: bytes) -> bool:
        try:
            self._request.wfile.write(data)
            self._request.wfile.flush()
        except OSError:
            return False
        return True


class CorsPolicy:
    """Which browser origins may call, and the CORS headers they get."""

    def __init__(self, allowed_origins: Iterable[str] | None) -> None:
        allowed = None if allowed_origins is None else frozenset(allowed_origins)
        self._allowed = None if allowed is None or "*" in allowed else allowed

    @property
    def allows_any_origin(self) -> bool:
        return self._allowed is None

    def allows(self, origin: str) -> bool:
        return self._allowed is None or origin in self._allowed

    @staticmethod
    def response_headers(origin: str | None) -> list[tuple[str, str]]:
        if origin is None:
            return []
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", ", ".join(EXPOSED_RESPONSE_HEADERS)),
            ("Vary", "Origin"),
        ]

    @staticmethod
    def preflight_headers(origin: str, *, private_network: bool) -> list[tuple[str, str]]:
        headers = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", "POST, OPTIONS"),
            ("Access-Control-Allow-Headers", ", ".join(ALLOWED_REQUEST_HEADERS)),
            ("Access-Control-Max-Age", "600"),
            ("Vary", "Origin"),
        ]
        if private_network:  # Chrome's Private Network Access preflight from a public page
            headers.append(("Access-Control-Allow-Private-Network", "true"))
        return headers


class GrpcWebGateway:
    """An HTTP/1.1 server speaking gRPC-web, calling the handlers a `RecordingServer` recorded."""

    def __init__(
        self,
        find_handler: Callable[[str], grpc.RpcMethodHandler | None],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allowed_origins: Iterable[str] | None = None,
    ) -> None:
        self.find_handler = find_handler
        self.cors = CorsPolicy(allowed_origins)
        if self.cors.allows_any_origin and not _is_loopback(host):
            raise ValueError(f"list the allowed origins to serve gRPC-web on non-loopback host {host!r}")
        self._host = host
        self._requested_port = port
        self._serving = ServerThread[_GatewayHTTPServer](
            "the gRPC-web gateway", thread_name="momento-local-grpc-web", poll_interval=_CHECK_INTERVAL_SECONDS
        )
        self._calls: set[_Call] = set()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Condition()

    def start(self) -> GrpcWebGateway:
        self._serving.start(
            lambda: _GatewayHTTPServer((self._host, self._requested_port), _GrpcWebRequestHandler, self)
        )
        logger.info("momento_local gRPC-web listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop accepting, end open calls with UNAVAILABLE, then close every connection."""
        self._serving.stop(lambda _server: self._end_calls_and_connections())

    def _end_calls_and_connections(self) -> None:
        with self._lock:
            for call in list(self._calls):
                call.interrupt(grpc.StatusCode.UNAVAILABLE, "momento_local is shutting down")
            self._lock.wait_for(lambda: not self._calls, timeout=_DRAIN_SECONDS)
            for connection in self._connections:
                shut(connection)

    @property
    def port(self) -> int:
        return self._serving.port

    @property
    def url(self) -> str:
        """Where browsers reach it, e.g. `http://127.0.0.1:54321`."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    # -- bookkeeping for the request handlers ---------------------------------------------------------

    def track_connection(self, connection: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def track_call(self, call: _Call, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._calls.add(call)
            else:
                self._calls.discard(call)
                self._lock.notify_all()


class _GatewayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], gateway: GrpcWebGateway
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.gateway = gateway
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would also look the host's name up (socket.getfqdn), which can be slow.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])


class _GrpcWebRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _GatewayHTTPServer

    @property
    def _gateway(self) -> GrpcWebGateway:
        return self.server.gateway

    def setup(self) -> None:
        super().setup()
        self._gateway.track_connection(self.connection, open_=True)

    def finish(self) -> None:
        self._gateway.track_connection(self.connection, open_=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # request lines only: never headers
        logger.debug("gRPC-web %s " + format, self.address_string(), *args)

    def do_OPTIONS(self) -> None:
        origin = self.headers.get("Origin")
        if origin is None or not self._gateway.cors.allows(origin):
            self._plain(403, "origin not allowed")
            return
        private_network = self.headers.get("Access-Control-Request-Private-Network") == "true"
        self.send_response(204)
        for key, value in CorsPolicy.preflight_headers(origin, private_network=private_network):
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        origin = self.headers.get("Origin")
        if origin is not None and not self._gateway.cors.allows(origin):
            self._plain(403, "origin not allowed")
            return
        text = _is_text_mode(self.headers.get("Content-Type", ""))
        if text is None:
            self._plain(415, "expected application/grpc-web-text or application/grpc-web")
            return
        body = self._read_body()
        if body is None:
            return
        writer = _ResponseWriter(self, text=text, headers=CorsPolicy.response_headers(origin))
        self._serve(body, text, writer)

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self._plain(411, "a Content-Length is required")
            return None
        if int(length) > MAX_REQUEST_BYTES * 2:  # room for base64
            self._plain(413, "request too large")
            return None
        return self.rfile.read(int(length))

    def _serve(self, body: bytes, text: bool, writer: _ResponseWriter) -> None:
        handler = self._gateway.find_handler(self.path)
        if handler is None or handler.request_streaming:
            writer.trailers(CallStatus(grpc.StatusCode.UNIMPLEMENTED, f"Method not found: {self.path}", ()))
            return
        try:
            request = handler.request_deserializer(_request_message(body, text=text))
            metadata = _metadata(self.headers.items())
        except Exception:
            writer.trailers(CallStatus(grpc.StatusCode.INTERNAL, "malformed gRPC-web request", ()))
            return
        context = WebServicerContext(
            metadata,
            deadline=_deadline(self.headers.get("grpc-timeout")),
            peer=f"ipv4:{self.client_address[0]}:{self.client_address[1]}",
        )
        call = _Call(handler, request, context)
        self._gateway.track_call(call, open_=True)
        try:
            self._relay(call, writer)
        finally:
            self._gateway.track_call(call, open_=False)

    def _relay(self, call: _Call, writer: _ResponseWriter) -> None:
        context = call.context
        while (item := self._next_item(call)) is not _END_OF_CALL:
            if not writer.message(cast(bytes, item), context.initial_metadata):
                call.interrupt(grpc.StatusCode.CANCELLED, "the client went away")
                self.close_connection = True
                return
        writer.trailers(cast(CallStatus, context.final_status), context.initial_metadata)

    def _next_item(self, call: _Call) -> bytes | object:
        """The call's next serialized response or _END_OF_CALL, watching its deadline and its client."""
        while True:
            try:
                return call.outbox.get(timeout=_wait_seconds(call.context))
            except queue.Empty:
                pass
            if call.context.time_remaining() == 0:
                call.interrupt(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
            elif _client_went_away(self.connection):
                call.interrupt(grpc.StatusCode.CANCELLED, "the client went away")
                self.close_connection = True

    def _plain(self, status: int, message: str) -> None:
        """A plain HTTP answer for what is not a gRPC-web call; the connection closes (the body may be unread)."""
        body = message.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


# -- wire helpers -----------------------------------------------------------------------------------------


def _frame(flags: int, payload: bytes) -> bytes:
    return bytes([flags]) + len(payload).to_bytes(4, "big") + payload


def _is_text_mode(content_type: str) -> bool | None:
    """True for grpc-web-text, False for binary grpc-web (with or without `+proto`), else None."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type in (GRPC_WEB_TEXT, f"{GRPC_WEB_TEXT}+proto"):
        return True
    if media_type in (GRPC_WEB_BINARY, f"{GRPC_WEB_BINARY}+proto"):
        return False
    return None


def _request_message(body: bytes, *, text: bool) -> bytes:
    """The single message of a unary request body (text mode: base64, possibly several padded chunks)."""
    data = body
    if text:
        data = b"".join(base64.b64decode(chunk, validate=True) for chunk in _BASE64_CHUNK.findall(body.strip()))
    if len(data) < _FRAME_HEADER_BYTES or data[0] & (_COMPRESSED_FLAG | _TRAILER_FLAG):
        raise _MalformedRequestError("expected one uncompressed message frame")
    length = int.from_bytes(data[1:_FRAME_HEADER_BYTES], "big")
    if length != len(data) - _FRAME_HEADER_BYTES or length > MAX_REQUEST_BYTES:
        raise _MalformedRequestError("the frame length does not match the body")
    return data[_FRAME_HEADER_BYTES:]


def _metadata(headers: Iterable[tuple[str, str]]) -> Metadata:
    """Request headers as gRPC metadata: lower-case keys, `-bin` values decoded, transport headers left out."""
    metadata: list[tuple[str, str | bytes]] = []
    for key, value in headers:
        name = key.lower()
        if name in _TRANSPORT_HEADERS or name.startswith(("sec-", "access-control-")):
            continue
        metadata.append((name, base64.b64decode(value + "=" * (-len(value) % 4)) if name.endswith("-bin") else value))
    return tuple(metadata)


def _deadline(grpc_timeout: str | None) -> float | None:
    """The monotonic deadline a `grpc-timeout` header (e.g. `5000m`) sets; a malformed one is ignored."""
    match = _TIMEOUT_PATTERN.fullmatch(grpc_timeout or "")
    if match is None:
        return None
    return time.monotonic() + int(match[1]) * _TIMEOUT_UNITS[match[2]]


def _wait_seconds(context: WebServicerContext) -> float:
    remaining = context.time_remaining()
    return _CHECK_INTERVAL_SECONDS if remaining is None else min(remaining, _CHECK_INTERVAL_SECONDS)


def _percent_encode(text: str) -> str:
    """gRPC's grpc-message encoding: printable ASCII other than `%` as is, every other byte as %XX."""
    return "".join(chr(byte) if 0x20 <= byte <= 0x7E and byte != 0x25 else f"%{byte:02X}" for byte in text.encode())


def _metadata_text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _client_went_away(connection: socket.socket) -> bool:
    """True once the peer closed the connection (a browser aborting the XHR, a tab closing)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
