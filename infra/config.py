"""Context → one validated, typed configuration for the stack (read once, in ``app.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from aws_cdk.aws_logs import RetentionDays
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from infra.names import DEFAULT_STACK_NAME, Context, FrontDoor, FunctionUrlAuth
from token_vending_machine.budget import API_GATEWAY_INTEGRATION_LIMIT_SECONDS, function_timeout_seconds
from token_vending_machine.identity import IdentitySource
from token_vending_machine.names import Env
from token_vending_machine.policy import IDENTITY
from token_vending_machine.settings import (
    LEGACY_POLICY_FIELDS,
    Settings,
    context_key,
    env_value,
    operator_settings,
    settings_problems,
)

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = {
    1: RetentionDays.ONE_DAY,
    3: RetentionDays.THREE_DAYS,
    5: RetentionDays.FIVE_DAYS,
    7: RetentionDays.ONE_WEEK,
    14: RetentionDays.TWO_WEEKS,
    30: RetentionDays.ONE_MONTH,
    60: RetentionDays.TWO_MONTHS,
    90: RetentionDays.THREE_MONTHS,
    120: RetentionDays.FOUR_MONTHS,
    150: RetentionDays.FIVE_MONTHS,
    180: RetentionDays.SIX_MONTHS,
    365: RetentionDays.ONE_YEAR,
    400: RetentionDays.THIRTEEN_MONTHS,
    545: RetentionDays.EIGHTEEN_MONTHS,
    731: RetentionDays.TWO_YEARS,
    1096: RetentionDays.THREE_YEARS,
    1827: RetentionDays.FIVE_YEARS,
    3653: RetentionDays.TEN_YEARS,
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_DISABLED = {"", "none", "null", "off", "false"}
# Stands in for the secret's ARN (a deploy-time token) while the Lambda's model checks the environment.
_SECRET_NAME_AT_SYNTH = "resolved-at-deploy-time"
# An IAM role's ARN, in any partition; the path is part of the name.
_ROLE_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$"
# One address for an SNS e-mail subscription (SNS confirms it by mail; this only catches typos and lists).
_EMAIL = r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$"
API_GATEWAY_FRONT_DOORS = (FrontDoor.HTTP_API, FrontDoor.REST_API)


def _comma_separated(value: Any) -> Any:
    """`-c allowedTopics=chat-*,news` arrives as one string; cdk.json may hold a list."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


