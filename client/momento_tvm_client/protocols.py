"""What the topic helpers need from a vending client, as protocols.

``topics`` works with anything that hands out tokens, so it imports neither client module, and each
client imports ``topics`` only when asked for a topic client: one direction, no cycle.
``TokenVendingClient`` and ``AsyncTokenVendingClient`` satisfy these. A client vending a list of
permissions has no cache and topic of its own (None): the topic helpers are then told which topic.
"""

from __future__ import annotations

from typing import Protocol

from .models import VendedToken


class TokenSource(Protocol):
    """A synchronous source of tokens, for one cache and topic or for a list of permissions."""

    @property
    def cache_name(self) -> str | None: ...

    @property
    def topic_name(self) -> str | None: ...

    def get_token(self) -> VendedToken: ...


class AsyncTokenSource(Protocol):
    """An asyncio source of tokens (for one cache and topic, or a list of permissions) that can drop its token."""

    @property
    def cache_name(self) -> str | None: ...

    @property
    def topic_name(self) -> str | None: ...

    async def get_token(self) -> VendedToken: ...

    def invalidate(self) -> None: ...
