"""A Python client for the Momento token vending machine: tokens that refresh themselves.

The momento helpers (``topic_client_from_token`` and friends) are imported on first use, so that a
program that only vends tokens does not pay for importing the momento SDK and gRPC.
"""

from __future__ import annotations

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
from .retry import RetryPolicy

if TYPE_CHECKING:
    from .topics import (
        RefreshingTopicPublisher,
        TopicError,
        async_topic_client_from_token,
        credential_provider_from_token,
        subscribe,
        topic_client_from_token,
    )

_TOPIC_HELPERS = frozenset(
    {
        "RefreshingTopicPublisher",
        "TopicError",
        "async_topic_client_from_token",
        "credential_provider_from_token",
        "subscribe",
        "topic_client_from_token",
    }
)

__all__ = [
    "DEFAULT_TOKEN_LIFETIME_SECONDS",
    "AsyncTokenVendingClient",
    "RefreshingTopicPublisher",
    "RetryPolicy",
    "TokenVendingClient",
    "TokenVendingError",
    "TokenVendingHTTPError",
    "TokenVendingNetworkError",
    "TokenVendingResponseError",
    "TokenVendingTimeoutError",
    "TopicError",
    "VendedToken",
    "async_topic_client_from_token",
    "credential_provider_from_token",
    "subscribe",
    "topic_client_from_token",
]


def __getattr__(name: str) -> Any:
    if name in _TOPIC_HELPERS:
        from . import topics

        return getattr(topics, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
