"""The synchronous client: thread-safe, one HTTP request per refresh however many threads ask."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from ._base import TokenVendingClientBase, translate_transport_error
from .errors import TokenVendingError
from .models import VendedToken

if TYPE_CHECKING:
    from datetime import timedelta

    from momento import CacheClient, TopicClient
    from momento.config import Configuration, TopicConfiguration


class TokenVendingClient(TokenVendingClientBase[httpx.Client]):
    """Vends tokens for one cache and topic (or for a list of ``permissions``) and keeps the current one.

    ``get_token()`` answers from memory, without a lock, while more than ``refresh_buffer`` seconds
    of the token remain; otherwise one thread vends a new token while the others wait for that same
    result. Pass ``http_client`` to share an ``httpx.Client`` (the caller then closes it).
    All the arguments are described on ``TokenVendingClientBase.__init__``.
    """

    _owns_http: bool
    _http: httpx.Client
    _lock: threading.Lock
    _flight: Future[VendedToken] | None

    def _init_transport(self, http_client: httpx.Client | None) -> None:
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self._timeout)
        self._lock = threading.Lock()
        self._flight = None

    def get_token(self) -> VendedToken:
        """The cached token while it is fresh, else a newly vended one.

        Raises ``TokenVendingError`` subclasses when no valid token can be had.
        """
        entry = self._entry
        if entry is not None and self._clock() < entry.refresh_at:
            return entry.token
        with self._lock:
            token = self._fresh_token()
            if token is not None:
                return token
            flight = self._flight
            leader = flight is None
            if flight is None:
                flight = self._flight = Future()
        if not leader:
            return flight.result()
        try:
            token = self._refresh()
        except BaseException as exc:
            self._land()
            flight.set_exception(exc)
            raise
        self._land()
        flight.set_result(token)
        return token

    def topic_client(
        self,
        *,
        local_endpoint: str | None = None,
        configuration: TopicConfiguration | None = None,
    ) -> TopicClient:
        """A momento ``TopicClient`` built on the current token.

        The TopicClient keeps that token: build a new one after the token is refreshed
        (or use ``momento_tvm_client.topics.RefreshingTopicPublisher``).
        """
        from .topics import topic_client_from_token

        return topic_client_from_token(self.get_token(), local_endpoint=local_endpoint, configuration=configuration)

    def cache_client(
        self,
        *,
        local_endpoint: str | None = None,
        configuration: Configuration | None = None,
        default_ttl: timedelta | None = None,
    ) -> CacheClient:
        """A momento ``CacheClient`` built on the current token (vend one with cache permissions).

        Like ``topic_client()``, it keeps that token: build a new one after the token is refreshed.
        """
        from .cache import cache_client_from_token

        return cache_client_from_token(
            self.get_token(), local_endpoint=local_endpoint, configuration=configuration, default_ttl=default_ttl
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> TokenVendingClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _land(self) -> None:
        with self._lock:
            self._flight = None

    def _refresh(self) -> VendedToken:
        try:
            return self._store(self._vend())
        except TokenVendingError as error:
            stale = self._stale_after_failure(error)
            if stale is None:
                raise
            return stale

    def _vend(self) -> VendedToken:
        attempt = 1
        while True:
            try:
                return self._exchange()
            except TokenVendingError as error:
                delay = self._delay_before_retry(error, attempt)
                if delay is None:
                    raise
            time.sleep(delay)
            attempt += 1

    def _exchange(self) -> VendedToken:
        try:
            response = self._http.post(self._url, content=self._body, headers=self._headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise translate_transport_error(exc, self._url) from exc
        return self._interpret(response.status_code, response.headers, response.content)
