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
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from token_vending_machine.budget import (
    SECRET_CONNECT_TIMEOUT_SECONDS,
    SECRET_FETCH_TIMEOUT_SECONDS,
    SECRET_READ_TIMEOUT_SECONDS,
    Deadline,
)
from token_vending_machine.errors import ConfigurationError, DependencyUnavailable, VendingError
from token_vending_machine.models import MomentoKey
from token_vending_machine.names import ErrorCode

# Secrets Manager error codes that mean "try again later", not "the set-up is wrong".
_TRANSIENT_CODES = {"ThrottlingException", "InternalServiceError", "RequestTimeout", "ServiceUnavailable"}

# botocore logs whole response bodies at DEBUG, the secret's value included: never let it, whatever
# level the root logger is given (Lambda's log-level controls can set it to DEBUG).
logging.getLogger("botocore.parsers").setLevel(logging.INFO)


def _unavailable(what: str) -> DependencyUnavailable:
    return DependencyUnavailable(f"{what}; try again shortly.", code=ErrorCode.SECRET_UNAVAILABLE)


# --- The secret's accepted shapes ---------------------------------------------------------------


class _OriginalSecret(BaseModel):
    """The Rust original's secret value: ``{"momentoSecret": "<key>"}``."""

    model_config = ConfigDict(defer_build=True)  # built on first use: a secret has one of the two shapes

    momento_secret: SecretStr = Field(alias="momentoSecret", min_length=1)


class _V2Secret(BaseModel):
    """``{"apiKey": "<key>", "endpoint": "<Momento endpoint>"}``; endpoint optional for legacy keys."""

    model_config = ConfigDict(defer_build=True)

    api_key: SecretStr = Field(alias="apiKey", min_length=1)
    endpoint: str | None = Field(default=None, min_length=1)


def parse_secret(value: str) -> MomentoKey:
    """Read a secret value in any accepted shape. Errors name the problem, never the value.

    Whether the key also needs an endpoint is decided where credentials are built: a v2 key does,
    unless the function talks to a local Momento service.
    """
    text = value.strip()
    if not text:
        raise ConfigurationError("the Momento API key secret is empty")
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            raise ConfigurationError("the Momento API key secret starts with '{' but is not valid JSON") from None
        key = _key_from_document(document)
    else:
        key = MomentoKey(api_key=SecretStr(text))
    return key


def _key_from_document(document: Any) -> MomentoKey:
    if isinstance(document, dict) and "momentoSecret" in document:
        shape: type[BaseModel] = _OriginalSecret
    elif isinstance(document, dict) and "apiKey" in document:
        shape = _V2Secret
    else:
        raise ConfigurationError('the Momento API key secret is JSON without a "momentoSecret" or "apiKey" field')
    try:
        parsed = shape.model_validate(document)
    except ValidationError as exc:
        fields = ", ".join(str(err["loc"][0]) for err in exc.errors(include_input=False))
        raise ConfigurationError(f"the Momento API key secret has invalid fields: {fields}") from None
    if isinstance(parsed, _OriginalSecret):
        return MomentoKey(api_key=parsed.momento_secret)
    assert isinstance(parsed, _V2Secret)
    return MomentoKey(api_key=parsed.api_key, endpoint=parsed.endpoint)


# --- Where the secret is read from ------------------------------------------------------------------


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


class _Cached(NamedTuple):
    key: MomentoKey
    fetched_at: float


