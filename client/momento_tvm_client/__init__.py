"""A Python client for the Momento token vending machine: tokens that refresh themselves.

The momento helpers (``topic_client_from_token``, ``cache_client_from_token`` and friends) are
imported on first use, so that a program that only vends tokens does not pay for importing the
momento SDK and gRPC.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .async_client import AsyncTokenVendingClient
from .client import TokenVendingClient
from .errors import (
    TokenVendingError,
    TokenVendingHTTPError,
    TokenVendingNetworkError,
    TokenVendingResponseError,
    TokenVendingTimeoutError,
)
from .models import VendedToken
from .parsing import DEFAULT_TOKEN_LIFETIME_SECONDS
from .permissions import CachePermission, TokenPermission, TopicPermission
from .retry import RetryPolicy

if TYPE_CHECKING:
    from .cache import async_cache_client_from_token, cache_client_from_token
    from .topics import (
        RefreshingTopicPublisher,
        TopicError,
        async_topic_client_from_token,
        credential_provider_from_token,
        subscribe,
        topic_client_from_token,
    )

# Which module each lazily imported momento helper lives in.
_MOMENTO_HELPERS = {
    "RefreshingTopicPublisher": "topics",
    "TopicError": "topics",
    "async_topic_client_from_token": "topics",
    "credential_provider_from_token": "topics",
    "subscribe": "topics",
    "topic_client_from_token": "topics",
    "async_cache_client_from_token": "cache",
    "cache_client_from_token": "cache",
}

__all__ = [
    "DEFAULT_TOKEN_LIFETIME_SECONDS",
    "AsyncTokenVendingClient",
    "CachePermission",
    "RefreshingTopicPublisher",
    "RetryPolicy",
    "TokenPermission",
    "TokenVendingClient",
    "TokenVendingError",
    "TokenVendingHTTPError",
    "TokenVendingNetworkError",
    "TokenVendingResponseError",
    "TokenVendingTimeoutError",
    "TopicError",
    "TopicPermission",
    "VendedToken",
    "async_cache_client_from_token",
    "async_topic_client_from_token",
    "cache_client_from_token",
    "credential_provider_from_token",
    "subscribe",
    "topic_client_from_token",
]


def __getattr__(name: str) -> Any:
    module = _MOMENTO_HELPERS.get(name)
    if module is not None:
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
