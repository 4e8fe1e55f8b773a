"""Context → StackConfig: strings from `-c key=value` are coerced, bad values are refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import CONTEXT_OF_ENV, StackConfig
from infra.names import DEFAULT_STACK_NAME, Context, FrontDoor, FunctionUrlAuth
from token_vending_machine.names import Env
from token_vending_machine.settings import Settings, load_settings

ISSUER = "https://issuer.example.com/"


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
    assert (defaults.secrets_extension, defaults.snap_start, defaults.tracing) == (True, False, True)
    assert defaults.jwt_issuer is None and not defaults.verifies_caller


def test_default_function_environment_is_the_lambdas_own_defaults() -> None:
    """GIVEN no policy context, THEN the function reads exactly what it would assume without the variables."""
    environment = config().function_environment
    from_environment = load_settings({**environment, Env.SECRET_NAME: "s"})
    built_in = Settings.model_validate({Env.SECRET_NAME: "s"})
    assert from_environment.model_dump(exclude={"cors_allowed_origins"}) == built_in.model_dump(
        exclude={"cors_allowed_origins"}
    )
    assert from_environment.cors_allowed_origins == ("*",)
    assert set(environment) == set(CONTEXT_OF_ENV)


def test_policy_context_becomes_the_functions_settings() -> None:
    parsed = config(
        **{
            Context.FRONT_DOOR: FrontDoor.HTTP_API,
            Context.JWT_ISSUER: ISSUER,
            Context.JWT_AUDIENCE: "web, mobile",
            Context.ALLOWED_CACHES: "chat, presence",
            Context.ALLOWED_TOPICS: ["room-*", "lobby"],  # cdk.json may hold a list
            Context.ALLOWED_PERMISSIONS: "subscribe",
            Context.TOPICS_PER_IDENTITY: "true",
            Context.TOKEN_REUSE_MIN_REMAINING: "1",
            Context.MAX_BODY_BYTES: "2048",
            Context.CORS_ALLOWED_ORIGINS: "https://a.example,https://b.example",
        }
    )
    assert parsed.jwt_audience == ("web", "mobile") and parsed.verifies_caller
    settings = load_settings({**parsed.function_environment, Env.SECRET_NAME: "s"})
    assert settings.allowed_caches == ("chat", "presence")
    assert settings.allowed_topics == ("room-*", "lobby")
    assert settings.allowed_permissions == ("subscribe",)
    assert settings.topics_per_identity is True
    assert settings.token_reuse_min_remaining == 1
    assert settings.max_body_bytes == 2048
    assert settings.cors_allowed_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (Context.ALLOWED_PERMISSIONS, "publish,admin"),
        (Context.ALLOWED_CACHES, " , "),
        (Context.ALLOWED_TOPICS, ""),
        (Context.TOKEN_REUSE_MIN_REMAINING, "0"),
        (Context.TOKEN_REUSE_MIN_REMAINING, "1.5"),
        (Context.MAX_BODY_BYTES, "10"),
        (Context.TOPICS_PER_IDENTITY, "maybe"),
        (Context.SNAP_START, "maybe"),
    ],
)
def test_values_the_function_would_refuse_fail_synth_by_name(key: str, value: str) -> None:
    with pytest.raises(ValueError, match=key):
        config(**{key: value})


def test_jwt_needs_the_http_api() -> None:
    for front_door in (FrontDoor.FUNCTION_URL, FrontDoor.REST_API):
        with pytest.raises(ValueError, match=f"{Context.JWT_ISSUER}.*{Context.FRONT_DOOR}={FrontDoor.HTTP_API}"):
            config(**{Context.FRONT_DOOR: front_door, Context.JWT_ISSUER: ISSUER, Context.JWT_AUDIENCE: "app"})


@pytest.mark.parametrize(
    "context",
    [
        {Context.FRONT_DOOR: FrontDoor.HTTP_API, Context.JWT_ISSUER: ISSUER},
        {Context.FRONT_DOOR: FrontDoor.HTTP_API, Context.JWT_AUDIENCE: "app"},
        {
            Context.FRONT_DOOR: FrontDoor.HTTP_API,
            Context.JWT_ISSUER: "http://insecure.example",
            Context.JWT_AUDIENCE: "a",
        },
    ],
)
def test_jwt_needs_an_https_issuer_and_an_audience(context: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="jwt"):
        config(**context)


@pytest.mark.parametrize(
    "context",
    [
        {},
        {Context.FRONT_DOOR: FrontDoor.HTTP_API},
        {Context.FRONT_DOOR: FrontDoor.REST_API},
    ],
)
def test_topics_per_identity_needs_a_verified_caller(context: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=Context.TOPICS_PER_IDENTITY):
        config(**context, **{Context.TOPICS_PER_IDENTITY: "true"})


def test_topics_per_identity_with_a_verified_caller() -> None:
    assert config(**{Context.FUNCTION_URL_AUTH: "AWS_IAM", Context.TOPICS_PER_IDENTITY: "yes"}).topics_per_identity


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
