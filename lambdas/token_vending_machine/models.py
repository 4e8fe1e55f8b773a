"""Our own models: the request, the grants it asks for, the response, the error body and the key."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Annotated, Any, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
)

# Momento's SDKs only require a non-blank name; we also cap the length and refuse control
# characters and surrounding whitespace, which no real cache or topic name carries.
MAX_NAME_LENGTH = 255

_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Unicode categories no name needs and that hide what a name says: controls (C0 and C1), format
# characters (zero-width spaces and joiners, bidi overrides, the BOM), surrogates, and line or
# paragraph separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _check_momento_name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    if value.isascii():
        if _ASCII_CONTROL.search(value):
            raise ValueError("must not contain control characters")
    elif any(unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in value):
        raise ValueError("must not contain control, invisible formatting or bidi characters")
    return value


MomentoName = Annotated[
    str,
    Field(strict=True),
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(_check_momento_name),
]


class Permission(StrEnum):
    """What a token of the original request form may do on its one topic."""

    PUBLISH_SUBSCRIBE = "publish_subscribe"
    SUBSCRIBE = "subscribe"
    PUBLISH = "publish"


class TopicRole(StrEnum):
    """Momento's topic roles, as the second request form and the policy name them."""

    PUBLISH_SUBSCRIBE = "publishsubscribe"
    SUBSCRIBE_ONLY = "subscribeonly"
    PUBLISH_ONLY = "publishonly"


class CacheRole(StrEnum):
    """Momento's cache roles."""

    READ_WRITE = "readwrite"
    READ_ONLY = "readonly"
    WRITE_ONLY = "writeonly"


TOPIC_ROLE_OF_PERMISSION = {
    Permission.PUBLISH_SUBSCRIBE: TopicRole.PUBLISH_SUBSCRIBE,
    Permission.SUBSCRIBE: TopicRole.SUBSCRIBE_ONLY,
    Permission.PUBLISH: TopicRole.PUBLISH_ONLY,
}


class TopicGrant(NamedTuple):
    """One permission of a token: a role on one topic of one cache."""

    cache: str
    topic: str
    role: TopicRole


class CacheGrant(NamedTuple):
    """One permission of a token: a role on one cache's items, all of them unless ``key`` or
    ``key_prefix`` (never both) narrows it."""

    cache: str
    role: CacheRole
    key: str | None = None
    key_prefix: str | None = None


Grant = TopicGrant | CacheGrant
# Everything one token may do, in the order asked, without repeats: what the rules hand the issuer.
TokenScope = tuple[Grant, ...]
# Momento's limit of permission statements in one token.
MAX_GRANTS = 20


class TokenRequest(BaseModel):
    """The original request: the one cache and topic the token will be scoped to. Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    cache_name: MomentoName = Field(alias="cacheName")
    topic_name: MomentoName = Field(alias="topicName")
    permission: Permission = Field(default=Permission.PUBLISH_SUBSCRIBE, strict=False)

    @property
    def scope(self) -> TokenScope:
        return (TopicGrant(self.cache_name, self.topic_name, TOPIC_ROLE_OF_PERMISSION[self.permission]),)


class VendedToken(BaseModel):
    """The 200 body, snake_case as the Rust original returns it."""

    model_config = ConfigDict(frozen=True)

    auth_token: str = Field(repr=False)
    expires_at: int


class FieldError(BaseModel):
    model_config = ConfigDict(defer_build=True)  # errors only: built on the first one

    field: str
    message: str


class ErrorBody(BaseModel):
    model_config = ConfigDict(defer_build=True)

    error: str
    message: str
    details: list[FieldError] | None = None


# Pydantic puts the role that chose an entry's shape into the error's location; the caller never wrote it.
_ROLE_TAGS = frozenset(TopicRole) | frozenset(CacheRole)


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """The fields at fault, named as the caller spelled them (``permissions.2.item``), without echoing the input."""
    errors = []
    for err in exc.errors(include_input=False, include_url=False):
        parts = [str(part) for part in err["loc"] if part not in _ROLE_TAGS]
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            parts.append("role")
            message = f"must be one of {', '.join(sorted(_ROLE_TAGS))}"  # pydantic's message quotes the input
        errors.append({"field": ".".join(parts) or "body", "message": message})
    return errors


class MomentoKey(BaseModel):
    """The long-lived key read from the secret, and the endpoint a v2 key needs."""

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr
    endpoint: str | None = None