class StackConfig(BaseModel):
    """Every knob of the stack; defaults are what a plain ``make deploy`` ships."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stack_name: str = Field(
        default=DEFAULT_STACK_NAME, validation_alias=Context.STACK_NAME, pattern=r"^[A-Za-z][A-Za-z0-9-]*$"
    )
    front_door: FrontDoor = Field(default=FrontDoor.FUNCTION_URL, validation_alias=Context.FRONT_DOOR)
    function_url_auth: FunctionUrlAuth = Field(default=FunctionUrlAuth.NONE, validation_alias=Context.FUNCTION_URL_AUTH)
    existing_secret: str | None = Field(default=None, validation_alias=Context.EXISTING_SECRET)
    existing_secret_kms_key_arn: str | None = Field(
        default=None, validation_alias=Context.EXISTING_SECRET_KMS_KEY_ARN, pattern=r"^arn:[\w-]+:kms:"
    )
    momento_endpoint: str | None = Field(default=None, validation_alias=Context.MOMENTO_ENDPOINT)
    # API Gateway stage throttling. Momento allows 5 auth operations per second per account: more would
    # only turn into 429s downstream.
    throttling_rate_limit: float = Field(default=5, validation_alias=Context.THROTTLING_RATE_LIMIT, gt=0)
    throttling_burst_limit: int = Field(default=10, validation_alias=Context.THROTTLING_BURST_LIMIT, ge=0)
    # The Function URL's only cap. With the function's own momentoCallRateLimit (1/s per container), 3 containers
    # spend at most 3 of the account's 5 Momento auth calls per second, leaving 2 for other apps.
    reserved_concurrency: int | None = Field(default=3, validation_alias=Context.RESERVED_CONCURRENCY, ge=1)
    # CPU comes with memory (1,769 MB = one vCPU) and the cold start is CPU-bound: 1,024 MB cut it from
    # 6.6 s to 1.0 s under an emulated CPU share (bench/README.md), for about $0.03 more per million warm
    # requests of ~3 ms (arm64 list price).
    memory_size: int = Field(default=1024, validation_alias=Context.MEMORY_SIZE, ge=128, le=10240)
    log_level: str = Field(default="INFO", validation_alias=Context.LOG_LEVEL)
    log_retention_days: int = Field(default=30, validation_alias=Context.LOG_RETENTION_DAYS)
    # Caller identity: an HTTP API JWT authorizer (issuer URL + accepted audiences).
    jwt_issuer: str | None = Field(default=None, validation_alias=Context.JWT_ISSUER, pattern=r"^https://\S+$")
    jwt_audience: tuple[str, ...] = Field(default=(), validation_alias=Context.JWT_AUDIENCE)
    # Caller identity: roles granted both invoke permissions on an AWS_IAM Function URL.
    invoker_role_arns: tuple[Annotated[str, StringConstraints(pattern=_ROLE_ARN)], ...] = Field(
        default=(), validation_alias=Context.INVOKER_ROLE_ARNS
    )
    # Cold start and observability.
    secrets_extension: bool = Field(default=True, validation_alias=Context.SECRETS_EXTENSION)
    snap_start: bool = Field(default=False, validation_alias=Context.SNAP_START)
    tracing: bool = Field(default=True, validation_alias=Context.TRACING)
    # Operations: alarms + dashboard, an address for the alarm topic, CodeDeploy canary on the live alias.
    monitoring: bool = Field(default=True, validation_alias=Context.MONITORING)
    alarm_email: str | None = Field(default=None, validation_alias=Context.ALARM_EMAIL)
    canary: bool = Field(default=False, validation_alias=Context.CANARY)
    # The function's own settings, from the context keys its settings table derives (see from_context).
    function: Settings

    @field_validator("existing_secret", "existing_secret_kms_key_arn", "momento_endpoint", "alarm_email", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("jwt_audience", "invoker_role_arns", mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        return _comma_separated(value)

    @field_validator("jwt_issuer", mode="before")
    @classmethod
    def _blank_issuer_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("reserved_concurrency", mode="before")
    @classmethod
    def _none_disables(cls, value: Any) -> Any:
        return None if value is None or str(value).strip().lower() in _DISABLED else value

    @field_validator("alarm_email")
    @classmethod
    def _one_address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(_EMAIL, value):
            raise ValueError("must be one e-mail address (subscribe more to the AlarmTopicArn output's topic)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: Any) -> str:
        level = str(value).upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("log_retention_days")
    @classmethod
    def _allowed_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch Logs accepts only {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value

    @model_validator(mode="after")
    def _secret_options_fit(self) -> StackConfig:
        if self.existing_secret is None and self.existing_secret_kms_key_arn is not None:
            raise ValueError(f"{Context.EXISTING_SECRET_KMS_KEY_ARN} applies only with {Context.EXISTING_SECRET}")
        if self.existing_secret is not None and self.momento_endpoint is not None:
            raise ValueError(
                f"{Context.MOMENTO_ENDPOINT} shapes a secret this stack creates; put the endpoint into "
                f"the existing secret instead ({Context.EXISTING_SECRET} is set)"
            )
        return self

    @model_validator(mode="after")
    def _identity_options_fit(self) -> StackConfig:
        if (self.jwt_issuer is None) != (not self.jwt_audience):
            raise ValueError(f"{Context.JWT_ISSUER} and {Context.JWT_AUDIENCE} go together: set both or neither")
        if self.jwt_issuer is not None and self.front_door is not FrontDoor.HTTP_API:
            raise ValueError(
                f"{Context.JWT_ISSUER} adds an HTTP API JWT authorizer: it needs {Context.FRONT_DOOR}="
                f"{FrontDoor.HTTP_API} (for a Function URL use {Context.FUNCTION_URL_AUTH}={FunctionUrlAuth.AWS_IAM})"
            )
        per_caller = [
            context_key("topics_per_identity") if self.function.topics_per_identity else None,
            "a policy rule with {identity}" if _names_the_caller(self.function) else None,
        ]
        needs_caller = next(filter(None, per_caller), None)
        if needs_caller is not None and not self.verifies_caller:
            raise ValueError(
                f"{needs_caller} needs a caller that AWS verified, or every such request is refused: "
                f"set {Context.JWT_ISSUER} and {Context.JWT_AUDIENCE} ({Context.FRONT_DOOR}={FrontDoor.HTTP_API}) or "
                f"{Context.FUNCTION_URL_AUTH}={FunctionUrlAuth.AWS_IAM} ({Context.FRONT_DOOR}={FrontDoor.FUNCTION_URL})"
            )
        return self

    @model_validator(mode="after")
    def _front_door_options_fit(self) -> StackConfig:
        """An option the chosen front door would ignore is refused: ignored options have left endpoints public."""
        explicit = self.model_fields_set
        if self.front_door in API_GATEWAY_FRONT_DOORS:
            if "function_url_auth" in explicit:
                raise ValueError(
                    f"{Context.FUNCTION_URL_AUTH} applies only to {Context.FRONT_DOOR}={FrontDoor.FUNCTION_URL}; "
                    f"with {Context.FRONT_DOOR}={self.front_door} it would be ignored and the API left public. "
                    f"Use {Context.JWT_ISSUER} + {Context.JWT_AUDIENCE} ({Context.FRONT_DOOR}={FrontDoor.HTTP_API}) "
                    f"or {Context.FRONT_DOOR}={FrontDoor.FUNCTION_URL} with {Context.FUNCTION_URL_AUTH}="
                    f"{FunctionUrlAuth.AWS_IAM}"
                )
            if "reserved_concurrency" in explicit and self.reserved_concurrency is not None:
                raise ValueError(
                    f"{Context.RESERVED_CONCURRENCY} applies only to {Context.FRONT_DOOR}={FrontDoor.FUNCTION_URL}; "
                    f"{Context.FRONT_DOOR}={self.front_door} is limited by {Context.THROTTLING_RATE_LIMIT} and "
                    f"{Context.THROTTLING_BURST_LIMIT} at the stage"
                )
        else:
            throttling = [
                str(key)
                for key, name in (
                    (Context.THROTTLING_RATE_LIMIT, "throttling_rate_limit"),
                    (Context.THROTTLING_BURST_LIMIT, "throttling_burst_limit"),
                )
                if name in explicit
            ]
            if throttling:
                raise ValueError(
                    f"{' and '.join(throttling)}: API Gateway stage throttling, for {Context.FRONT_DOOR}="
                    f"{FrontDoor.HTTP_API} or {FrontDoor.REST_API} only; a Function URL has no stage and would ignore "
                    f"it: limit it with {Context.RESERVED_CONCURRENCY} and {context_key('momento_call_rate_limit')}"
                )
        if self.invoker_role_arns and not (
            self.front_door is FrontDoor.FUNCTION_URL and self.function_url_auth is FunctionUrlAuth.AWS_IAM
        ):
            raise ValueError(
                f"{Context.INVOKER_ROLE_ARNS} grants invoke permissions on an IAM-authenticated Function URL: it "
                f"needs {Context.FRONT_DOOR}={FrontDoor.FUNCTION_URL} and {Context.FUNCTION_URL_AUTH}="
                f"{FunctionUrlAuth.AWS_IAM}"
            )
        return self

    @model_validator(mode="after")
    def _operations_options_fit(self) -> StackConfig:
        """The alarm address and the canary's rollback both need the alarms."""
        if not self.monitoring:
            if self.alarm_email is not None:
                raise ValueError(
                    f"{Context.ALARM_EMAIL} subscribes to the alarm topic, which {Context.MONITORING}=false removes: "
                    "drop one of them"
                )
            if self.canary:
                raise ValueError(
                    f"{Context.CANARY}=true rolls back on the error alarms, which {Context.MONITORING}=false removes: "
                    "a canary nothing watches would shift every bad version to 100 %"
                )
        return self

    @model_validator(mode="after")
    def _fits_the_api_gateway_limit(self) -> StackConfig:
        """Behind API Gateway the function must be able to answer before the integration gives up."""
        timeout, limit = self.function_timeout_seconds, API_GATEWAY_INTEGRATION_LIMIT_SECONDS
        if self.front_door in API_GATEWAY_FRONT_DOORS and timeout > limit:
            raise ValueError(
                f"{context_key('momento_timeout_seconds')}={self.function.momento_timeout_seconds:g} and "
                f"{context_key('momento_max_attempts')}={self.function.momento_max_attempts} make a {timeout} s "
                "Lambda timeout, "
                f"longer than API Gateway's {limit} s integration limit ({Context.FRONT_DOOR}={self.front_door}): "
                f"callers would get API Gateway's 504 instead of the function's answer. Lower "
                f"{context_key('momento_timeout_seconds')} or {context_key('momento_max_attempts')}"
            )
        return self

    @property
    def function_environment(self) -> dict[str, str]:
        """Every operator setting as an environment variable (always set, so the template shows the
        policy), and the kind of caller identity this stack's front door produces."""
        replaced = LEGACY_POLICY_FIELDS if self.function.policy is not None else ()
        environment = {
            str(info.alias): env_value(value)
            for name, info in operator_settings().items()
            if (value := getattr(self.function, name)) is not None and name not in replaced
        }
        environment[Env.IDENTITY_SOURCE] = self.identity_source.value
        return environment

    @property
    def identity_source(self) -> IdentitySource:
        """The only identity the front door puts into events: the function refuses any other as forged."""
        if self.front_door is FrontDoor.FUNCTION_URL:
            return IdentitySource.IAM if self.function_url_auth is FunctionUrlAuth.AWS_IAM else IdentitySource.NONE
        if self.front_door is FrontDoor.HTTP_API and self.jwt_issuer is not None:
            return IdentitySource.JWT
        return IdentitySource.NONE

    @property
    def function_timeout_seconds(self) -> int:
        """The Lambda timeout, derived in ``budget.py`` from the same numbers as each request's deadline."""
        return function_timeout_seconds(
            momento_timeout_seconds=self.function.momento_timeout_seconds,
            momento_max_attempts=self.function.momento_max_attempts,
        )

    @property
    def verifies_caller(self) -> bool:
        """Whether AWS authenticates callers before the function runs (JWT authorizer or SigV4)."""
        if self.front_door is FrontDoor.FUNCTION_URL:
            return self.function_url_auth is FunctionUrlAuth.AWS_IAM
        return self.front_door is FrontDoor.HTTP_API and self.jwt_issuer is not None

    @property
    def live_alias(self) -> bool:
        """Whether the front door invokes the ``live`` alias: SnapStart restores published versions only, and a
        canary shifts the alias from one version to the next."""
        return self.snap_start or self.canary

    @property
    def log_retention(self) -> RetentionDays:
        return LOG_RETENTION_DAYS[self.log_retention_days]

    @property
    def creates_secret(self) -> bool:
        return self.existing_secret is None

    @classmethod
    def from_context(cls, try_get_context: Callable[[str], Any]) -> StackConfig:
        """Read every known key through ``node.try_get_context``; unset keys keep their defaults."""
        stack_values = {
            key.value: value
            for key in Context
            if key is not Context.POLICY_FILE and (value := try_get_context(key.value)) is not None
        }
        problems: list[str] = []
        try:
            function = function_settings(try_get_context)
        except ValueError as exc:
            problems.append(str(exc))
            function = function_settings(lambda key: None)
        try:
            config = cls.model_validate({**stack_values, "function": function})
        except ValidationError as exc:
            # A check across keys (a model validator) names its keys in the message itself.
            problems.append(settings_problems(exc))
        if problems:
            raise ValueError(f"invalid CDK context: {'; '.join(problems)}")
        return config


