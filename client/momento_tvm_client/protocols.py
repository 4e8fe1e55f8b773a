"""What the topic helpers need from a vending client, as protocols.

``topics`` works with anything that hands out tokens for one cache and topic, so it imports neither
client module, and each client imports ``topics`` only when asked for a topic client: one direction,
no cycle. ``TokenVendingClient`` and ``AsyncTokenVendingClient`` satisfy these.
"""

from __future__ import annotations

from typing import Protocol

from .models import VendedToken


class TokenSource(Protocol):
    """A synchronous source of tokens for one cache and topic."""

    @property
    def cache_name(self) -> str: ...

    @property
    def topic_name(self) -> str: ...

    def get_token(self) -> VendedToken: ...


class AsyncTokenSource(Protocol):
    """An asyncio source of tokens for one cache and topic, whose cached token can be dropped."""

    @property
    def cache_name(self) -> str: ...

    @property
    def topic_name(self) -> str: ...

    async def get_token(self) -> VendedToken: ...

    def invalidate(self) -> None: ...
