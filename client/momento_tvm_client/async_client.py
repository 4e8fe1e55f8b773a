"""The asyncio client: concurrent callers share one in-flight refresh."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from ._base import TokenVendingClientBase, translate_transport_error
from .errors import TokenVendingError
from .models import VendedToken

if TYPE_CHECKING:
    from datetime import timedelta

    from momento import CacheClientAsync, TopicClientAsync
    from momento.config import Configuration, TopicConfiguration


class AsyncTokenVendingClient(TokenVendingClientBase[httpx.AsyncClient]):
    """Vends tokens for one cache and topic (or for a list of ``permissions``) and keeps the current
    one, for asyncio code.

    ``await get_token()`` answers from memory while more than ``refresh_buffer`` seconds of the token
    remain; otherwise every concurrent caller awaits one shared refresh task (shielded, so a caller
    that is cancelled does not cancel the refresh for the others).

    The client may be created outside a running loop. It binds nothing to a loop until the first
    request, and if it is later used from another loop (a second ``asyncio.run``), it opens a new
    HTTP connection pool for that loop. It is not meant to be shared between threads running
    different loops. Pass ``http_client`` to use your own ``httpx.AsyncClient`` (you then close it,
    and keep it on one loop). All the arguments are described on ``TokenVendingClientBase.__init__``.
    """

    _given_http: httpx.AsyncClient | None
    _http: httpx.AsyncClient | None
    _http_loop: asyncio.AbstractEventLoop | None
    _flight: asyncio.Task[VendedToken] | None

    def _init_transport(self, http_client: httpx.AsyncClient | None) -> None:
        # Nothing is bound to a loop yet: the own HTTP client is opened on the first request.
        self._given_http = self._http = http_client
        self._http_loop = None
        self._flight = None

    async def get_token(self) -> VendedToken:
        """The cached token while it is fresh, else a newly vended one.

        Raises ``TokenVendingError`` subclasses when no valid token can be had.
        """
        entry = self._entry
        if entry is not None and self._clock() < entry.refresh_at:
            return entry.token
        loop = asyncio.get_running_loop()
        flight = self._flight
        if flight is None or flight.get_loop() is not loop:
            flight = loop.create_task(self._refresh())
            flight.add_done_callback(_consume_exception)
            self._flight = flight
        return await asyncio.shield(flight)

    async def topic_client(
        self,
        *,
        local_endpoint: str | None = None,
        configuration: TopicConfiguration | None = None,
    ) -> TopicClientAsync:
        """A momento ``TopicClientAsync`` built on the current token.

        The TopicClientAsync keeps that token: build a new one after the token is refreshed
        (``momento_tvm_client.topics.subscribe`` does so for long-lived subscriptions).
        """
        from .topics import async_topic_client_from_token

        return async_topic_client_from_token(
            await self.get_token(), local_endpoint=local_endpoint, configuration=configuration
        )

    async def cache_client(
        self,
        *,
        local_endpoint: str | None = None,
        configuration: Configuration | None = None,
        default_ttl: timedelta | None = None,
    ) -> CacheClientAsync:
        """A momento ``CacheClientAsync`` built on the current token (vend one with cache permissions).

        It keeps that token: build a new one after the token is refreshed.
        """
        from .cache import async_cache_client_from_token

        return async_cache_client_from_token(
            await self.get_token(), local_endpoint=local_endpoint, configuration=configuration, default_ttl=default_ttl
        )

    async def aclose(self) -> None:
        if self._given_http is None and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> AsyncTokenVendingClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _refresh(self) -> VendedToken:
        try:
            token = self._fresh_token()
            if token is not None:
                return token
            try:
                return self._store(await self._vend())
            except TokenVendingError as error:
                stale = self._stale_after_failure(error)
                if stale is None:
                    raise
                return stale
        finally:
            if self._flight is asyncio.current_task():
                self._flight = None

    async def _vend(self) -> VendedToken:
        attempt = 1
        while True:
            try:
                return await self._exchange()
            except TokenVendingError as error:
                delay = self._delay_before_retry(error, attempt)
                if delay is None:
                    raise
            await asyncio.sleep(delay)
            attempt += 1

    async def _exchange(self) -> VendedToken:
        try:
            response = await self._http_for_running_loop().post(
                self._url, content=self._body, headers=self._headers, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise translate_transport_error(exc, self._url) from exc
        return self._interpret(response.status_code, response.headers, response.content)

    def _http_for_running_loop(self) -> httpx.AsyncClient:
        if self._given_http is not None:
            return self._given_http
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop:
            # Pooled connections belong to the loop that opened them; a new loop needs a new pool.
            self._http = httpx.AsyncClient(timeout=self._timeout)
            self._http_loop = loop
        return self._http


def _consume_exception(task: asyncio.Task[VendedToken]) -> None:
    # Every caller may have been cancelled; mark the failure as seen so asyncio does not log it.
    if not task.cancelled():
        task.exception()
