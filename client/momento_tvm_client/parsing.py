"""Turning vending-machine answers into tokens and errors: pure functions, no I/O.

Accepted token responses (snake_case or camelCase keys):

- ``auth_token`` / ``authToken``: a non-empty string (required);
- ``expires_at`` / ``expiresAt``: Unix seconds (int, float or numeric string; values above 10^11
  are taken as milliseconds) or an ISO-8601 timestamp (naive means UTC);
- else ``expires_in`` / ``expiresIn``: seconds from the moment the answer was received;
- with neither, the token is assumed to live ``DEFAULT_TOKEN_LIFETIME_SECONDS`` (5 minutes), short
  enough that a token of unknown lifetime is replaced early rather than used after it dies.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from .errors import TokenVendingHTTPError, TokenVendingResponseError, excerpt
from .models import VendedToken

DEFAULT_TOKEN_LIFETIME_SECONDS = 300.0
_MILLISECONDS_THRESHOLD = 1e11
_TOKEN_KEYS = ("auth_token", "authToken")
_EXPIRES_AT_KEYS = ("expires_at", "expiresAt")
_EXPIRES_IN_KEYS = ("expires_in", "expiresIn")


def parse_token_response(
    content: bytes,
    now: float,
    default_lifetime: float = DEFAULT_TOKEN_LIFETIME_SECONDS,
) -> VendedToken:
    """Parse a 2xx body into a token, or raise ``TokenVendingResponseError`` (never echoing the body)."""
    try:
        payload = json.loads(content)
    except (UnicodeDecodeError, ValueError) as exc:
        raise TokenVendingResponseError("token response is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise TokenVendingResponseError(f"token response is a JSON {type(payload).__name__}, not an object")

    auth_token = _first(payload, _TOKEN_KEYS)
    if not isinstance(auth_token, str) or not auth_token:
        raise TokenVendingResponseError("token response has no non-empty string 'auth_token'")

    expires_at_raw = _first(payload, _EXPIRES_AT_KEYS)
    expires_in_raw = _first(payload, _EXPIRES_IN_KEYS)
    if expires_at_raw is not None:
        expires_at = _parse_expires_at(expires_at_raw)
    elif expires_in_raw is not None:
        expires_at = now + _parse_seconds(expires_in_raw, "expires_in")
    else:
        expires_at = now + default_lifetime

    if expires_at <= now:
        raise TokenVendingResponseError("token response carries a token that has already expired")
    return VendedToken(auth_token=auth_token, expires_at=expires_at)


def parse_error_response(
    status: int,
    content: bytes,
    headers: Mapping[str, str],
    now: float,
) -> TokenVendingHTTPError:
    """Build the error for a non-2xx answer: the JSON error body when there is one, else its text."""
    text = content.decode("utf-8", errors="replace")
    error_code: str | None = None
    message = excerpt(text)
    details: list[Any] | None = None
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        if isinstance(payload.get("error"), str):
            error_code = payload["error"]
        if isinstance(payload.get("message"), str):
            message = excerpt(payload["message"])
        elif error_code is not None:
            message = ""
        if isinstance(payload.get("details"), list):
            details = payload["details"]
    return TokenVendingHTTPError(
        status,
        error_code,
        message,
        text,
        details=details,
        retry_after=parse_retry_after(headers.get("retry-after"), now),
    )


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` in seconds from ``now``: delta-seconds or an HTTP-date; None when absent or bad."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError):
            return None
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _first(payload: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if payload.get(key) is not None:
            return payload[key]
    return None


def _parse_expires_at(raw: Any) -> float:
    if isinstance(raw, str):
        try:
            raw = float(raw)
        except ValueError:
            return _parse_iso8601(raw)
    seconds = _parse_seconds(raw, "expires_at")
    return seconds / 1000 if seconds > _MILLISECONDS_THRESHOLD else seconds


def _parse_iso8601(raw: str) -> float:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise TokenVendingResponseError("token response 'expires_at' is neither Unix seconds nor ISO-8601") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _parse_seconds(raw: Any, field: str) -> float:
    if isinstance(raw, str):
        try:
            raw = float(raw)
        except ValueError as exc:
            raise TokenVendingResponseError(f"token response '{field}' is not a number") from exc
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise TokenVendingResponseError(f"token response '{field}' is not a finite number")
    return float(raw)