def _names_the_caller(settings: Settings) -> bool:
    """Whether a POLICY rule grants something only to a verified caller ({identity} in a pattern)."""
    return settings.policy is not None and any(
        IDENTITY in (rule.topic or "") + (rule.key or "") for rule in settings.policy.rules
    )


def function_settings(try_get_context: Callable[[str], Any]) -> Settings:
    """The function's settings from their context keys, validated by the function's own model at synth,
    so a value it would refuse fails `cdk synth`, not the cold start."""
    values: dict[str, Any] = {Env.SECRET_NAME: _SECRET_NAME_AT_SYNTH}
    policy_file = try_get_context(Context.POLICY_FILE)
    if policy_file:
        if try_get_context(context_key("policy")) is not None:
            raise ValueError(f"{Context.POLICY_FILE} and {context_key('policy')} say the same thing: set one")
        try:
            values[Env.POLICY] = Path(policy_file).read_text()
        except OSError as exc:
            raise ValueError(f"{Context.POLICY_FILE}: cannot read {policy_file!r} ({exc.strerror})") from None
    for name, info in operator_settings().items():
        value = try_get_context(context_key(name))
        if value is None and isinstance(info.json_schema_extra, dict):
            value = info.json_schema_extra.get("deployed_default")
        if value is not None and info.alias is not None:
            values[info.alias] = value
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        context_of = {str(info.alias): context_key(name) for name, info in operator_settings().items()}
        raise ValueError(settings_problems(exc, name_of=context_of)) from None
