"""Keys and tokens of the local Momento service: HS256 JWTs and topic and cache permission checks.

Two kinds of token, told apart by the `t` claim:

* API keys (`t: "g"`), shaped like Momento v2 API keys; they may do everything.
* Disposable tokens (`t: "d"`), shaped like the ones Momento vends: `sub`, `ver: 1`, `iat`, `exp`,
  `p` = base64 of the serialized `permission_messages.Permissions`, and `tid` = the token id.

HS256 is implemented here with the standard library so that the service needs no JWT package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from momento_wire_types import permissionmessages_pb2 as permissions_pb

API_KEY_TYPE = "g"
DISPOSABLE_TOKEN_TYPE = "d"
DEFAULT_SUBJECT = "momento-local"
MAX_VALID_FOR_SECONDS = 25 * 60 * 60
MAX_PERMISSION_STATEMENTS = 20

_JWT_HEADER = {"alg": "HS256", "typ": "JWT"}


class InvalidTokenError(Exception):
    """The token is malformed, is not signed by this secret, or has expired."""


class ExpiredTokenError(InvalidTokenError):
    """The token's `exp` is in the past."""


class TopicAction(Enum):
    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"


class CacheAction(Enum):
    READ = "read"
    WRITE = "write"


_ROLES_ALLOWING = {
    TopicAction.PUBLISH: {permissions_pb.TopicReadWrite, permissions_pb.TopicWriteOnly},
    TopicAction.SUBSCRIBE: {permissions_pb.TopicReadWrite, permissions_pb.TopicReadOnly},
}
_CACHE_ROLES_ALLOWING = {
    CacheAction.READ: {permissions_pb.CacheReadWrite, permissions_pb.CacheReadOnly},
    CacheAction.WRITE: {permissions_pb.CacheReadWrite, permissions_pb.CacheWriteOnly},
}

_TopicGrant = permissions_pb.PermissionsType.TopicPermissions
_CacheGrant = permissions_pb.PermissionsType.CachePermissions
_TopicSelector = permissions_pb.PermissionsType.TopicSelector
_ItemSelector = permissions_pb.PermissionsType.CacheItemSelector


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_jwt(claims: dict[str, Any], secret: bytes) -> str:
    """Sign `claims` as a compact HS256 JWT."""
    header = _b64url_encode(json.dumps(_JWT_HEADER, separators=(",", ":")).encode())
    payload = _b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url_encode(signature)}"


