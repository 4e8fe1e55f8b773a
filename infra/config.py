"""Context → one validated, typed configuration for the stack (read once, in ``app.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_cdk.aws_logs import RetentionDays
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from infra.names import DEFAULT_STACK_NAME, Context, FrontDoor, FunctionUrlAuth
from token_vending_machine.settings import MAX_TOKEN_EXPIRY_SECONDS, Settings

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


def _field_default(name: str) -> Any:
    return Settings.model_fields[name].default


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
    cors_allowed_origins: tuple[str, ...] = Field(
        default=("*",), validation_alias=Context.CORS_ALLOWED_ORIGINS, min_length=1
    )
    # Momento allows 5 auth operations per second per account: more would only turn into 429s downstream.
    throttling_rate_limit: float = Field(default=5, validation_alias=Context.THROTTLING_RATE_LIMIT, gt=0)
    throttling_burst_limit: int = Field(default=10, validation_alias=Context.THROTTLING_BURST_LIMIT, ge=0)
    reserved_concurrency: int | None = Field(default=5, validation_alias=Context.RESERVED_CONCURRENCY, ge=1)
    memory_size: int = Field(default=256, validation_alias=Context.MEMORY_SIZE, ge=128, le=10240)
    token_expiry_seconds: int = Field(
        default=_field_default("token_expiry_seconds"),
        validation_alias=Context.TOKEN_EXPIRY_SECONDS,
        gt=0,
        le=MAX_TOKEN_EXPIRY_SECONDS,
    )
    secret_max_age_seconds: int = Field(
        default=int(_field_default("secret_max_age_seconds")), validation_alias=Context.SECRET_MAX_AGE_SECONDS, ge=0
    )
    momento_timeout_seconds: float = Field(
        default=_field_default("momento_timeout_seconds"), validation_alias=Context.MOMENTO_TIMEOUT_SECONDS, gt=0, le=30
    )
    momento_max_attempts: int = Field(
        default=_field_default("momento_max_attempts"), validation_alias=Context.MOMENTO_MAX_ATTEMPTS, ge=1, le=10
    )
    log_level: str = Field(default="INFO", validation_alias=Context.LOG_LEVEL)
    log_retention_days: int = Field(default=30, validation_alias=Context.LOG_RETENTION_DAYS)

    @field_validator("existing_secret", "existing_secret_kms_key_arn", "momento_endpoint", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        # `-c corsAllowedOrigins=https://a.example,https://b.example` arrives as one string.
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    @field_validator("reserved_concurrency", mode="before")
    @classmethod
    def _none_disables(cls, value: Any) -> Any:
        return None if value is None or str(value).strip().lower() in _DISABLED else value

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

    @property
    def log_retention(self) -> RetentionDays:
        return LOG_RETENTION_DAYS[self.log_retention_days]

    @property
    def creates_secret(self) -> bool:
        return self.existing_secret is None

    @classmethod
    def from_context(cls, try_get_context: Callable[[str], Any]) -> StackConfig:
        """Read every known key through ``node.try_get_context``; unset keys keep their defaults."""
        values = {key.value: try_get_context(key.value) for key in Context}
        try:
            return cls.model_validate({key: value for key, value in values.items() if value is not None})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, err['loc'])) or 'context'}: {err['msg']}" for err in exc.errors(include_url=False)
            )
            raise ValueError(f"invalid CDK context: {problems}") from None
