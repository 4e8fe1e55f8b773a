"""Our own models: the request, the grants it asks for, the response, the error body and the key."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints, ValidationError

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
    """What the token may do on its one topic."""

    PUBLISH_SUBSCRIBE = "publish_subscribe"
    SUBSCRIBE = "subscribe"
    PUBLISH = "publish"


@dataclass(frozen=True)
class TopicGrant:
    """One permission of a token: a role on one topic of one cache."""

    cache_name: str
    topic_name: str
    permission: Permission


# Everything one token may do: what the rules hand to the token issuer.
TokenScope = tuple[TopicGrant, ...]


class TokenRequest(BaseModel):
    """What a caller POSTs: the one cache and topic the token will be scoped to. Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    cache_name: MomentoName = Field(alias="cacheName")
    topic_name: MomentoName = Field(alias="topicName")
    permission: Permission = Field(default=Permission.PUBLISH_SUBSCRIBE, strict=False)

    @property
    def scope(self) -> TokenScope:
        return (TopicGrant(self.cache_name, self.topic_name, self.permission),)


class VendedToken(BaseModel):
    """The 200 body, snake_case as the Rust original returns it."""

    model_config = ConfigDict(frozen=True)

    auth_token: str = Field(repr=False)
    expires_at: int


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    message: str
    details: list[FieldError] | None = None


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """The fields at fault, named as the caller spelled them, without echoing the input."""
    return [
        {"field": ".".join(str(part) for part in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors(include_input=False, include_url=False)
    ]


class MomentoKey(BaseModel):
    """The long-lived key read from the secret, and the endpoint a v2 key needs."""

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr
    endpoint: str | None = None
