"""Response parsing, error bodies and Retry-After: pure functions, no sockets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from momento_tvm_client import (
    DEFAULT_TOKEN_LIFETIME_SECONDS,
    TokenVendingResponseError,
    VendedToken,
)
from momento_tvm_client.parsing import parse_error_response, parse_retry_after, parse_token_response

NOW = 1_700_000_000.0


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"auth_token": "t", "expires_at": 1_700_003_600}, 1_700_003_600),
        ({"auth_token": "t", "expires_at": 1_700_003_600.5}, 1_700_003_600.5),
        ({"auth_token": "t", "expires_at": "1700003600"}, 1_700_003_600),
        ({"auth_token": "t", "expires_at": 1_700_003_600_000}, 1_700_003_600),
        ({"auth_token": "t", "expires_at": "2023-11-14T23:13:20Z"}, 1_700_003_600),
        ({"auth_token": "t", "expires_at": "2023-11-14T23:13:20+00:00"}, 1_700_003_600),
        ({"auth_token": "t", "expires_at": "2023-11-15T00:13:20+01:00"}, 1_700_003_600),
        ({"auth_token": "t", "expires_at": "2023-11-14T23:13:20"}, 1_700_003_600),
        ({"auth_token": "t", "expires_in": 3600}, NOW + 3600),
        ({"auth_token": "t", "expires_in": "90"}, NOW + 90),
        ({"authToken": "t", "expiresAt": 1_700_003_600}, 1_700_003_600),
        ({"authToken": "t", "expiresIn": 60}, NOW + 60),
        ({"auth_token": "t"}, NOW + DEFAULT_TOKEN_LIFETIME_SECONDS),
        ({"auth_token": "t", "expires_at": None, "expires_in": 10}, NOW + 10),
    ],
)
def test_expiry_forms(fields: dict, expected: float) -> None:
    token = parse_token_response(body(**fields), NOW)

    assert token == VendedToken("t", expected)


def test_default_lifetime_is_configurable() -> None:
    assert parse_token_response(body(auth_token="t"), NOW, default_lifetime=42).expires_at == NOW + 42


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"a string"',
        body(),
        body(expires_at=1_800_000_000),
        body(auth_token="", expires_at=1_800_000_000),
        body(auth_token=123, expires_at=1_800_000_000),
        body(auth_token="SECRET-TOKEN", expires_at="soon"),
        body(auth_token="SECRET-TOKEN", expires_at=True),
        body(auth_token="SECRET-TOKEN", expires_at=[1]),
        body(auth_token="SECRET-TOKEN", expires_in="a while"),
        body(auth_token="SECRET-TOKEN", expires_at=NOW - 1),
        body(auth_token="SECRET-TOKEN", expires_in=0),
        b'{"auth_token": "SECRET-TOKEN", "expires_at": Infinity}',
    ],
)
def test_malformed_or_partial_answers_are_response_errors_that_never_echo_the_token(content: bytes) -> None:
    with pytest.raises(TokenVendingResponseError) as caught:
        parse_token_response(content, NOW)

    assert "SECRET-TOKEN" not in str(caught.value)


def test_json_error_body_gives_code_message_and_details() -> None:
    content = body(error="validation_error", message="cacheName is required", details=[{"loc": "cacheName"}])

    error = parse_error_response(400, content, {}, NOW)

    assert (error.status, error.error_code, error.message) == (400, "validation_error", "cacheName is required")
    assert error.details == [{"loc": "cacheName"}]
    assert str(error) == "token vending machine answered HTTP 400 validation_error: cacheName is required"


def test_plain_text_error_body_is_the_message() -> None:
    error = parse_error_response(401, b"invalid credentials", {}, NOW)

    assert error.error_code is None
    assert error.message == "invalid credentials"
    assert "401" in str(error) and "invalid credentials" in str(error)


def test_long_error_bodies_are_cut_in_the_message_but_kept_whole_in_body() -> None:
    text = "x" * 5000

    error = parse_error_response(502, text.encode(), {}, NOW)

    assert len(error.message) < 300
    assert error.body == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("3", 3.0),
        ("0.25", 0.25),
        ("-5", 0.0),
        ("soon", None),
        ("nan", None),
        (format_datetime(datetime.fromtimestamp(NOW + 30, tz=UTC), usegmt=True), 30.0),
        (format_datetime(datetime.fromtimestamp(NOW - 30, tz=UTC), usegmt=True), 0.0),
    ],
)
def test_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@given(st.text(min_size=1), st.floats(min_value=0, max_value=4e9))
def test_token_repr_and_str_never_show_the_token(secret: str, expires_at: float) -> None:
    token = VendedToken(secret * 3 + "-secret", expires_at)

    assert token.auth_token not in repr(token)
    assert token.auth_token not in str(token)
