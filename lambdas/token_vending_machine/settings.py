"""Environment → typed settings, validated once at cold start. Logic never reads ``os.environ``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from token_vending_machine.errors import ConfigurationError
from token_vending_machine.identity import IdentitySource
from token_vending_machine.models import Permission
from token_vending_machine.names import Env

# Momento refuses disposable tokens that live longer than 25 hours.
MAX_TOKEN_EXPIRY_SECONDS = 25 * 60 * 60
ANY = "*"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    secret_name: str = Field(alias=Env.SECRET_NAME, min_length=1)
    secret_max_age_seconds: float = Field(default=300, alias=Env.SECRET_MAX_AGE_SECONDS, ge=0)
    token_expiry_seconds: int = Field(default=3600, alias=Env.TOKEN_EXPIRY_SECONDS, gt=0, le=MAX_TOKEN_EXPIRY_SECONDS)
    momento_timeout_seconds: float = Field(default=2.0, alias=Env.MOMENTO_TIMEOUT_SECONDS, gt=0, le=30)
    momento_max_attempts: int = Field(default=3, alias=Env.MOMENTO_MAX_ATTEMPTS, ge=1, le=10)
    momento_local_endpoint: str | None = Field(default=None, alias=Env.MOMENTO_LOCAL_ENDPOINT)
    # Policy. The defaults are the original's: any cache, any topic, publish+subscribe for anyone.
    allowed_caches: tuple[str, ...] = Field(default=(ANY,), alias=Env.ALLOWED_CACHES, min_length=1)
    allowed_topics: tuple[str, ...] = Field(default=(ANY,), alias=Env.ALLOWED_TOPICS, min_length=1)
    allowed_permissions: tuple[Permission, ...] = Field(
        default=tuple(Permission), alias=Env.ALLOWED_PERMISSIONS, min_length=1
    )
    topics_per_identity: bool = Field(default=False, alias=Env.TOPICS_PER_IDENTITY)
    # Reuse a token for identical requests while at least this share of its life remains (1 = never).
    token_reuse_min_remaining: float = Field(default=0.5, alias=Env.TOKEN_REUSE_MIN_REMAINING, gt=0, le=1)
    cors_allowed_origins: tuple[str, ...] = Field(default=(), alias=Env.CORS_ALLOWED_ORIGINS)
    max_body_bytes: int = Field(default=8192, alias=Env.MAX_BODY_BYTES, ge=64, le=1_048_576)
    momento_call_rate_limit: float = Field(default=1.0, alias=Env.MOMENTO_CALL_RATE_LIMIT, ge=0, le=1000)
    front_door_api_id: str | None = Field(default=None, alias=Env.FRONT_DOOR_API_ID, pattern=r"^[a-z0-9]{10}$")
    identity_source: IdentitySource = Field(default=IdentitySource.ANY, alias=Env.IDENTITY_SOURCE)
    secrets_extension_port: int | None = Field(default=None, alias=Env.SECRETS_EXTENSION_PORT, gt=0, lt=65536)

    @field_validator("allowed_caches", "allowed_topics", "allowed_permissions", "cors_allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("momento_local_endpoint")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if not value:
            return None
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("must be host:port, for example 127.0.0.1:9090")
        return value

    @property
    def local_host_and_port(self) -> tuple[str, int] | None:
        if self.momento_local_endpoint is None:
            return None
        host, _, port = self.momento_local_endpoint.rpartition(":")
        return host, int(port)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Validate the environment; the error names each bad variable and why (values are not secret)."""
    known = {name.value: environ[name.value] for name in Env if environ.get(name.value, "") != ""}
    try:
        return Settings.model_validate(known)
    except ValidationError as exc:
        problems = "; ".join(f"{err['loc'][0]}: {err['msg']}" for err in exc.errors(include_url=False))
        raise ConfigurationError(f"invalid configuration: {problems}") from None
