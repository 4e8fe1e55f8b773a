"""Synthesize each variant once per test session: jsii starts in ~3 s, later syntheses take ~0.3 s."""

from __future__ import annotations

from typing import Any

import pytest

from infra.checks import EXAMPLE_JWT_ISSUER, VARIANTS, Synthesized, synthesize
from infra.names import Context, FrontDoor

# Set in the environment during every synthesis; it must never show up in any output.
FAKE_API_KEY = "fake-momento-key-7f3a9c1e-MUST-NOT-LEAK"

# Every knob away from its default, to prove the context reaches the template.
CUSTOM_CONTEXT: dict[str, Any] = {
    Context.STACK_NAME: "CustomTvm",
    Context.FRONT_DOOR: FrontDoor.HTTP_API,
    "corsAllowedOrigins": "https://app.example.com, https://admin.example.com",
    Context.THROTTLING_RATE_LIMIT: "20",
    Context.THROTTLING_BURST_LIMIT: "40",
    Context.MEMORY_SIZE: "512",
    "tokenExpirySeconds": "900",
    "secretMaxAgeSeconds": "60",
    "momentoTimeoutSeconds": "1.5",
    "momentoMaxAttempts": "2",
    "momentoCallRateLimit": "0.5",
    Context.LOG_LEVEL: "debug",
    Context.LOG_RETENTION_DAYS: "7",
    Context.MOMENTO_ENDPOINT: "cell-4-us-west-2-1.prod.a.momentohq.com",
    "allowedCaches": "chat, presence",
    "allowedTopics": "room-*,lobby",
    "allowedPermissions": "subscribe",
    "topicsPerIdentity": "true",
    "tokenReuseMinRemaining": "0.75",
    "maxBodyBytes": "2048",
    Context.JWT_ISSUER: EXAMPLE_JWT_ISSUER,
    Context.JWT_AUDIENCE: "web-client, mobile-client",
    Context.SNAP_START: "true",
    Context.TRACING: "false",
}
CUSTOM_URL_CONTEXT: dict[str, Any] = {Context.RESERVED_CONCURRENCY: "7"}
NO_RESERVATION_CONTEXT: dict[str, Any] = {Context.RESERVED_CONCURRENCY: "none"}


@pytest.fixture(scope="session")
def fake_api_key_in_environment() -> str:
    """The recognisable key that was in MOMENTO_API_KEY while the variants were synthesized."""
    return FAKE_API_KEY


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory, fake_api_key_in_environment: str) -> dict[str, Synthesized]:
    root = tmp_path_factory.mktemp("cdk")
    contexts = {
        **VARIANTS,
        "custom": CUSTOM_CONTEXT,
        "custom-function-url": CUSTOM_URL_CONTEXT,
        "no-reservation": NO_RESERVATION_CONTEXT,
    }
    # Set only while synthesizing, so no other test of the session sees a fake key.
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("MOMENTO_API_KEY", fake_api_key_in_environment)
        return {name: synthesize(dict(context), root / name) for name, context in contexts.items()}
