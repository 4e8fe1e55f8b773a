"""Secrets Manager adapter: fetch the Momento key, parse it, cache it for a bounded age.

Two sources read the secret: the AWS Parameters and Secrets Lambda Extension over localhost (no
boto3 import, which keeps ~170 ms off the cold start) when it is attached, else boto3.

A small cache of our own rather than Powertools' parameters cache, because what we cache is the
parsed key, and because a failed refresh must keep serving the last good key (a Secrets Manager
blip should not stop token vending) while a missing or malformed secret must not.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from token_vending_machine.errors import ConfigurationError, DependencyUnavailable
from token_vending_machine.models import MomentoKey, parse_secret
from token_vending_machine.names import ErrorCode
from token_vending_machine.budget import (
    SECRET_CONNECT_TIMEOUT_SECONDS,
    SECRET_FETCH_TIMEOUT_SECONDS,
    SECRET_READ_TIMEOUT_SECONDS,
)

# Secrets Manager error codes that mean "try again later", not "the set-up is wrong".
_TRANSIENT_CODES = {"ThrottlingException", "InternalServiceError", "RequestTimeout", "ServiceUnavailable"}

# botocore logs whole response bodies at DEBUG, the secret's value included: never let it, whatever
# level the root logger is given (Lambda's log-level controls can set it to DEBUG).
logging.getLogger("botocore.parsers").setLevel(logging.INFO)


def _unavailable(what: str) -> DependencyUnavailable:
    return DependencyUnavailable(f"{what}; try again shortly.", code=ErrorCode.SECRET_UNAVAILABLE)


class SecretSource(Protocol):
    def read(self, secret_id: str) -> str:
        """The secret's SecretString; ConfigurationError or DependencyUnavailable when it cannot be had."""
        ...


class SecretsManagerSource:
    """Reads through boto3, imported on first use only."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def read(self, secret_id: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._secrets_manager().get_secret_value(SecretId=secret_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            if code in _TRANSIENT_CODES:
                raise _unavailable("Secrets Manager is unavailable") from exc
            raise ConfigurationError(f"cannot read secret {secret_id!r}: {code}") from exc
        except BotoCoreError as exc:
            raise _unavailable("Secrets Manager is unreachable") from exc
        return _secret_string(response, secret_id)

    def _secrets_manager(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Bounded so that a slow Secrets Manager cannot eat the whole Lambda budget.
            config = Config(
                connect_timeout=SECRET_CONNECT_TIMEOUT_SECONDS,
                read_timeout=SECRET_READ_TIMEOUT_SECONDS,
                retries={"mode": "standard", "max_attempts": 2},
            )
            self._client = boto3.client("secretsmanager", config=config)
        return self._client


class ExtensionSource:
    """Reads through the Parameters and Secrets Lambda Extension's local HTTP endpoint."""

    def __init__(
        self, port: int, *, host: str = "localhost", timeout_seconds: float = SECRET_FETCH_TIMEOUT_SECONDS
    ) -> None:
        self._url = f"http://{host}:{port}/secretsmanager/get?secretId="
        self._timeout = timeout_seconds

    def read(self, secret_id: str) -> str:
        request = urllib.request.Request(
            self._url + urllib.parse.quote(secret_id, safe=""),
            # The extension only answers callers that hold the function's session token.
            headers={"X-Aws-Parameters-Secrets-Token": os.environ.get("AWS_SESSION_TOKEN", "")},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                document = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise _unavailable("Secrets Manager is unavailable (through the Lambda extension)") from exc
            raise ConfigurationError(
                f"cannot read secret {secret_id!r} through the extension: HTTP {exc.code}"
            ) from exc
        except (OSError, ValueError) as exc:
            raise _unavailable("The Parameters and Secrets extension is unreachable") from exc
        return _secret_string(document, secret_id)


def _secret_string(response: Any, secret_id: str) -> str:
    value = response.get("SecretString") if isinstance(response, dict) else None
    if value is None:
        raise ConfigurationError(f"secret {secret_id!r} has no SecretString (binary secrets are not supported)")
    return str(value)


@dataclass(frozen=True)
class _Cached:
    key: MomentoKey
    fetched_at: float


class SecretStore:
    """Reads the key named by ``secret_id`` (a name or an ARN) and keeps it for ``max_age_seconds``."""

    def __init__(
        self,
        secret_id: str,
        *,
        max_age_seconds: float,
        source: SecretSource,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._source = source
        self._clock = clock
        self._cached: _Cached | None = None

    def get(self, *, force_refresh: bool = False) -> MomentoKey:
        cached = self._cached
        if cached is not None and not force_refresh and self._clock() - cached.fetched_at < self._max_age:
            return cached.key
        try:
            key = parse_secret(self._source.read(self._secret_id))
        except DependencyUnavailable:
            if cached is None:
                raise
            return cached.key
        self._cached = _Cached(key, self._clock())
        return key

    def forget(self) -> None:
        """Drop the cached key (after a SnapStart restore, say), so the next get() reads it again."""
        self._cached = None
