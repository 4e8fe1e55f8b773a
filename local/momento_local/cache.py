"""The local cache service: Momento's `cache_client.Scs` Get, Set and Delete over an in-memory store.

Each call names its cache in the `cache` metadata header (as the SDK sends it) and is checked
against the caller's cache permissions, key and key prefix included. Other Scs RPCs answer
UNIMPLEMENTED.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import grpc
from momento_wire_types import cacheclient_pb2 as cache_pb
from momento_wire_types import cacheclient_pb2_grpc as cache_grpc

from .tokens import CacheAction, TokenClaims, allows_cache_action

DEFAULT_CACHES = frozenset({"SampleCache"})


class Gate(Protocol):
    """What every RPC does first (the server's gate): count, apply faults, authenticate."""

    def enter(self, rpc: str, context: grpc.ServicerContext) -> TokenClaims: ...


@dataclass(frozen=True)
class _Item:
    value: bytes
    expires_at: float


class CacheStore:
    """Named caches of items with a time to live; an expired item is a miss and is dropped when read."""

    def __init__(self, cache_names: Iterable[str] = DEFAULT_CACHES, *, clock: Callable[[], float] = time.monotonic):
        if isinstance(cache_names, str):
            raise TypeError("cache_names must be a collection of names, not one string")
        self._clock = clock
        self._lock = threading.Lock()
        self._caches: dict[str, dict[bytes, _Item]] = {}
        for cache_name in cache_names:
            self.add_cache(cache_name)

    @property
    def cache_names(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._caches)

    def add_cache(self, cache_name: str) -> None:
        """Create `cache_name` (empty); a cache that already exists keeps its items."""
        if not cache_name:
            raise ValueError("a cache name must not be empty")
        with self._lock:
            self._caches.setdefault(cache_name, {})

    def has_cache(self, cache_name: str) -> bool:
        with self._lock:
            return cache_name in self._caches

    def get(self, cache_name: str, key: bytes) -> bytes | None:
        with self._lock:
            items = self._caches[cache_name]
            item = items.get(key)
            if item is None:
                return None
            if item.expires_at <= self._clock():
                del items[key]
                return None
            return item.value

    def set(self, cache_name: str, key: bytes, value: bytes, ttl_seconds: float) -> None:
        with self._lock:
            self._caches[cache_name][key] = _Item(value, self._clock() + ttl_seconds)

    def delete(self, cache_name: str, key: bytes) -> None:
        with self._lock:
            self._caches[cache_name].pop(key, None)


class CacheServicer(cache_grpc.ScsServicer):
    """Get, Set and Delete, each checked against the caller's permissions before the store is touched."""

    def __init__(self, gate: Gate, store: CacheStore) -> None:
        self._gate = gate
        self._store = store

    def Get(self, request: cache_pb._GetRequest, context: grpc.ServicerContext) -> cache_pb._GetResponse:
        cache_name = self._admit("Get", request.cache_key, CacheAction.READ, context)
        value = self._store.get(cache_name, request.cache_key)
        if value is None:
            return cache_pb._GetResponse(result=cache_pb.Miss)
        return cache_pb._GetResponse(result=cache_pb.Hit, cache_body=value)

    def Set(self, request: cache_pb._SetRequest, context: grpc.ServicerContext) -> cache_pb._SetResponse:
        cache_name = self._admit("Set", request.cache_key, CacheAction.WRITE, context)
        self._store.set(cache_name, request.cache_key, request.cache_body, request.ttl_milliseconds / 1000)
        return cache_pb._SetResponse(result=cache_pb.Ok)

    def Delete(self, request: cache_pb._DeleteRequest, context: grpc.ServicerContext) -> cache_pb._DeleteResponse:
        cache_name = self._admit("Delete", request.cache_key, CacheAction.WRITE, context)
        self._store.delete(cache_name, request.cache_key)
        return cache_pb._DeleteResponse()

    def _admit(self, rpc: str, key: bytes, action: CacheAction, context: grpc.ServicerContext) -> str:
        """Authenticate and authorize one call; returns the cache it names, or aborts.

        Permissions are checked before existence, so a token learns nothing about caches it may not use.
        """
        caller = self._gate.enter(rpc, context)
        cache_name = next((value for name, value in context.invocation_metadata() if name == "cache"), "")
        if not cache_name:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the cache header is required")
        if not allows_cache_action(caller, cache_name, key, action):
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"Insufficient permissions: token may not {action.value} this key in cache {cache_name!r}",
            )
        if not self._store.has_cache(cache_name):
            context.abort(grpc.StatusCode.NOT_FOUND, f"cache not found: {cache_name!r}")
        return str(cache_name)
