"""Context → StackConfig: strings from `-c key=value` are coerced, bad values are refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import StackConfig
from infra.names import DEFAULT_STACK_NAME, Context, FrontDoor, FunctionUrlAuth


def config(**context: Any) -> StackConfig:
    return StackConfig.from_context(context.get)


def test_defaults_ship_a_function_url_that_creates_its_secret() -> None:
    defaults = config()
    assert defaults.stack_name == DEFAULT_STACK_NAME
    assert defaults.front_door is FrontDoor.FUNCTION_URL
    assert defaults.function_url_auth is FunctionUrlAuth.NONE
    assert defaults.creates_secret
    assert defaults.cors_allowed_origins == ("*",)
    assert (defaults.memory_size, defaults.reserved_concurrency, defaults.log_retention_days) == (256, 5, 30)


def test_command_line_strings_are_coerced() -> None:
    parsed = config(
        **{
            Context.MEMORY_SIZE: "1024",
            Context.THROTTLING_RATE_LIMIT: "2.5",
            Context.CORS_ALLOWED_ORIGINS: "https://a.example, https://b.example",
            Context.RESERVED_CONCURRENCY: "none",
            Context.LOG_LEVEL: "warning",
            Context.EXISTING_SECRET: "momento/api-key",
        }
    )
    assert parsed.memory_size == 1024
    assert parsed.throttling_rate_limit == 2.5
    assert parsed.cors_allowed_origins == ("https://a.example", "https://b.example")
    assert parsed.reserved_concurrency is None
    assert parsed.log_level == "WARNING"
    assert not parsed.creates_secret


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (Context.FRONT_DOOR, "alb"),
        (Context.FUNCTION_URL_AUTH, "COGNITO"),
        (Context.MEMORY_SIZE, "64"),
        (Context.TOKEN_EXPIRY_SECONDS, str(26 * 3600)),
        (Context.LOG_RETENTION_DAYS, "10"),
        (Context.LOG_LEVEL, "TRACE"),
        (Context.RESERVED_CONCURRENCY, "0"),
        (Context.MOMENTO_MAX_ATTEMPTS, "0"),
        (Context.EXISTING_SECRET_KMS_KEY_ARN, "not-an-arn"),
    ],
)
def test_bad_values_are_refused_by_name(key: str, value: str) -> None:
    with pytest.raises(ValueError, match=key):
        config(**{key: value})


def test_kms_key_without_existing_secret_is_refused() -> None:
    with pytest.raises(ValueError, match=Context.EXISTING_SECRET_KMS_KEY_ARN):
        config(**{Context.EXISTING_SECRET_KMS_KEY_ARN: "arn:aws:kms:us-east-1:111122223333:key/abc"})


def test_endpoint_with_existing_secret_is_refused() -> None:
    with pytest.raises(ValueError, match=Context.MOMENTO_ENDPOINT):
        config(**{Context.EXISTING_SECRET: "momento/api-key", Context.MOMENTO_ENDPOINT: "cell.example.com"})


def test_unknown_keys_are_ignored_but_known_ones_are_all_read() -> None:
    read: list[str] = []
    StackConfig.from_context(lambda key: read.append(key))
    assert set(read) == {key.value for key in Context}
