"""The local Momento gRPC server: token service, topics, cache, fault injection. See the package docstring."""

from __future__ import annotations

import base64
import enum
import json
import logging
import queue
import secrets
import threading
from collections.abc import Iterable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Final, TypeAlias

import grpc
from momento_wire_types import cacheclient_pb2_grpc as cache_grpc
from momento_wire_types import cachepubsub_pb2 as pubsub_pb
from momento_wire_types import cachepubsub_pb2_grpc as pubsub_grpc
from momento_wire_types import common_pb2
from momento_wire_types import permissionmessages_pb2 as permissions_pb
from momento_wire_types import token_pb2 as token_pb
from momento_wire_types import token_pb2_grpc as token_grpc

from .cache import DEFAULT_CACHES, CacheServicer, CacheStore
from .faults import Fault, FaultInjector
from .grpc_web import GrpcWebGateway, RecordingServer
from .tokens import (
    InvalidTokenError,
    TokenClaims,
    TokenSigner,
    TopicAction,
    allows_topic_action,
    validate_disposable_request,
)

if TYPE_CHECKING:
    from momento import CredentialProvider

logger = logging.getLogger(__name__)


class _Closed(enum.Enum):
    """Put in a subscriber's inbox to end its stream."""

    STREAM = enum.auto()


_STREAM_CLOSED: Final = _Closed.STREAM
_Inbox: TypeAlias = "queue.SimpleQueue[pubsub_pb._SubscriptionItem | _Closed]"


@dataclass
class _Topic:
    next_sequence_number: int = 1
    subscribers: set[_Inbox] = field(default_factory=set)


