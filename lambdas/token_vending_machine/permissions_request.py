"""The second request form, ``{"permissions": [...]}``: Momento's own permission objects, 1 to 20 of them.

Its own module, imported on the first request of this form (``api.parse_token_request``), so that
a cold start serving the original form never builds these models.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from token_vending_machine.models import (
    MAX_GRANTS,
    CacheGrant,
    CacheRole,
    MomentoName,
    TokenScope,
    TopicGrant,
    TopicRole,
)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopicEntry(_Entry):
    """``{"role": "publishsubscribe", "cache": "chat", "topic": "room-1"}``"""

    role: Literal["publishsubscribe", "subscribeonly", "publishonly"]
    cache: MomentoName
    topic: MomentoName

    def grant(self) -> TopicGrant:
        return TopicGrant(self.cache, self.topic, TopicRole(self.role))


class ItemSelector(_Entry):
    """``{"key": "user-42"}`` or ``{"keyPrefix": "room-1:"}``: exactly one."""

    key: MomentoName | None = None
    key_prefix: MomentoName | None = Field(default=None, alias="keyPrefix")

    @model_validator(mode="after")
    def _exactly_one(self) -> ItemSelector:
        if (self.key is None) == (self.key_prefix is None):
            raise ValueError('give exactly one of "key" and "keyPrefix"')
        return self


class CacheEntry(_Entry):
    """``{"role": "readonly", "cache": "chat", "item": {"keyPrefix": "room-1:"}}``; no item: the whole cache."""

    role: Literal["readwrite", "readonly", "writeonly"]
    cache: MomentoName
    item: ItemSelector | None = None

    def grant(self) -> CacheGrant:
        if self.item is None:
            return CacheGrant(self.cache, CacheRole(self.role))
        return CacheGrant(self.cache, CacheRole(self.role), key=self.item.key, key_prefix=self.item.key_prefix)


class PermissionsRequest(BaseModel):
    """The second request form: Momento's own permission objects, 1 to 20 of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    permissions: list[Annotated[TopicEntry | CacheEntry, Field(discriminator="role")]] = Field(
        min_length=1, max_length=MAX_GRANTS
    )

    @property
    def scope(self) -> TokenScope:
        """The grants in the order asked; a repeated entry counts once."""
        return tuple(dict.fromkeys(entry.grant() for entry in self.permissions))