def decode_jwt(token: str, secret: bytes, *, verify_expiry: bool = True, now: float | None = None) -> dict[str, Any]:
    """Verify an HS256 JWT signed with `secret` and return its claims.

    Raises InvalidTokenError (ExpiredTokenError for a past `exp` when `verify_expiry`).
    """
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(_b64url_decode(header_b64))
        signature = _b64url_decode(signature_b64)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidTokenError("malformed token") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise InvalidTokenError("unsupported token algorithm")
    expected = hmac.new(secret, f"{header_b64}.{payload_b64}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise InvalidTokenError("bad token signature")
    try:
        claims = json.loads(_b64url_decode(payload_b64))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidTokenError("malformed token claims") from exc
    if not isinstance(claims, dict):
        raise InvalidTokenError("malformed token claims")
    expires_at = claims.get("exp")
    if verify_expiry and expires_at is not None and expires_at <= (time.time() if now is None else now):
        raise ExpiredTokenError("token has expired")
    return claims


@dataclass(frozen=True)
class TokenClaims:
    """A verified key or token: its claims, and for a disposable token its parsed permissions."""

    claims: dict[str, Any]
    token_type: str
    subject: str | None
    token_id: str | None
    issued_at: int | None
    expires_at: int | None
    permissions: permissions_pb.Permissions | None

    @property
    def is_api_key(self) -> bool:
        return self.token_type == API_KEY_TYPE

    @property
    def is_disposable(self) -> bool:
        return self.token_type == DISPOSABLE_TOKEN_TYPE


class TokenSigner:
    """Mints and verifies the keys and tokens of one local service, all signed with one secret."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the signing secret must not be empty")
        self._secret = secret

    def create_api_key(self, *, subject: str = DEFAULT_SUBJECT, valid_for_seconds: int | None = None) -> str:
        """An API key with full access, shaped like a Momento v2 key (claim `t: "g"`)."""
        now = int(time.time())
        claims: dict[str, Any] = {"t": API_KEY_TYPE, "id": str(uuid.uuid4()), "sub": subject, "iat": now}
        if valid_for_seconds is not None:
            claims["exp"] = now + valid_for_seconds
        return encode_jwt(claims, self._secret)

    def mint_disposable_token(
        self,
        permissions: permissions_pb.Permissions,
        *,
        valid_for_seconds: int,
        token_id: str | None = None,
        issued_at: int | None = None,
    ) -> tuple[str, int]:
        """A disposable token granting `permissions`; returns (jwt, expires_at in Unix seconds).

        No validation here: pass `issued_at` in the past to mint an already expired token for tests.
        """
        now = int(time.time()) if issued_at is None else issued_at
        expires_at = now + valid_for_seconds
        claims: dict[str, Any] = {
            "t": DISPOSABLE_TOKEN_TYPE,
            "sub": token_id or DEFAULT_SUBJECT,
            "ver": 1,
            "iat": now,
            "exp": expires_at,
            "p": base64.b64encode(permissions.SerializeToString()).decode("ascii"),
        }
        if token_id:
            claims["tid"] = token_id
        return encode_jwt(claims, self._secret), expires_at

    def decode(self, token: str, *, verify_expiry: bool = True) -> TokenClaims:
        """Verify a key or token and parse it. Also accepts the SDK's `auth_token` wrapper
        (base64 JSON `{"endpoint", "api_key"}`) around a disposable token.

        Raises InvalidTokenError (ExpiredTokenError when expired and `verify_expiry`).
        """
        claims = decode_jwt(_unwrap_sdk_auth_token(token), self._secret, verify_expiry=verify_expiry)
        token_type = claims.get("t")
        if token_type not in (API_KEY_TYPE, DISPOSABLE_TOKEN_TYPE):
            raise InvalidTokenError("unknown token type")
        permissions = None
        if token_type == DISPOSABLE_TOKEN_TYPE:
            permissions = permissions_pb.Permissions()
            try:
                permissions.ParseFromString(base64.b64decode(claims["p"], validate=True))
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidTokenError("malformed permissions claim") from exc
        return TokenClaims(
            claims=claims,
            token_type=token_type,
            subject=claims.get("sub"),
            token_id=claims.get("tid"),
            issued_at=claims.get("iat"),
            expires_at=claims.get("exp"),
            permissions=permissions,
        )


def _unwrap_sdk_auth_token(token: str) -> str:
    if token.count(".") == 2:
        return token
    try:
        wrapper = json.loads(base64.b64decode(token, validate=True))
        return str(wrapper["api_key"])
    except (ValueError, binascii.Error, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise InvalidTokenError("malformed token") from exc


def validate_disposable_request(valid_for_seconds: int, permissions: permissions_pb.Permissions) -> str | None:
    """Why Momento would refuse to mint this token (INVALID_ARGUMENT), or None if it is acceptable."""
    if not 0 < valid_for_seconds <= MAX_VALID_FOR_SECONDS:
        return f"expiry must be between 1 and {MAX_VALID_FOR_SECONDS} seconds, got {valid_for_seconds}"
    kind = permissions.WhichOneof("kind")
    if kind is None:
        return "permissions are required"
    if kind == "super_user":
        return "disposable tokens cannot have super user permissions"
    statements = permissions.explicit.permissions
    if not statements:
        return "at least one permission is required"
    if len(statements) > MAX_PERMISSION_STATEMENTS:
        return f"at most {MAX_PERMISSION_STATEMENTS} permissions are allowed, got {len(statements)}"
    for statement in statements:
        problem = _statement_problem(statement)
        if problem is not None:
            return problem
    return None


def _statement_problem(statement: permissions_pb.PermissionsType) -> str | None:
    statement_kind = statement.WhichOneof("kind")
    if statement_kind is None:
        return "a permission must name cache, topic or function permissions"
    if statement_kind == "cache_permissions":
        return _cache_grant_problem(statement.cache_permissions)
    return None


def _cache_grant_problem(grant: _CacheGrant) -> str | None:
    if grant.WhichOneof("cache") is None:
        return "a cache permission must select a cache or all caches"
    if grant.WhichOneof("cache_item") == "item_selector" and grant.item_selector.WhichOneof("kind") is None:
        return "a cache item selector must name a key or a key prefix"
    return None


def allows_topic_action(token: TokenClaims, cache_name: str, topic_name: str, action: TopicAction) -> bool:
    """Whether `token` may publish to or subscribe on `cache_name`/`topic_name`.

    API keys may do everything; a disposable token needs a topic permission whose role allows
    the action and whose cache and topic selectors match.
    """
    return _any_grant_allows(
        token,
        "topic_permissions",
        _ROLES_ALLOWING[action],
        cache_name,
        lambda grant: _topic_matches(grant, topic_name),
    )


def allows_cache_action(token: TokenClaims, cache_name: str, key: bytes, action: CacheAction) -> bool:
    """Whether `token` may read or write `key` in `cache_name`.

    API keys may do everything; a disposable token needs a cache permission whose role allows the
    action and whose cache and item selectors match (no item selector, or `all_items`: every key).
    """
    return _any_grant_allows(
        token,
        "cache_permissions",
        _CACHE_ROLES_ALLOWING[action],
        cache_name,
        lambda grant: _item_matches(grant, key),
    )


def _any_grant_allows(
    token: TokenClaims,
    kind: Literal["topic_permissions", "cache_permissions"],
    allowed_roles: Collection[int],
    cache_name: str,
    selects: Callable[[Any], bool],
) -> bool:
    """API keys and super users may do everything; else a grant of `kind` must allow one of `allowed_roles`
    on `cache_name` and select the topic or item (`selects` gets the `kind` grant)."""
    if token.is_api_key:
        return True
    if token.permissions is None:
        return False
    if token.permissions.WhichOneof("kind") == "super_user":
        return True
    return any(
        statement.WhichOneof("kind") == kind
        and (grant := getattr(statement, kind)).role in allowed_roles
        and _cache_matches(grant, cache_name)
        and selects(grant)
        for statement in token.permissions.explicit.permissions
    )


def _cache_matches(grant: _TopicGrant | _CacheGrant, cache_name: str) -> bool:
    which = grant.WhichOneof("cache")
    if which == "all_caches":
        return True
    return which == "cache_selector" and grant.cache_selector.cache_name == cache_name


def _topic_matches(grant: _TopicGrant, topic_name: str) -> bool:
    which = grant.WhichOneof("topic")
    if which == "all_topics":
        return True
    return which == "topic_selector" and _names_or_prefixes(grant.topic_selector, "topic_name", topic_name)


def _item_matches(grant: _CacheGrant, key: bytes) -> bool:
    if grant.WhichOneof("cache_item") != "item_selector":
        return True  # all_items, or no item selector at all (what the SDK sends for a plain CachePermission)
    return _names_or_prefixes(grant.item_selector, "key", key)


def _names_or_prefixes(
    selector: _TopicSelector | _ItemSelector, field: Literal["topic_name", "key"], value: str | bytes
) -> bool:
    """Whether `selector` names `value` exactly (its `field`) or a prefix of it (its `field`_prefix)."""
    which = selector.WhichOneof("kind")
    if which == field:
        return bool(getattr(selector, field) == value)
    return which == f"{field}_prefix" and value.startswith(getattr(selector, which))