class SecretStore:
    """Reads the key named by ``secret_id`` (a name or an ARN) and keeps it for ``max_age_seconds``.

    Reads run on a thread of their own, so a caller waits no longer than its deadline whatever the
    source does. Once a key has been read, a source that fails or is slow does not stop vending: the
    last good key is served at once (``on_stale_key`` says why) and the source is retried in the
    background of later calls, with exponential backoff. A secret that is gone or malformed is not
    outlived: the key is dropped and the next call reports the configuration error.
    """

    def __init__(
        self,
        secret_id: str,
        *,
        max_age_seconds: float,
        source: SecretSource,
        clock: Callable[[], float] = time.monotonic,
        on_stale_key: Callable[[str], None] | None = None,
        retry_backoff_seconds: tuple[float, float] = (1.0, 60.0),
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._source = source
        self._clock = clock
        self._on_stale_key = on_stale_key
        self._backoff_base, self._backoff_cap = retry_backoff_seconds
        self._lock = threading.Lock()
        self._cached: _Cached | None = None
        self._reading: Future[MomentoKey] | None = None
        self._prefetched: Future[MomentoKey] | None = None
        self._failures = 0
        self._retry_at = 0.0

    def get(self, deadline: Deadline | None = None, *, force_refresh: bool = False) -> MomentoKey:
        """The key; with ``force_refresh``, a key read anew (the cached one is then no answer)."""
        with self._lock:
            cached = None if force_refresh else self._cached
            if cached is not None and self._clock() - cached.fetched_at < self._max_age:
                return cached.key
            if cached is not None and self._failures:
                # The source is failing: the last good key now; another read once the backoff is over.
                if self._clock() >= self._retry_at:
                    self._start_read()
                reading = None
            else:
                reading = self._start_read()
        if reading is None:
            assert cached is not None
            return self._stale(cached, "the secret could not be read lately; retrying in the background")
        if reading is self._prefetched:
            self._prefetched = None
            try:
                return self._wait(reading, deadline, fallback=cached)
            except VendingError:
                # The read made at cold start failed (an extension not serving yet, say): the request reads again.
                return self.get(deadline)
        return self._wait(reading, deadline, fallback=cached)

    def prefetch(self) -> None:
        """Start reading the key in the background (at cold start), so a first ``get`` may find it read.

        A failed prefetch costs nothing more than the read: the first ``get`` then reads anew.
        """
        with self._lock:
            self._prefetched = self._start_read()

    def forget(self) -> None:
        """Drop the cached key and any failure history (after a SnapStart restore, say)."""
        with self._lock:
            self._cached = None
            self._reading = None
            self._failures = 0

    def _wait(self, reading: Future[MomentoKey], deadline: Deadline | None, fallback: _Cached | None) -> MomentoKey:
        # With a key to fall back on, wait no longer than one read may take.
        limit = SECRET_FETCH_TIMEOUT_SECONDS if fallback is not None else None
        if deadline is not None:
            limit = deadline.remaining() if limit is None else min(limit, deadline.remaining())
        try:
            return reading.result(timeout=limit)
        except FutureTimeout:
            self._record_failure()
            if fallback is not None:
                return self._stale(fallback, "reading the secret is taking too long")
            raise _unavailable("Reading the secret took too long") from None
        except DependencyUnavailable as exc:
            if fallback is not None:
                return self._stale(fallback, exc.message)
            raise

    def _stale(self, cached: _Cached, reason: str) -> MomentoKey:
        if self._on_stale_key is not None:
            self._on_stale_key(reason)
        return cached.key

    def _start_read(self) -> Future[MomentoKey]:
        """The read in progress, or a new one. Called with the lock held."""
        if self._reading is None or self._reading.done():
            self._reading = Future()
            threading.Thread(target=self._read, args=(self._reading,), name="secret-read", daemon=True).start()
        return self._reading

    def _read(self, result: Future[MomentoKey]) -> None:
        try:
            key = parse_secret(self._source.read(self._secret_id))
        except DependencyUnavailable as exc:
            self._record_failure()
            result.set_exception(exc)
        except ConfigurationError as exc:
            with self._lock:
                self._cached = None
                self._failures = 0
            result.set_exception(exc)
        except BaseException as exc:  # a bug: the waiting request reports it
            result.set_exception(exc)
        else:
            with self._lock:
                self._cached = _Cached(key, self._clock())
                self._failures = 0
            result.set_result(key)

    def _record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            backoff = min(self._backoff_cap, self._backoff_base * 2 ** (self._failures - 1))
            self._retry_at = self._clock() + backoff
