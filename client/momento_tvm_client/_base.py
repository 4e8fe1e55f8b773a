"""What the sync and async clients share: configuration (the one constructor both inherit), the
token cache and its freshness rules, request building and answer interpretation. Everything here is
free of I/O; the two clients add only their HTTP client, the HTTP call, the sleep between retries
and their own kind of lock.
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Final, Generic, TypeVar

import httpx

from .errors import TokenVendingError, TokenVendingNetworkError, TokenVendingTimeoutError
from .models import VendedToken
from .parsing import DEFAULT_TOKEN_LIFETIME_SECONDS, parse_error_response, parse_token_response
from .permissions import PermissionLike, TokenPermission, normalize_permissions
from .retry import RetryPolicy

logger = logging.getLogger("momento_tvm_client")

DEFAULT_REFRESH_BUFFER_SECONDS: Final = 60.0
DEFAULT_TIMEOUT_SECONDS: Final = 5.0
DEFAULT_STALE_RETRY_INTERVAL_SECONDS: Final = 5.0
USER_AGENT: Final = "momento-tvm-client/0.1"

Clock = Callable[[], float]

# The HTTP client of a vending client: ``httpx.Client`` for the sync one, ``httpx.AsyncClient`` for asyncio.
HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)


class _CacheEntry:
    """The cached token and the Unix time from which it counts as due for refresh (immutable)."""

    __slots__ = ("refresh_at", "token")

    def __init__(self, token: VendedToken, refresh_at: float) -> None:
        self.token = token
        self.refresh_at = refresh_at


class TokenVendingClientBase(ABC, Generic[HttpT]):
    """Configuration and cache logic common to ``TokenVendingClient`` and ``AsyncTokenVendingClient``,
    which inherit this constructor: its keyword arguments are described on ``__init__``.
    """

    def __init__(
        self,
        url: str,
        cache_name: str | None = None,
        topic_name: str | None = None,
        *,
        permissions: Iterable[PermissionLike] | None = None,
        http_client: HttpT | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_SECONDS,
        refresh_buffer: float = DEFAULT_REFRESH_BUFFER_SECONDS,
        retry: RetryPolicy | None = None,
        serve_stale_on_error: bool = True,
        stale_retry_interval: float = DEFAULT_STALE_RETRY_INTERVAL_SECONDS,
        default_token_lifetime: float = DEFAULT_TOKEN_LIFETIME_SECONDS,
        clock: Clock = time.time,
    ) -> None:
        """The arguments of both vending clients:

        - ``url``: the vending machine endpoint, called with POST ``{"cacheName", "topicName"}``.
        - ``permissions``: instead of ``cache_name`` and ``topic_name``, 1 to 20 permissions
          (``TopicPermission``, ``CachePermission`` or dicts in the wire shape), vended with POST
          ``{"permissions": [...]}``. ``ValueError`` if both forms, or neither, are given.
        - ``http_client``: an ``httpx.Client`` (``httpx.AsyncClient`` for the async client) to send the
          requests with; the caller then closes it. Default: the client opens and closes its own.
        - ``headers``: extra request headers (an ``Authorization`` header, say).
        - ``timeout``: seconds per request (or an ``httpx.Timeout``), default 5.
        - ``refresh_buffer``: a token is refreshed once fewer than this many seconds remain (default 60;
          capped at half the token's lifetime so short-lived tokens are not refreshed on every call).
        - ``retry``: a ``RetryPolicy`` (default: 3 attempts, 429/503/network errors, Retry-After honoured).
        - ``serve_stale_on_error``: when a refresh fails and the cached token has not expired yet, return
          it (and log a warning) instead of raising; the next attempt comes ``stale_retry_interval``
          seconds later. Once the token has expired the error is raised. Default True.
        - ``default_token_lifetime``: assumed lifetime of a token whose answer has neither ``expires_at``
          nor ``expires_in`` (default 300 s).
        - ``clock``: the Unix-time source, injectable for tests (default ``time.time``).
        """
        if not url:
            raise ValueError("url is required")
        if refresh_buffer < 0 or stale_retry_interval < 0 or default_token_lifetime <= 0:
            raise ValueError("refresh_buffer and stale_retry_interval must be >= 0, default lifetime > 0")
        self._url = url
        self._cache_name = cache_name
        self._topic_name = topic_name
        self._permissions = _checked_permissions(cache_name, topic_name, permissions)
        self._headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": USER_AGENT,
            **(headers or {}),
        }
        self._body = json.dumps(self._request_document()).encode()
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._refresh_buffer = refresh_buffer
        self._retry = retry or RetryPolicy()
        self._serve_stale_on_error = serve_stale_on_error
        self._stale_retry_interval = stale_retry_interval
        self._default_token_lifetime = default_token_lifetime
        self._clock = clock
        self._entry: _CacheEntry | None = None
        self._init_transport(http_client)

    @abstractmethod
    def _init_transport(self, http_client: HttpT | None) -> None:
        """Set up the HTTP client (``http_client``, or else one of the subclass's own, which it closes)
        and the state of an in-flight refresh; the last step of ``__init__``."""

    @property
    def url(self) -> str:
        return self._url

    @property
    def cache_name(self) -> str | None:
        return self._cache_name

    @property
    def topic_name(self) -> str | None:
        return self._topic_name

    @property
    def permissions(self) -> tuple[TokenPermission, ...]:
        """The permissions each token is vended for; empty for a client of one cache and topic."""
        return self._permissions

    @property
    def cached_token(self) -> VendedToken | None:
        """The token in the cache, fresh or not, without any request."""
        entry = self._entry
        return entry.token if entry is not None else None

    def invalidate(self) -> None:
        """Forget the cached token, so the next ``get_token()`` vends a new one (e.g. after Momento
        rejected it)."""
        self._entry = None

    def __repr__(self) -> str:
        if self._permissions:
            return f"{type(self).__name__}(url={self._url!r}, permissions={list(self._permissions)!r})"
        return (
            f"{type(self).__name__}(url={self._url!r}, cache_name={self._cache_name!r}, "
            f"topic_name={self._topic_name!r})"
        )

    def _request_document(self) -> dict[str, object]:
        if self._permissions:
            return {"permissions": [permission.to_json() for permission in self._permissions]}
        return {"cacheName": self._cache_name, "topicName": self._topic_name}

    def _fresh_token(self) -> VendedToken | None:
        entry = self._entry
        if entry is not None and self._clock() < entry.refresh_at:
            return entry.token
        return None

    def _interpret(self, status: int, headers: Mapping[str, str], content: bytes) -> VendedToken:
        now = self._clock()
        if 200 <= status < 300:
            return parse_token_response(content, now, self._default_token_lifetime)
        raise parse_error_response(status, content, headers, now)

    def _store(self, token: VendedToken) -> VendedToken:
        # A token shorter-lived than twice the buffer is refreshed at half its life, not at once.
        lifetime = token.expires_at - self._clock()
        buffer = min(self._refresh_buffer, lifetime / 2)
        self._entry = _CacheEntry(token, token.expires_at - buffer)
        return token

    def _stale_after_failure(self, error: TokenVendingError) -> VendedToken | None:
        """The still-valid cached token to serve after a failed refresh, or None to raise ``error``.

        Serving it pushes the next attempt ``stale_retry_interval`` seconds away (never past expiry),
        so a vending machine outage does not turn every ``get_token()`` into a failing request.
        """
        entry = self._entry
        now = self._clock()
        if not self._serve_stale_on_error or entry is None or now >= entry.token.expires_at:
            return None
        token = entry.token
        self._entry = _CacheEntry(token, min(now + self._stale_retry_interval, token.expires_at))
        logger.warning(
            "token refresh failed (%s); serving the cached token, valid for %.0f more seconds",
            error,
            token.expires_at - now,
        )
        return token

    def _delay_before_retry(self, error: TokenVendingError, attempt: int) -> float | None:
        delay = self._retry.delay_before_retry(error, attempt)
        if delay is not None:
            logger.info("token vend attempt %d failed (%s); retrying in %.2f s", attempt, error, delay)
        return delay


def _checked_permissions(
    cache_name: str | None, topic_name: str | None, permissions: Iterable[PermissionLike] | None
) -> tuple[TokenPermission, ...]:
    """The permissions of the second request form, or () for the original one; ``ValueError`` unless
    exactly one form is given."""
    if permissions is not None:
        if cache_name is not None or topic_name is not None:
            raise ValueError("pass cache_name and topic_name, or permissions, not both")
        return normalize_permissions(permissions)
    if not cache_name or not topic_name:
        raise ValueError("cache_name and topic_name are required (or pass permissions=[...])")
    return ()


def translate_transport_error(exc: httpx.HTTPError, url: str) -> TokenVendingError:
    """An httpx failure without an HTTP answer, as one of our exceptions."""
    if isinstance(exc, httpx.TimeoutException):
        return TokenVendingTimeoutError(f"token vending machine at {url} timed out ({type(exc).__name__})")
    return TokenVendingNetworkError(f"could not reach the token vending machine at {url}: {type(exc).__name__}: {exc}")
