"""From a vended token to a Momento cache client, for tokens vended with cache permissions.

Endpoints are read as ``topics`` reads them: a token whose endpoint is ``host:port`` (the local
Momento service), or a ``local_endpoint`` you pass, is used over an insecure channel to that server.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Final, TypeVar

from .models import VendedToken

try:
    from momento import CacheClient, CacheClientAsync, Configurations, CredentialProvider
    from momento.config import Configuration

    from .topics import credential_provider_from_token
except ImportError as exc:  # momento is an optional dependency of the client
    raise ImportError(
        "the Momento cache helpers need the momento SDK: pip install 'momento-tvm-client[momento]'"
    ) from exc

# Items set without an explicit TTL live this long.
DEFAULT_CACHE_TTL: Final = timedelta(hours=1)

_CacheClientT = TypeVar("_CacheClientT", CacheClient, CacheClientAsync)


def cache_client_from_token(
    token: VendedToken | str,
    *,
    local_endpoint: str | None = None,
    configuration: Configuration | None = None,
    default_ttl: timedelta | None = None,
) -> CacheClient:
    """A synchronous ``CacheClient`` that uses the token (and keeps it: rebuild it after a refresh)."""
    return _cache_client(CacheClient, token, local_endpoint, configuration, default_ttl)


def async_cache_client_from_token(
    token: VendedToken | str,
    *,
    local_endpoint: str | None = None,
    configuration: Configuration | None = None,
    default_ttl: timedelta | None = None,
) -> CacheClientAsync:
    """A ``CacheClientAsync`` that uses the token (and keeps it: rebuild it after a refresh)."""
    return _cache_client(CacheClientAsync, token, local_endpoint, configuration, default_ttl)


def _cache_client(
    client_class: Callable[[Configuration, CredentialProvider, timedelta], _CacheClientT],
    token: VendedToken | str,
    local_endpoint: str | None,
    configuration: Configuration | None,
    default_ttl: timedelta | None,
) -> _CacheClientT:
    """``CacheClient`` or ``CacheClientAsync`` (``client_class``) on the token, with the defaults filled in."""
    return client_class(
        configuration or Configurations.Laptop.latest(),
        credential_provider_from_token(token, local_endpoint=local_endpoint),
        default_ttl or DEFAULT_CACHE_TTL,
    )
