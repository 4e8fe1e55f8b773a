"""From a vended token to Momento Topics: credential providers, topic clients, a publisher and a
subscription that both outlive the token they started with.

A Momento vended token is base64 of JSON ``{"endpoint": ..., "api_key": "<jwt>"}``. A real endpoint
(``cell-1.prod.a.momentohq.com``) goes through ``CredentialProvider.from_disposable_token``: TLS to
``cache.<endpoint>:443``. An endpoint with an explicit port (``127.0.0.1:50051``, as the local
Momento service of this repository answers), or a ``local_endpoint`` you pass, means a local server:
the provider is built directly, and any port other than 443 gives an insecure channel.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

import grpc
from momento import CredentialProvider, TopicClient, TopicClientAsync, TopicConfigurations
from momento.config import TopicConfiguration
from momento.responses import TopicPublishResponse, TopicSubscribe, TopicSubscriptionItem

from .models import VendedToken

if TYPE_CHECKING:
    from .async_client import AsyncTokenVendingClient
    from .client import TokenVendingClient

logger = logging.getLogger("momento_tvm_client")

# A subscription is renewed with a fresh token this long before its token expires (at most half
# the token's remaining life), and its gRPC deadline is set this far beyond the token's expiry.
SUBSCRIPTION_RENEW_MARGIN_SECONDS = 30.0
_STREAM_DEADLINE_SLACK_SECONDS = 60.0
_MAX_CONSECUTIVE_FAILURES = 5


class TopicError(Exception):
    """Momento refused a subscription or publish made with a vended token."""

    def __init__(self, operation: str, error_code: Any, message: str) -> None:
        self.error_code = error_code
        super().__init__(f"momento {operation} failed ({error_code}): {message}")


@dataclass(frozen=True, slots=True)
class DecodedToken:
    """The parts of a base64 vended token (``api_key`` is a secret: never log it)."""

    endpoint: str
    api_key: str

    def __repr__(self) -> str:
        return f"DecodedToken(endpoint={self.endpoint!r}, api_key=<redacted>)"


def decode_vended_token(auth_token: str) -> DecodedToken | None:
    """The endpoint and API key in a base64 JSON token; None for other formats (e.g. a bare JWT)."""
    try:
        info = json.loads(base64.b64decode(auth_token, validate=True))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    endpoint, api_key = info.get("endpoint"), info.get("api_key")
    if not isinstance(endpoint, str) or not isinstance(api_key, str) or not endpoint or not api_key:
        return None
    return DecodedToken(endpoint=endpoint, api_key=api_key)


def credential_provider_from_token(
    token: VendedToken | str, *, local_endpoint: str | None = None
) -> CredentialProvider:
    """A momento ``CredentialProvider`` for a vended token (a ``VendedToken`` or its ``auth_token``).

    ``local_endpoint`` (``"host:port"``) forces a local server; otherwise an endpoint with an explicit
    port in the token means local, and anything else is real Momento.
    """
    auth_token = token.auth_token if isinstance(token, VendedToken) else token
    decoded = decode_vended_token(auth_token)
    if local_endpoint is not None:
        api_key = decoded.api_key if decoded is not None else auth_token
        return _local_provider(api_key, local_endpoint)
    if decoded is not None and _has_port(decoded.endpoint):
        return _local_provider(decoded.api_key, decoded.endpoint)
    return CredentialProvider.from_disposable_token(auth_token)


def topic_client_from_token(
    token: VendedToken | str,
    *,
    local_endpoint: str | None = None,
    configuration: TopicConfiguration | None = None,
) -> TopicClient:
    """A synchronous ``TopicClient`` that uses the token (and keeps it: rebuild it after a refresh)."""
    return TopicClient(
        configuration or TopicConfigurations.Default.latest(),
        credential_provider_from_token(token, local_endpoint=local_endpoint),
    )


def async_topic_client_from_token(
    token: VendedToken | str,
    *,
    local_endpoint: str | None = None,
    configuration: TopicConfiguration | None = None,
) -> TopicClientAsync:
    """A ``TopicClientAsync`` that uses the token (and keeps it: rebuild it after a refresh)."""
    return TopicClientAsync(
        configuration or TopicConfigurations.Default.latest(),
        credential_provider_from_token(token, local_endpoint=local_endpoint),
    )


class RefreshingTopicPublisher:
    """Publishes to the vending client's cache and topic, rebuilding its ``TopicClient`` whenever the
    vending client hands out a new token. Thread-safe."""

    def __init__(
        self,
        vending_client: TokenVendingClient,
        *,
        local_endpoint: str | None = None,
        configuration: TopicConfiguration | None = None,
    ) -> None:
        self._vending = vending_client
        self._local_endpoint = local_endpoint
        self._configuration = configuration
        self._lock = threading.Lock()
        self._token: VendedToken | None = None
        self._topic_client: TopicClient | None = None

    def publish(self, value: str | bytes) -> TopicPublishResponse:
        """Publish ``value``; the momento response (``TopicPublish.Success`` or ``.Error``)."""
        return self._current_topic_client().publish(self._vending.cache_name, self._vending.topic_name, value)

    def close(self) -> None:
        with self._lock:
            if self._topic_client is not None:
                self._topic_client.close()
            self._topic_client = self._token = None

    def __enter__(self) -> RefreshingTopicPublisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _current_topic_client(self) -> TopicClient:
        token = self._vending.get_token()
        with self._lock:
            if self._topic_client is None or token is not self._token:
                if self._topic_client is not None:
                    self._topic_client.close()
                self._topic_client = topic_client_from_token(
                    token, local_endpoint=self._local_endpoint, configuration=self._configuration
                )
                self._token = token
            return self._topic_client


async def subscribe(
    vending_client: AsyncTokenVendingClient,
    *,
    local_endpoint: str | None = None,
    configuration: TopicConfiguration | None = None,
) -> AsyncIterator[TopicSubscriptionItem.Text | TopicSubscriptionItem.Binary]:
    """Yield the messages of the vending client's topic for as long as you iterate.

    Each subscription runs on one token; shortly before that token expires the subscription is
    renewed on a fresh one, resuming after the last message seen (duplicates are skipped). A refused
    subscription or a broken stream is retried with backoff; ``TopicError`` after 5 failures in a row.
    """
    base_configuration = configuration or TopicConfigurations.Default.latest()
    loop = asyncio.get_running_loop()
    last_seen: tuple[int, int] | None = None
    renewed_from: VendedToken | None = None
    failures = 0
    while True:
        token = await vending_client.get_token()
        if token is renewed_from:
            # The client's own refresh point may lie a moment later than ours: vend now.
            vending_client.invalidate()
            token = await vending_client.get_token()
        remaining = token.seconds_remaining(time.time())
        session_seconds = max(1.0, remaining - min(SUBSCRIPTION_RENEW_MARGIN_SECONDS, remaining / 2))
        # The SDK applies its client deadline to the whole stream: keep it past the token's life.
        session_configuration = base_configuration.with_client_timeout(
            timedelta(seconds=remaining + _STREAM_DEADLINE_SLACK_SECONDS)
        )
        async with async_topic_client_from_token(
            token, local_endpoint=local_endpoint, configuration=session_configuration
        ) as topic_client:
            resume_page, resume_number = last_seen or (0, 0)
            subscription = await topic_client.subscribe(
                vending_client.cache_name, vending_client.topic_name, resume_number, resume_page
            )
            if isinstance(subscription, TopicSubscribe.Error):
                failures += 1
                if failures >= _MAX_CONSECUTIVE_FAILURES:
                    raise TopicError("subscribe", subscription.error_code, subscription.message)
                logger.warning("subscribe failed (%s); retrying", subscription.error_code)
                await asyncio.sleep(_backoff(failures))
                continue
            assert isinstance(subscription, TopicSubscribe.SubscriptionAsync)
            session_end = loop.time() + session_seconds
            try:
                async for item in _items_until(subscription, session_end):
                    failures = 0
                    position = (item.sequence_page, item.sequence_number)
                    if last_seen is not None and position[0] == last_seen[0] and position <= last_seen:
                        continue
                    last_seen = position
                    yield item
            finally:
                subscription.unsubscribe()
        if loop.time() >= session_end:
            renewed_from = token
        else:
            failures += 1
            if failures >= _MAX_CONSECUTIVE_FAILURES:
                raise TopicError("subscribe", "STREAM_BROKEN", "the subscription stream keeps breaking")
            await asyncio.sleep(_backoff(failures))


async def _items_until(
    subscription: TopicSubscribe.SubscriptionAsync, deadline: float
) -> AsyncIterator[TopicSubscriptionItem.Text | TopicSubscriptionItem.Binary]:
    """The subscription's messages until loop time ``deadline``, ending early if the stream breaks.

    Reads the gRPC stream the SDK wraps: the SDK's own iterator retries a failed read forever
    without yielding to the event loop (momento 1.29), which would hang the program.
    """
    stream = subscription._client_stream
    loop = asyncio.get_running_loop()
    while (left := deadline - loop.time()) > 0:
        try:
            raw = await asyncio.wait_for(stream.read(), left)
        except TimeoutError:
            return
        except grpc.aio.AioRpcError as exc:
            logger.warning("subscription stream ended (%s); resubscribing", exc.code())
            return
        if raw is grpc.aio.EOF:
            return
        item = subscription._process_result(raw)
        if isinstance(item, TopicSubscriptionItem.Text | TopicSubscriptionItem.Binary):
            yield item


def _backoff(failures: int) -> float:
    return min(5.0, 0.25 * 2 ** (failures - 1))


def _has_port(endpoint: str) -> bool:
    host, sep, port = endpoint.rpartition(":")
    return bool(sep and host and port.isdigit())


def _local_provider(api_key: str, endpoint: str) -> CredentialProvider:
    if not _has_port(endpoint):
        raise ValueError(f"local endpoint must be host:port, got {endpoint!r}")
    host, _, port = endpoint.rpartition(":")
    host = host.strip("[]")
    return CredentialProvider(api_key, host, host, host, int(port))
