"""Secrets Manager adapter: fetch the Momento key, parse it, cache it for a bounded age.

A small cache of our own rather than Powertools' parameters cache, because what we cache is the
parsed key, and because a failed refresh must keep serving the last good key (a Secrets Manager
blip should not stop token vending) while a missing or malformed secret must not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from token_vending_machine.errors import ConfigurationError, DependencyUnavailable
from token_vending_machine.models import MomentoKey, parse_secret
from token_vending_machine.names import ErrorCode

# Secrets Manager error codes that mean "try again later", not "the set-up is wrong".
_TRANSIENT_CODES = {"ThrottlingException", "InternalServiceError", "RequestTimeout", "ServiceUnavailable"}

# botocore logs whole response bodies at DEBUG, the secret's value included: never let it, whatever
# level the root logger is given (Lambda's log-level controls can set it to DEBUG).
logging.getLogger("botocore.parsers").setLevel(logging.INFO)


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
        client: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._client = client
        self._clock = clock
        self._cached: _Cached | None = None

    def get(self, *, force_refresh: bool = False) -> MomentoKey:
        cached = self._cached
        if cached is not None and not force_refresh and self._clock() - cached.fetched_at < self._max_age:
            return cached.key
        try:
            key = parse_secret(self._fetch())
        except DependencyUnavailable:
            if cached is None:
                raise
            return cached.key
        self._cached = _Cached(key, self._clock())
        return key

    def _fetch(self) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._secrets_manager().get_secret_value(SecretId=self._secret_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            if code in _TRANSIENT_CODES:
                raise DependencyUnavailable(
                    "Secrets Manager is unavailable; try again shortly.", code=ErrorCode.SECRET_UNAVAILABLE
                ) from exc
            raise ConfigurationError(f"cannot read secret {self._secret_id!r}: {code}") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailable(
                "Secrets Manager is unreachable; try again shortly.", code=ErrorCode.SECRET_UNAVAILABLE
            ) from exc
        value = response.get("SecretString")
        if value is None:
            raise ConfigurationError(
                f"secret {self._secret_id!r} has no SecretString (binary secrets are not supported)"
            )
        return str(value)

    def _secrets_manager(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Bounded so that a slow Secrets Manager cannot eat the whole Lambda budget.
            config = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 2})
            self._client = boto3.client("secretsmanager", config=config)
        return self._client
