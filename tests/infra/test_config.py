"""Context → StackConfig: strings from `-c key=value` are coerced, bad values are refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import StackConfig
from infra.names import DEFAULT_STACK_NAME, Context, FrontDoor, FunctionUrlAuth
from token_vending_machine.budget import API_GATEWAY_INTEGRATION_LIMIT_SECONDS
from token_vending_machine.names import Env
from token_vending_machine.settings import Settings, context_key, load_settings, operator_settings

ISSUER = "https://issuer.example.com/"
# Every variable the stack sets from the function's settings table (POLICY only when given), and the identity source.
DEPLOYED_ENV = {info.alias for info in operator_settings().values()} - {Env.POLICY} | {Env.IDENTITY_SOURCE}


def config(**context: Any) -> StackConfig:
    return StackConfig.from_context(context.get)


def test_defaults_ship_a_function_url_that_creates_its_secret() -> None:
    defaults = config()
    assert defaults.stack_name == DEFAULT_STACK_NAME
    assert defaults.front_door is FrontDoor.FUNCTION_URL
    assert defaults.function_url_auth is FunctionUrlAuth.NONE
    assert defaults.creates_secret
    assert defaults.function.cors_allowed_origins == ("*",)
    assert (defaults.memory_size, defaults.reserved_concurrency, defaults.log_retention_days) == (1024, 3, 30)
    assert defaults.invoker_role_arns == ()
    assert (defaults.secrets_extension, defaults.snap_start, defaults.tracing) == (True, False, True)
    assert defaults.jwt_issuer is None and not defaults.verifies_caller


def test_default_function_environment_is_the_lambdas_own_defaults() -> None:
    """GIVEN no policy context, THEN the function reads exactly what it would assume without the variables."""
    environment = config().function_environment
    from_environment = load_settings({**environment, Env.SECRET_NAME: "s"})
    built_in = Settings.model_validate({Env.SECRET_NAME: "s"})
    deployment_decides = {"cors_allowed_origins", "identity_source"}
    assert from_environment.model_dump(exclude=deployment_decides) == built_in.model_dump(exclude=deployment_decides)
    assert from_environment.cors_allowed_origins == ("*",)
    assert from_environment.identity_source == "none"  # a public Function URL verifies nobody
    assert set(environment) == DEPLOYED_ENV


def test_policy_context_becomes_the_functions_settings() -> None:
    parsed = config(
        **{
            Context.FRONT_DOOR: FrontDoor.HTTP_API,
            Context.JWT_ISSUER: ISSUER,
            Context.JWT_AUDIENCE: "web, mobile",
            "allowedCaches": "chat, presence",
            "allowedTopics": ["room-*", "lobby"],  # cdk.json may hold a list
            "allowedPermissions": "subscribe",
            "topicsPerIdentity": "true",
            "tokenReuseMinRemaining": "1",
            "maxBodyBytes": "2048",
            "corsAllowedOrigins": "https://a.example,https://b.example",
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
        ("allowedPermissions", "publish,admin"),
        ("allowedCaches", " , "),
        ("allowedTopics", ""),
        ("tokenReuseMinRemaining", "0"),
        ("tokenReuseMinRemaining", "1.5"),
        ("maxBodyBytes", "10"),
        ("topicsPerIdentity", "maybe"),
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
    with pytest.raises(ValueError, match="topicsPerIdentity"):
        config(**context, **{"topicsPerIdentity": "true"})


def test_topics_per_identity_with_a_verified_caller() -> None:
    assert config(**{Context.FUNCTION_URL_AUTH: "AWS_IAM", "topicsPerIdentity": "yes"}).function.topics_per_identity


def test_command_line_strings_are_coerced() -> None:
    parsed = config(
        **{
            Context.FRONT_DOOR: FrontDoor.REST_API,
            Context.MEMORY_SIZE: "1024",
            Context.THROTTLING_RATE_LIMIT: "2.5",
            "corsAllowedOrigins": "https://a.example, https://b.example",
            Context.RESERVED_CONCURRENCY: "none",
            Context.LOG_LEVEL: "warning",
            Context.EXISTING_SECRET: "momento/api-key",
        }
    )
    assert parsed.memory_size == 1024
    assert parsed.throttling_rate_limit == 2.5
    assert parsed.function.cors_allowed_origins == ("https://a.example", "https://b.example")
    assert parsed.reserved_concurrency is None
    assert parsed.log_level == "WARNING"
    assert not parsed.creates_secret


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (Context.FRONT_DOOR, "alb"),
        (Context.FUNCTION_URL_AUTH, "COGNITO"),
        (Context.MEMORY_SIZE, "64"),
        ("tokenExpirySeconds", str(26 * 3600)),
        (Context.LOG_RETENTION_DAYS, "10"),
        (Context.LOG_LEVEL, "TRACE"),
        (Context.RESERVED_CONCURRENCY, "0"),
        ("momentoMaxAttempts", "0"),
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
    assert set(read) == {key.value for key in Context} | {context_key(name) for name in operator_settings()}


# --- Rate limits on the default deployment (issue 10, point 17) ---------------------------------------


def test_default_deployment_spends_at_most_3_of_the_accounts_5_momento_calls_per_second() -> None:
    """GIVEN the defaults, THEN reserved concurrency x the per-container limiter leaves 2 calls/s to other apps."""
    defaults = config()
    assert defaults.function.momento_call_rate_limit == Settings.model_fields["momento_call_rate_limit"].default == 1.0
    assert defaults.reserved_concurrency == 3
    assert defaults.function.momento_call_rate_limit * defaults.reserved_concurrency <= 5 - 2
    assert defaults.function_environment[Env.MOMENTO_CALL_RATE_LIMIT] == "1"


@pytest.mark.parametrize(("value", "environment"), [("0", "0"), ("0.5", "0.5"), ("2", "2")])
def test_momento_call_rate_limit_reaches_the_function(value: str, environment: str) -> None:
    parsed = config(**{"momentoCallRateLimit": value})
    assert parsed.function_environment[Env.MOMENTO_CALL_RATE_LIMIT] == environment
    assert load_settings({**parsed.function_environment, Env.SECRET_NAME: "s"}).momento_call_rate_limit == float(value)


@pytest.mark.parametrize("value", ["-1", "fast", "5000"])
def test_bad_momento_call_rate_limit_is_refused_by_name(value: str) -> None:
    with pytest.raises(ValueError, match="momentoCallRateLimit"):
        config(**{"momentoCallRateLimit": value})


# --- No option silently ignored (point 5) ---------------------------------------------------------------


@pytest.mark.parametrize("front_door", [FrontDoor.HTTP_API, FrontDoor.REST_API])
@pytest.mark.parametrize("auth", [FunctionUrlAuth.AWS_IAM, FunctionUrlAuth.NONE])
def test_function_url_auth_with_an_api_front_door_is_refused(front_door: FrontDoor, auth: FunctionUrlAuth) -> None:
    """It was ignored, and `functionUrlAuth=AWS_IAM frontDoor=httpApi` deployed a public API."""
    with pytest.raises(ValueError, match=f"{Context.FUNCTION_URL_AUTH} applies only to {Context.FRONT_DOOR}="):
        config(**{Context.FRONT_DOOR: front_door, Context.FUNCTION_URL_AUTH: auth})


@pytest.mark.parametrize("front_door", [FrontDoor.HTTP_API, FrontDoor.REST_API])
def test_reserved_concurrency_with_an_api_front_door_is_refused(front_door: FrontDoor) -> None:
    with pytest.raises(ValueError, match=f"{Context.RESERVED_CONCURRENCY}.*{Context.THROTTLING_RATE_LIMIT}"):
        config(**{Context.FRONT_DOOR: front_door, Context.RESERVED_CONCURRENCY: "4"})
    # Saying "none" asks for what happens anyway.
    assert config(**{Context.FRONT_DOOR: front_door, Context.RESERVED_CONCURRENCY: "none"}).reserved_concurrency is None


@pytest.mark.parametrize("key", [Context.THROTTLING_RATE_LIMIT, Context.THROTTLING_BURST_LIMIT])
def test_stage_throttling_with_a_function_url_is_refused(key: Context) -> None:
    with pytest.raises(ValueError, match=f"{key}.*{Context.RESERVED_CONCURRENCY}.*{'momentoCallRateLimit'}"):
        config(**{key: "2"})


def test_front_door_options_are_accepted_where_they_apply() -> None:
    assert (
        config(**{Context.FRONT_DOOR: FrontDoor.REST_API, Context.THROTTLING_RATE_LIMIT: "2"}).throttling_rate_limit
        == 2
    )
    assert config(**{Context.RESERVED_CONCURRENCY: "2", Context.FUNCTION_URL_AUTH: "AWS_IAM"}).reserved_concurrency == 2


# --- Who may invoke an AWS_IAM Function URL (point 3) ---------------------------------------------------

ROLE = "arn:aws:iam::111122223333:role/tvm-callers"
PARTNER_ROLE = "arn:aws:iam::444455556666:role/partner/tvm"


def test_invoker_role_arns_are_read_as_a_list() -> None:
    parsed = config(**{Context.FUNCTION_URL_AUTH: "AWS_IAM", Context.INVOKER_ROLE_ARNS: f"{ROLE}, {PARTNER_ROLE}"})
    assert parsed.invoker_role_arns == (ROLE, PARTNER_ROLE)
    as_list = config(**{Context.FUNCTION_URL_AUTH: "AWS_IAM", Context.INVOKER_ROLE_ARNS: [ROLE]})
    assert as_list.invoker_role_arns == (ROLE,)


@pytest.mark.parametrize(
    "context",
    [
        {},
        {Context.FUNCTION_URL_AUTH: "NONE"},
        {Context.FRONT_DOOR: FrontDoor.HTTP_API},
        {Context.FRONT_DOOR: FrontDoor.REST_API},
    ],
)
def test_invoker_role_arns_need_an_iam_function_url(context: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=f"{Context.INVOKER_ROLE_ARNS}.*{Context.FUNCTION_URL_AUTH}=AWS_IAM"):
        config(**context, **{Context.INVOKER_ROLE_ARNS: ROLE})


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::111122223333:role/",
        "arn:aws:iam::1111:role/short-account",
        "arn:aws:sts::111122223333:assumed-role/tvm-callers/session",
        "tvm-callers",
    ],
)
def test_invoker_role_arns_must_be_role_arns(arn: str) -> None:
    with pytest.raises(ValueError, match=Context.INVOKER_ROLE_ARNS):
        config(**{Context.FUNCTION_URL_AUTH: "AWS_IAM", Context.INVOKER_ROLE_ARNS: arn})


# --- One time budget (point 6) --------------------------------------------------------------------------


@pytest.mark.parametrize("front_door", [FrontDoor.HTTP_API, FrontDoor.REST_API])
def test_a_lambda_timeout_beyond_the_api_gateway_limit_is_refused(front_door: FrontDoor) -> None:
    """GIVEN 8 s x 3 Momento attempts (a 33 s Lambda timeout), THEN API Gateway would cut the answer off at 29 s."""
    slow = {"momentoTimeoutSeconds": "8", "momentoMaxAttempts": "3"}
    assert config(**slow).function_timeout_seconds > API_GATEWAY_INTEGRATION_LIMIT_SECONDS
    with pytest.raises(
        ValueError,
        match=f"{'momentoTimeoutSeconds'}=8 and {'momentoMaxAttempts'}=3 .* "
        f"{API_GATEWAY_INTEGRATION_LIMIT_SECONDS} s integration limit",
    ):
        config(**{Context.FRONT_DOOR: front_door, **slow})


def test_the_largest_budget_that_fits_behind_api_gateway_is_accepted() -> None:
    fitting = config(
        **{
            Context.FRONT_DOOR: FrontDoor.HTTP_API,
            "momentoTimeoutSeconds": "6",
            "momentoMaxAttempts": "3",
        }
    )
    assert fitting.function_timeout_seconds <= API_GATEWAY_INTEGRATION_LIMIT_SECONDS
