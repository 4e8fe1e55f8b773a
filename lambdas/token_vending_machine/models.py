"""Pydantic models: the request, the response, the error body and the secret's accepted shapes."""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints, ValidationError

from token_vending_machine.errors import ConfigurationError

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


class TokenRequest(BaseModel):
    """What a caller POSTs: the one cache and topic the token will be scoped to. Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    cache_name: MomentoName = Field(alias="cacheName")
    topic_name: MomentoName = Field(alias="topicName")
    permission: Permission = Field(default=Permission.PUBLISH_SUBSCRIBE, strict=False)


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


class _OriginalSecret(BaseModel):
    """The Rust original's secret value: ``{"momentoSecret": "<key>"}``."""

    momento_secret: SecretStr = Field(alias="momentoSecret", min_length=1)


class _V2Secret(BaseModel):
    """``{"apiKey": "<key>", "endpoint": "<Momento endpoint>"}``; endpoint optional for legacy keys."""

    api_key: SecretStr = Field(alias="apiKey", min_length=1)
    endpoint: str | None = Field(default=None, min_length=1)


def parse_secret(value: str) -> MomentoKey:
    """Read a secret value in any accepted shape. Errors name the problem, never the value.

    Whether the key also needs an endpoint is decided where credentials are built: a v2 key does,
    unless the function talks to a local Momento service.
    """
    text = value.strip()
    if not text:
        raise ConfigurationError("the Momento API key secret is empty")
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            raise ConfigurationError("the Momento API key secret starts with '{' but is not valid JSON") from None
        key = _key_from_document(document)
    else:
        key = MomentoKey(api_key=SecretStr(text))
    return key


def _key_from_document(document: Any) -> MomentoKey:
    if isinstance(document, dict) and "momentoSecret" in document:
        shape: type[BaseModel] = _OriginalSecret
    elif isinstance(document, dict) and "apiKey" in document:
        shape = _V2Secret
    else:
        raise ConfigurationError('the Momento API key secret is JSON without a "momentoSecret" or "apiKey" field')
    try:
        parsed = shape.model_validate(document)
    except ValidationError as exc:
        fields = ", ".join(str(err["loc"][0]) for err in exc.errors(include_input=False))
        raise ConfigurationError(f"the Momento API key secret has invalid fields: {fields}") from None
    if isinstance(parsed, _OriginalSecret):
        return MomentoKey(api_key=parsed.momento_secret)
    assert isinstance(parsed, _V2Secret)
    return MomentoKey(api_key=parsed.api_key, endpoint=parsed.endpoint)


def is_v2_api_key(api_key: str) -> bool:
    """A v2 key is a JWT whose claims carry ``t == "g"``; it does not name its endpoint."""
    parts = api_key.split(".")
    if len(parts) != 3:
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(claims, dict) and claims.get("t") == "g"
