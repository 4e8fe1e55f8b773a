"""The permissions a token may ask for, in the vending machine's second request form.

Each permission is a ``TopicPermission`` or a ``CachePermission``, or a plain dict in the wire shape
(``{"role": "readonly", "cache": "chat", "item": {"keyPrefix": "room-1:"}}``), which
``permission_from_json`` reads into one. Only the shape is checked here (known roles and fields,
text where text belongs); names are the vending machine's to judge, and its 400 names the entry at
fault.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, cast, get_args

TopicRole: TypeAlias = Literal["publishsubscribe", "subscribeonly", "publishonly"]
CacheRole: TypeAlias = Literal["readwrite", "readonly", "writeonly"]

TOPIC_ROLES: Final = frozenset(get_args(TopicRole))
CACHE_ROLES: Final = frozenset(get_args(CacheRole))
# Momento's limit of permission statements in one token.
MAX_PERMISSIONS: Final = 20


@dataclass(frozen=True, slots=True)
class TopicPermission:
    """A role on one topic of one cache: ``TopicPermission("chat", "lobby", "subscribeonly")``."""

    cache: str
    topic: str
    role: TopicRole = "publishsubscribe"

    def __post_init__(self) -> None:
        _check_role(self.role, TOPIC_ROLES)
        _check_text("cache", self.cache)
        _check_text("topic", self.topic)

    def to_json(self) -> dict[str, object]:
        return {"role": self.role, "cache": self.cache, "topic": self.topic}


@dataclass(frozen=True, slots=True)
class CachePermission:
    """A role on a cache's items: all of them, or one ``key``, or the keys starting with ``key_prefix``.

    ``CachePermission("chat", "readonly", key_prefix="room-1:")``
    """

    cache: str
    role: CacheRole = "readwrite"
    key: str | None = None
    key_prefix: str | None = None

    def __post_init__(self) -> None:
        _check_role(self.role, CACHE_ROLES)
        _check_text("cache", self.cache)
        if self.key is not None and self.key_prefix is not None:
            raise ValueError("give key or key_prefix, not both")
        for name, value in (("key", self.key), ("key_prefix", self.key_prefix)):
            if value is not None:
                _check_text(name, value)

    def to_json(self) -> dict[str, object]:
        document: dict[str, object] = {"role": self.role, "cache": self.cache}
        if self.key is not None:
            document["item"] = {"key": self.key}
        elif self.key_prefix is not None:
            document["item"] = {"keyPrefix": self.key_prefix}
        return document


TokenPermission: TypeAlias = TopicPermission | CachePermission
# What the clients accept: the typed permissions, or dicts in the wire shape.
PermissionLike: TypeAlias = TokenPermission | Mapping[str, object]


def permission_from_json(document: Mapping[str, object]) -> TokenPermission:
    """One permission from its wire shape; ``ValueError`` saying what is wrong with it."""
    role = document.get("role")
    if role in TOPIC_ROLES:
        _check_fields(document, {"role", "cache", "topic"})
        return TopicPermission(_text(document, "cache"), _text(document, "topic"), cast(TopicRole, role))
    if role in CACHE_ROLES:
        _check_fields(document, {"role", "cache", "item"})
        key, key_prefix = _item_selector(document.get("item"))
        return CachePermission(_text(document, "cache"), cast(CacheRole, role), key=key, key_prefix=key_prefix)
    raise ValueError(f"role must be one of {', '.join(sorted(TOPIC_ROLES | CACHE_ROLES))}")


def normalize_permissions(permissions: Iterable[PermissionLike]) -> tuple[TokenPermission, ...]:
    """The permissions as typed values, 1 to 20 of them; ``ValueError`` naming the entry at fault."""
    if isinstance(permissions, (str, bytes, Mapping)):
        raise ValueError("permissions must be a list of permissions")
    normalized = tuple(_one_permission(index, entry) for index, entry in enumerate(permissions))
    if not 1 <= len(normalized) <= MAX_PERMISSIONS:
        raise ValueError(f"permissions must hold 1 to {MAX_PERMISSIONS} entries, got {len(normalized)}")
    return normalized


def permissions_from_json(text: str) -> tuple[TokenPermission, ...]:
    """Permissions from JSON text: a list of permissions, or ``{"permissions": [...]}``."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"permissions are not valid JSON: {exc.msg} (at character {exc.pos})") from None
    if isinstance(document, dict):
        if set(document) != {"permissions"}:
            raise ValueError('permissions JSON must be a list or {"permissions": [...]}')
        document = document["permissions"]
    if not isinstance(document, list):
        raise ValueError('permissions JSON must be a list or {"permissions": [...]}')
    return normalize_permissions(document)


def _one_permission(index: int, entry: object) -> TokenPermission:
    if isinstance(entry, (TopicPermission, CachePermission)):
        return entry
    if not isinstance(entry, Mapping):
        raise ValueError(f"permissions[{index}]: must be a TopicPermission, a CachePermission or a dict")
    try:
        return permission_from_json(entry)
    except ValueError as exc:
        raise ValueError(f"permissions[{index}]: {exc}") from None


def _item_selector(item: object) -> tuple[str | None, str | None]:
    if item is None:
        return None, None
    if not isinstance(item, Mapping) or len(item) != 1 or not set(item) <= {"key", "keyPrefix"}:
        raise ValueError('item must be {"key": ...} or {"keyPrefix": ...}')
    if "key" in item:
        return _text(item, "key"), None
    return None, _text(item, "keyPrefix")


def _check_fields(document: Mapping[str, object], allowed: set[str]) -> None:
    unknown = sorted(str(name) for name in set(document) - allowed)
    if unknown:
        fields = ", ".join(sorted(allowed))
        raise ValueError(f"unknown field {unknown[0]!r} (a {document['role']} permission has {fields})")


def _text(document: Mapping[str, object], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")


def _check_role(role: object, allowed: frozenset[str]) -> None:
    if role not in allowed:
        raise ValueError(f"role must be one of {', '.join(sorted(allowed))}")
