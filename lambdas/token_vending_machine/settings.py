"""Environment → typed settings, validated once at cold start. Logic never reads ``os.environ``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo

from token_vending_machine.errors import ConfigurationError
from token_vending_machine.identity import IdentitySource
from token_vending_machine.models import Permission
from token_vending_machine.names import Env
from token_vending_machine.policy import PolicyDocument, Rule, legacy_rules

# Momento refuses disposable tokens that live longer than 25 hours.
MAX_TOKEN_EXPIRY_SECONDS = 25 * 60 * 60
ANY = "*"
# The original's policy settings, which a POLICY document replaces.
LEGACY_POLICY_FIELDS = ("allowed_caches", "allowed_topics", "allowed_permissions", "topics_per_identity")
# Marks a setting the deployment decides (the CDK app or the local stack), not the operator: it has no
# CDK context key and no row in the README's configuration table.
SET_BY_DEPLOYMENT: dict[str, JsonValue] = {"set_by_deployment": True}


class Settings(BaseModel):
    """The function's settings, declared ONCE here: environment variable (the upper-cased name or an
    alias), type, default, validation and description. The CDK app derives its context keys,
    synth-time validation and the function's environment from this table (``infra/config.py``), and
    the README's configuration table is written from it (``infra/settings_table.py``)."""

    # A field's environment variable is its name in upper case unless it sets an alias of its own.
    model_config = ConfigDict(frozen=True, populate_by_name=True, alias_generator=str.upper)

    secret_id: str = Field(
        description="Name or ARN of the secret holding the long-lived key.",
        alias=Env.SECRET_NAME,
        min_length=1,
        json_schema_extra=SET_BY_DEPLOYMENT,
    )
    secret_max_age_seconds: float = Field(
        description="How long the function keeps the key before reading the secret again (bounds rotation).",
        default=300,
        ge=0,
    )
    token_expiry_seconds: int = Field(
        description="Lifetime of each vended token (Momento allows at most 25 h).",
        default=3600,
        gt=0,
        le=MAX_TOKEN_EXPIRY_SECONDS,
    )
    momento_timeout_seconds: float = Field(
        description="Deadline of one Momento token call; the Lambda timeout is derived from it.",
        default=2.0,
        gt=0,
        le=30,
    )
    momento_max_attempts: int = Field(
        description="Momento token calls per request, retrying transient failures within the time budget.",
        default=3,
        ge=1,
        le=10,
    )
    momento_local_endpoint: str | None = Field(
        description="host:port of a local Momento-compatible server (insecure channel); the local stack and tests.",
        default=None,
        json_schema_extra=SET_BY_DEPLOYMENT,
    )
    # Policy. The defaults are the original's: any cache, any topic, publish+subscribe for anyone.
    allowed_caches: tuple[str, ...] = Field(
        description="Caches tokens may be vended for: names or glob patterns, comma-separated.",
        default=(ANY,),
        min_length=1,
    )
    allowed_topics: tuple[str, ...] = Field(
        description="Topics tokens may be vended for: names or glob patterns, comma-separated.",
        default=(ANY,),
        min_length=1,
    )
    allowed_permissions: tuple[Permission, ...] = Field(
        description="Permissions callers may ask for: publish_subscribe, subscribe, publish.",
        default=tuple(Permission),
        min_length=1,
    )
    policy: PolicyDocument | None = Field(
        description='The policy as one JSON document, {"rules": [...]} (see Policy): what may be granted, per '
        "cache, topic or key pattern and role; replaces ALLOWED_CACHES, ALLOWED_TOPICS, ALLOWED_PERMISSIONS "
        "and TOPICS_PER_IDENTITY.",
        default=None,
    )
    topics_per_identity: bool = Field(
        description="Each verified caller gets only topics <namespace> and <namespace>:* (verifying front door).",
        default=False,
    )
    token_reuse_min_remaining: float = Field(
        description="Reuse a token for identical requests while at least this share of its life remains (1: never).",
        default=0.5,
        gt=0,
        le=1,
    )
    cors_allowed_origins: tuple[str, ...] = Field(
        description="Origins browsers may call from (comma-separated; * for any). The CDK app deploys * unless set.",
        default=(),
        json_schema_extra={"deployed_default": [ANY]},
    )
    max_body_bytes: int = Field(
        description="Largest request body accepted (413 beyond).",
        default=8192,
        ge=64,
        le=1_048_576,
    )
    momento_call_rate_limit: float = Field(
        description="Momento token calls per second per container (0: no limit); reused tokens are free.",
        default=1.0,
        ge=0,
        le=1000,
    )
    front_door_api_id: str | None = Field(
        description="The API Gateway API in front: identities from any other API are refused (403).",
        default=None,
        pattern=r"^[a-z0-9]{10}$",
        json_schema_extra=SET_BY_DEPLOYMENT,
    )
    identity_source: IdentitySource = Field(
        description="The one kind of caller identity the front door produces (any, none, jwt, iam, lambda); "
        "events carrying another are refused as forged (403).",
        default=IdentitySource.ANY,
        json_schema_extra=SET_BY_DEPLOYMENT,
    )
    secrets_extension_port: int | None = Field(
        description="Set by the AWS Parameters and Secrets extension: the secret is then read through it, "
        "without importing boto3.",
        default=None,
        alias=Env.SECRETS_EXTENSION_PORT,
        gt=0,
        lt=65536,
        json_schema_extra=SET_BY_DEPLOYMENT,
    )

    @field_validator("allowed_caches", "allowed_topics", "allowed_permissions", "cors_allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    def policy_rules(self) -> tuple[Rule, ...]:
        """The rules in force: the POLICY document's, or the original's settings as rules."""
        if self.policy is not None:
            return self.policy.rules
        return legacy_rules(self.allowed_caches, self.allowed_topics, self.allowed_permissions)

    @model_validator(mode="after")
    def _one_way_to_say_the_policy(self) -> Settings:
        if self.policy is not None:
            set_too = [
                str(Settings.model_fields[name].alias)
                for name in LEGACY_POLICY_FIELDS
                if getattr(self, name) != Settings.model_fields[name].default
            ]
            if set_too:
                raise ValueError(
                    f"POLICY replaces {', '.join(set_too)}: express those in the policy's rules "
                    "({identity} in a topic pattern for per-caller topics)"
                )
        return self

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


def operator_settings() -> dict[str, FieldInfo]:
    """The rows an operator sets, by field name."""
    return {
        name: info
        for name, info in Settings.model_fields.items()
        if not (isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("set_by_deployment"))
    }


def context_key(field_name: str) -> str:
    """A setting's CDK context key: its field name in camelCase (``max_body_bytes`` -> ``maxBodyBytes``)."""
    first, *rest = field_name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def env_value(value: Any) -> str:
    """A setting's value as the environment carries it, read back the same by ``load_settings``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    if isinstance(value, BaseModel):
        return value.model_dump_json(exclude_defaults=True)
    return str(value)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Validate the environment; the error names each bad variable and why (values are not secret)."""
    names = [str(info.alias) for info in Settings.model_fields.values()]
    known = {name: environ[name] for name in names if environ.get(name, "") != ""}
    try:
        return Settings.model_validate(known)
    except ValidationError as exc:
        raise ConfigurationError(f"invalid configuration: {settings_problems(exc)}") from None


def settings_problems(exc: ValidationError, *, name_of: Mapping[str, str] | None = None) -> str:
    """Each problem with the variable (or, through ``name_of``, the context key) and the place inside it."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        first, *rest = [str(part) for part in err["loc"]] or [""]
        where = ".".join([(name_of or {}).get(first, first), *rest])
        message = err["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)
