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
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any, Final

from .models import VendedToken
from .protocols import AsyncTokenSource, TokenSource

try:
    from momento import CredentialProvider, TopicClient, TopicClientAsync, TopicConfigurations
    from momento.config import TopicConfiguration
    from momento.responses import TopicPublishResponse

    from ._topic_stream import SubscriptionRefused, TopicItem, open_topic_stream
except ImportError as exc:  # momento is an optional dependency of the client
    raise ImportError(
        "the Momento topic helpers need the momento SDK: pip install 'momento-tvm-client[topics]'"
    ) from exc

logger = logging.getLogger("momento_tvm_client")

# A subscription is renewed with a fresh token this long before its token expires (at most half
# the token's remaining life), and its gRPC deadline is set this far beyond the token's expiry.
SUBSCRIPTION_RENEW_MARGIN_SECONDS: Final = 30.0
_STREAM_DEADLINE_SLACK_SECONDS: Final = 60.0
_MAX_CONSECUTIVE_FAILURES: Final = 5


class TopicError(Exception):
    """Momento refused a subscription or publish made with a vended token."""

    def __init__(self, operation: str, error_code: Any, message: str) -> None:
        self.error_code = error_code
        super().__init__(f"momento {operation} failed ({error_code}): {message}")


@dataclass(frozen=True, slots=True)
class TokenParts:
    """The parts of a base64 vended token (``api_key`` is a secret: never log it)."""

    endpoint: str
    api_key: str

    def __repr__(self) -> str:
        return f"TokenParts(endpoint={self.endpoint!r}, api_key=<redacted>)"


def decode_vended_token(auth_token: str) -> TokenParts | None:
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
    return TokenParts(endpoint=endpoint, api_key=api_key)


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
    vending client hands out a new token. Thread-safe.

    ``cache_name`` and ``topic_name`` choose another topic the token covers; a client vending a list
    of permissions has none of its own, so they are required with it.
    """

    def __init__(
        self,
        vending_client: TokenSource,
        *,
        cache_name: str | None = None,
        topic_name: str | None = None,
        local_endpoint: str | None = None,
        configuration: TopicConfiguration | None = None,
    ) -> None:
        self._vending = vending_client
        self._cache_name, self._topic_name = _topic_of(vending_client, cache_name, topic_name)
        self._local_endpoint = local_endpoint
        self._configuration = configuration
        self._lock = threading.Lock()
        self._token: VendedToken | None = None
        self._topic_client: TopicClient | None = None

    def publish(self, value: str | bytes) -> TopicPublishResponse:
        """Publish ``value``; the momento response (``TopicPublish.Success`` or ``.Error``)."""
        return self._current_topic_client().publish(self._cache_name, self._topic_name, value)

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
    vending_client: AsyncTokenSource,
    *,
    cache_name: str | None = None,
    topic_name: str | None = None,
    local_endpoint: str | None = None,
    configuration: TopicConfiguration | None = None,
) -> AsyncIterator[TopicItem]:
    """Yield the messages of the vending client's topic (or of ``cache_name``/``topic_name``, which a
    client vending a list of permissions needs) for as long as you iterate.

    Each subscription runs on one token; shortly before that token expires the subscription is
    renewed on a fresh one, resuming after the last message seen (duplicates are skipped). A refused
    subscription or a broken stream is retried with backoff; ``TopicError`` after 5 failures in a row.
    """
    session = _Subscription(
        vending_client,
        _topic_of(vending_client, cache_name, topic_name),
        local_endpoint,
        configuration or TopicConfigurations.Default.latest(),
    )
    while True:
        # aclosing: when the caller stops iterating, the session's stream is closed now, not at collection.
        async with aclosing(session.run_once()) as items:
            async for item in items:
                yield item


class _Subscription:
    """The state ``subscribe`` carries from one session (one token, one gRPC stream) to the next."""

    def __init__(
        self,
        source: AsyncTokenSource,
        topic: tuple[str, str],
        local_endpoint: str | None,
        configuration: TopicConfiguration,
    ) -> None:
        self._source = source
        self._cache_name, self._topic_name = topic
        self._local_endpoint = local_endpoint
        self._configuration = configuration
        self._last_seen: tuple[int, int] | None = None
        self._renewed_from: VendedToken | None = None
        self._failures = 0

    async def run_once(self) -> AsyncGenerator[TopicItem]:
        """One session: the new messages until it is time to renew the token or the stream breaks."""
        token = await self._token()
        remaining = token.seconds_remaining(time.time())
        session_seconds = max(1.0, remaining - min(SUBSCRIPTION_RENEW_MARGIN_SECONDS, remaining / 2))
        loop = asyncio.get_running_loop()
        try:
            async with open_topic_stream(
                credential_provider_from_token(token, local_endpoint=self._local_endpoint),
                self._configuration,
                self._cache_name,
                self._topic_name,
                resume_at=self._last_seen or (0, 0),
                # The deadline covers the whole stream: keep it past the token's life.
                timeout=timedelta(seconds=remaining + _STREAM_DEADLINE_SLACK_SECONDS),
            ) as stream:
                session_end = loop.time() + session_seconds
                async for item in stream.items_until(session_end):
                    self._failures = 0
                    if self._is_new(item):
                        yield item
        except SubscriptionRefused as refusal:
            logger.warning("subscribe failed (%s); retrying", refusal.error_code)
            await self._after_failure(refusal.error_code, refusal.message)
            return
        if loop.time() >= session_end:
            self._renewed_from = token
        else:
            await self._after_failure("STREAM_BROKEN", "the subscription stream keeps breaking")

    async def _token(self) -> VendedToken:
        token = await self._source.get_token()
        if token is self._renewed_from:
            # The client's own refresh point may lie a moment later than ours: vend now.
            self._source.invalidate()
            token = await self._source.get_token()
        return token

    def _is_new(self, item: TopicItem) -> bool:
        position = (item.sequence_page, item.sequence_number)
        last_seen = self._last_seen
        if last_seen is not None and position[0] == last_seen[0] and position <= last_seen:
            return False
        self._last_seen = position
        return True

    async def _after_failure(self, error_code: Any, message: str) -> None:
        """Back off before the next session, or raise ``TopicError`` after too many failures in a row."""
        self._failures += 1
        if self._failures >= _MAX_CONSECUTIVE_FAILURES:
            raise TopicError("subscribe", error_code, message)
        await asyncio.sleep(_backoff(self._failures))


def _topic_of(
    source: TokenSource | AsyncTokenSource, cache_name: str | None, topic_name: str | None
) -> tuple[str, str]:
    """The topic to use: the one named here, else the vending client's own."""
    cache = source.cache_name if cache_name is None else cache_name
    topic = source.topic_name if topic_name is None else topic_name
    if not cache or not topic:
        raise ValueError("name the topic with cache_name and topic_name: the vending client has none of its own")
    return cache, topic


def _backoff(failures: int) -> float:
    return min(5.0, 0.25 * 2.0 ** (failures - 1))


def _has_port(endpoint: str) -> bool:
    host, sep, port = endpoint.rpartition(":")
    return bool(sep and host and port.isdigit())


def _local_provider(api_key: str, endpoint: str) -> CredentialProvider:
    if not _has_port(endpoint):
        raise ValueError(f"local endpoint must be host:port, got {endpoint!r}")
    host, _, port = endpoint.rpartition(":")
    host = host.strip("[]")
    return CredentialProvider(api_key, host, host, host, int(port))