class _TopicBroker:
    """In-memory topics: fans each published value out to the topic's current subscribers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topics: dict[tuple[str, str], _Topic] = {}
        self._closed = False

    def subscribe(self, cache_name: str, topic_name: str) -> tuple[_Inbox, int]:
        """Register a subscriber; returns its queue and the sequence number the next item will get."""
        inbox: _Inbox = queue.SimpleQueue()
        with self._lock:
            if self._closed:
                inbox.put(_STREAM_CLOSED)
            topic = self._topics.setdefault((cache_name, topic_name), _Topic())
            topic.subscribers.add(inbox)
            return inbox, topic.next_sequence_number

    def unsubscribe(self, cache_name: str, topic_name: str, inbox: _Inbox) -> None:
        with self._lock:
            topic = self._topics.get((cache_name, topic_name))
            if topic is not None:
                topic.subscribers.discard(inbox)

    def publish(self, cache_name: str, topic_name: str, value: pubsub_pb._TopicValue) -> None:
        with self._lock:
            topic = self._topics.setdefault((cache_name, topic_name), _Topic())
            item = pubsub_pb._SubscriptionItem(
                item=pubsub_pb._TopicItem(topic_sequence_number=topic.next_sequence_number, value=value)
            )
            topic.next_sequence_number += 1
            for inbox in topic.subscribers:
                inbox.put(item)

    def subscriber_count(self, cache_name: str, topic_name: str) -> int:
        with self._lock:
            topic = self._topics.get((cache_name, topic_name))
            return len(topic.subscribers) if topic else 0

    def close(self) -> None:
        """End every open subscription stream."""
        with self._lock:
            self._closed = True
            for topic in self._topics.values():
                for inbox in topic.subscribers:
                    inbox.put(_STREAM_CLOSED)

    def reopen(self) -> None:
        with self._lock:
            self._closed = False
            self._topics.clear()


class _Gate:
    """What every RPC does first: count the call, apply any injected fault, authenticate the caller."""

    def __init__(self, issuer: TokenSigner, faults: FaultInjector) -> None:
        self._issuer = issuer
        self._faults = faults

    def enter(self, rpc: str, context: grpc.ServicerContext) -> TokenClaims:
        fault = self._faults.record_call(rpc)
        if fault is not None:
            self._apply(fault, context)
        return self._authenticate(context)

    def _apply(self, fault: Fault, context: grpc.ServicerContext) -> None:
        if fault.delay_seconds > 0 and self._faults.wait(fault.delay_seconds):
            context.abort(grpc.StatusCode.UNAVAILABLE, "momento_local is shutting down")
        if fault.status is not None:
            context.abort(fault.status, fault.details)

    def _authenticate(self, context: grpc.ServicerContext) -> TokenClaims:
        auth_token = next((value for key, value in context.invocation_metadata() if key == "authorization"), "")
        if not auth_token:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing authorization header")
        try:
            return self._issuer.decode(auth_token)
        except InvalidTokenError as exc:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, f"invalid authorization token: {exc}")
            raise  # context.abort always raises; this keeps type checkers informed


class _TokenServicer(token_grpc.TokenServicer):
    def __init__(self, gate: _Gate, issuer: TokenSigner, endpoint: str) -> None:
        self._gate = gate
        self._issuer = issuer
        self._endpoint = endpoint

    def GenerateDisposableToken(
        self, request: token_pb._GenerateDisposableTokenRequest, context: grpc.ServicerContext
    ) -> token_pb._GenerateDisposableTokenResponse:
        caller = self._gate.enter("GenerateDisposableToken", context)
        if not caller.is_api_key:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "only API keys may generate disposable tokens")
        valid_for_seconds = request.expires.valid_for_seconds
        problem = validate_disposable_request(valid_for_seconds, request.permissions)
        if problem is not None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        api_key, valid_until = self._issuer.mint_disposable_token(
            request.permissions, valid_for_seconds=valid_for_seconds, token_id=request.token_id or None
        )
        return token_pb._GenerateDisposableTokenResponse(
            api_key=api_key, endpoint=self._endpoint, valid_until=valid_until
        )


class _PubsubServicer(pubsub_grpc.PubsubServicer):
    def __init__(self, gate: _Gate, broker: _TopicBroker, heartbeat_interval_seconds: float) -> None:
        self._gate = gate
        self._broker = broker
        self._heartbeat_interval_seconds = heartbeat_interval_seconds

    def Publish(self, request: pubsub_pb._PublishRequest, context: grpc.ServicerContext) -> common_pb2._Empty:
        caller = self._gate.enter("Publish", context)
        self._authorize(caller, request.cache_name, request.topic, TopicAction.PUBLISH, context)
        if request.value.WhichOneof("kind") is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a topic value must be text or binary")
        self._broker.publish(request.cache_name, request.topic, request.value)
        return common_pb2._Empty()

    def Subscribe(
        self, request: pubsub_pb._SubscriptionRequest, context: grpc.ServicerContext
    ) -> Iterator[pubsub_pb._SubscriptionItem]:
        caller = self._gate.enter("Subscribe", context)
        self._authorize(caller, request.cache_name, request.topic, TopicAction.SUBSCRIBE, context)
        inbox, next_sequence_number = self._broker.subscribe(request.cache_name, request.topic)
        # Wakes the loop below as soon as the client cancels or the deadline passes.
        context.add_callback(lambda: inbox.put(_STREAM_CLOSED))
        try:
            # The SDK reads one heartbeat before it reports the subscription as established.
            yield pubsub_pb._SubscriptionItem(heartbeat=pubsub_pb._Heartbeat())
            resume_at = request.resume_at_topic_sequence_number
            if resume_at and resume_at != next_sequence_number:
                # The client asks for `resume_at` (its last item + 1, as the SDKs do), but no history
                # is kept: tell it the stream skips from its last item to the live position.
                yield pubsub_pb._SubscriptionItem(
                    discontinuity=pubsub_pb._Discontinuity(
                        last_topic_sequence=resume_at - 1, new_topic_sequence=next_sequence_number
                    )
                )
            while True:
                try:
                    message = inbox.get(timeout=self._heartbeat_interval_seconds)
                except queue.Empty:
                    message = pubsub_pb._SubscriptionItem(heartbeat=pubsub_pb._Heartbeat())
                if message is _STREAM_CLOSED or not context.is_active():
                    return
                yield message
        finally:
            self._broker.unsubscribe(request.cache_name, request.topic, inbox)

    @staticmethod
    def _authorize(
        caller: TokenClaims, cache_name: str, topic_name: str, action: TopicAction, context: grpc.ServicerContext
    ) -> None:
        if not cache_name or not topic_name:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "cache name and topic name are required")
        if not allows_topic_action(caller, cache_name, topic_name, action):
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"token may not {action.value} on topic {topic_name!r} in cache {cache_name!r}",
            )


class MomentoLocal:
    """A local Momento token service, topics and cache server for tests, the local stack and benchmarks."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        secret: bytes | str | None = None,
        advertised_endpoint: str | None = None,
        max_workers: int = 64,
        heartbeat_interval_seconds: float = 5.0,
        web_port: int | None = None,
        web_allowed_origins: Iterable[str] | None = None,
        caches: Iterable[str] = DEFAULT_CACHES,
    ) -> None:
        if isinstance(secret, str):
            secret = secret.encode()
        self._host = host
        self._requested_port = port
        self._advertised_endpoint = advertised_endpoint
        self._max_workers = max_workers
        self._heartbeat_interval_seconds = heartbeat_interval_seconds
        self._issuer = TokenSigner(secret or secrets.token_bytes(32))
        self._faults = FaultInjector()
        self._broker = _TopicBroker()
        self._cache_store = CacheStore(caches)
        self._server: grpc.Server | None = None
        self._port: int | None = None
        self._web = (
            None
            if web_port is None
            else GrpcWebGateway(self._find_handler, host, web_port, allowed_origins=web_allowed_origins)
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> MomentoLocal:
        if self._server is not None:
            raise RuntimeError("momento_local is already running")
        self._faults.rearm()
        self._broker.reopen()
        # A RecordingServer lets the gRPC-web gateway find every service registered below.
        server = RecordingServer(
            grpc.server(
                futures.ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="momento-local"),
                options=[("grpc.so_reuseport", 0)],
            )
        )
        self._port = server.add_insecure_port(f"{self._host}:{self._requested_port}")
        if self._port == 0:
            raise RuntimeError(f"momento_local could not bind {self._host}:{self._requested_port}")
        gate = _Gate(self._issuer, self._faults)
        # The add_*_to_server functions are generated code, unannotated.
        token_grpc.add_TokenServicer_to_server(  # type: ignore[no-untyped-call]
            _TokenServicer(gate, self._issuer, self.endpoint), server
        )
        pubsub_grpc.add_PubsubServicer_to_server(  # type: ignore[no-untyped-call]
            _PubsubServicer(gate, self._broker, self._heartbeat_interval_seconds), server
        )
        cache_grpc.add_ScsServicer_to_server(CacheServicer(gate, self._cache_store), server)  # type: ignore[no-untyped-call]
        server.start()
        self._server = server
        logger.info("momento_local listening on %s", self.endpoint)
        if self._web is not None:
            try:
                self._web.start()
            except OSError:
                self.stop()
                raise
        return self

    def stop(self, grace_seconds: float = 0.5) -> None:
        """Stop serving: end subscriptions, release hung calls, cancel what is left after the grace."""
        server, self._server = self._server, None
        if server is None:
            return
        self._faults.release_waiters()
        self._broker.close()
        if self._web is not None:
            self._web.stop()
        server.stop(grace_seconds).wait()

    def __enter__(self) -> MomentoLocal:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where it listens -------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("momento_local has not been started")
        return self._port

    @property
    def endpoint(self) -> str:
        """The endpoint returned with every token: `host:port` unless `advertised_endpoint` was given."""
        return self._advertised_endpoint or f"{self._host}:{self.port}"

    @property
    def web_port(self) -> int:
        """The gRPC-web port (`web_port=0` at construction picks a free one)."""
        if self._web is None:
            raise RuntimeError("momento_local was created without web_port: gRPC-web is off")
        return self._web.port

    @property
    def web_endpoint(self) -> str:
        """The gRPC-web URL for browsers, e.g. `http://127.0.0.1:54322` (sdk-web's endpoint override)."""
        if self._web is None:
            raise RuntimeError("momento_local was created without web_port: gRPC-web is off")
        return self._web.url

    def _find_handler(self, method: str) -> grpc.RpcMethodHandler | None:
        return self._server.find_handler(method) if isinstance(self._server, RecordingServer) else None

    # -- keys and tokens ----------------------------------------------------------------------------

    def create_api_key(self, *, valid_for_seconds: int | None = None) -> str:
        """An API key this server accepts, with full access: a v2-shaped JWT (claim `t: "g"`)."""
        return self._issuer.create_api_key(valid_for_seconds=valid_for_seconds)

    def mint_disposable_token(
        self,
        permissions: permissions_pb.Permissions,
        *,
        valid_for_seconds: int,
        token_id: str | None = None,
        issued_at: int | None = None,
    ) -> str:
        """A disposable token made directly, without the RPC or its validation (e.g. already expired)."""
        token, _ = self._issuer.mint_disposable_token(
            permissions, valid_for_seconds=valid_for_seconds, token_id=token_id, issued_at=issued_at
        )
        return token

    def decode_token(self, token: str, *, verify_expiry: bool = True) -> TokenClaims:
        """Verify and parse an API key, a minted `api_key` JWT or the SDK's wrapped `auth_token`.

        Raises tokens.InvalidTokenError (ExpiredTokenError when expired and `verify_expiry`).
        """
        return self._issuer.decode(token, verify_expiry=verify_expiry)

    def credential_provider(self, api_key: str | None = None) -> CredentialProvider:
        """A real-SDK CredentialProvider for this server (a fresh API key unless one is given)."""
        return local_credential_provider(api_key or self.create_api_key(), self.endpoint)

    def subscriber_count(self, cache_name: str, topic_name: str) -> int:
        """Open subscriptions on a topic (drops back once a client unsubscribes)."""
        return self._broker.subscriber_count(cache_name, topic_name)

    # -- caches -----------------------------------------------------------------------------------------

    @property
    def caches(self) -> frozenset[str]:
        """The caches the cache service holds; a call naming any other gets NOT_FOUND."""
        return self._cache_store.cache_names

    def add_cache(self, cache_name: str) -> None:
        """Create a cache (a no-op if it exists); allowed while the server runs."""
        self._cache_store.add_cache(cache_name)

    # -- fault injection and call counts --------------------------------------------------------------

    def inject_fault(
        self,
        rpc: str,
        status: grpc.StatusCode | None = None,
        *,
        times: int | None = 1,
        delay_seconds: float = 0.0,
        details: str | None = None,
    ) -> None:
        """Make the next `times` calls (None: all) of `rpc` wait `delay_seconds`, then fail with
        `status` (or succeed slowly when `status` is None). `rpc` is GenerateDisposableToken,
        Publish, Subscribe, Get, Set or Delete."""
        self._faults.inject(rpc, status, times=times, delay_seconds=delay_seconds, details=details)

    def clear_faults(self) -> None:
        self._faults.clear()

    def call_count(self, rpc: str) -> int:
        """Calls of `rpc` received so far, failed ones included."""
        return self._faults.call_count(rpc)

    def reset_call_counts(self) -> None:
        self._faults.reset_call_counts()


def local_credential_provider(api_key: str, endpoint: str) -> CredentialProvider:
    """A real-SDK CredentialProvider sending `api_key` to a local server at `endpoint` ("host:port").

    A port other than 443 makes the SDK open an insecure channel to host:port, and the key travels
    in the `authorization` header (`CredentialProvider.for_momento_local` would send an empty key).
    """
    from momento import CredentialProvider

    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected a host:port endpoint, got {endpoint!r}")
    return CredentialProvider(api_key, host, host, host, int(port))


def credential_provider_from_auth_token(auth_token: str) -> CredentialProvider:
    """A CredentialProvider for a vended `auth_token` (base64 JSON `{"endpoint", "api_key"}`) whose
    endpoint is a local server's host:port. `CredentialProvider.from_disposable_token` would target
    `cache.<endpoint>:443` over TLS instead."""
    wrapper = json.loads(base64.b64decode(auth_token))
    return local_credential_provider(wrapper["api_key"], wrapper["endpoint"])
