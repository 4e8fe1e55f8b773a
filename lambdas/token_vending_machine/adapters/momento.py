"""Momento adapter: one auth client per key and container, every call under a deadline, transient failures retried.

The SDK sets no deadline on GenerateDisposableToken and never retries it, so both live here. The
async client is bound to the event loop it was created on, so this adapter owns one loop for the
container's life and drives every call on it (never ``asyncio.run`` per invocation).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import random
import threading
import warnings
from collections.abc import Awaitable, Callable

from momento import AuthClientAsync, CredentialProvider
from momento.auth.access_control.disposable_token_scope import DisposableTokenProps
from momento.config.auth_configurations import AuthConfigurations
from momento.errors import MomentoErrorCode
from momento.responses.auth.generate_disposable_token import GenerateDisposableToken
from momento.utilities import ExpiresIn

from token_vending_machine.adapters.momento_scopes import WireTokenClient, sdk_scope
from token_vending_machine.budget import RETRY_BACKOFF_CAP_SECONDS, Deadline
from token_vending_machine.errors import (
    BadRequest,
    ConfigurationError,
    DeadlineExceeded,
    DependencyUnavailable,
    MomentoRefused,
    MomentoRejectedKey,
    Throttled,
    VendingError,
)
from token_vending_machine.models import MomentoKey, TokenScope, VendedToken

_TRANSIENT = {
    MomentoErrorCode.SERVER_UNAVAILABLE,
    MomentoErrorCode.INTERNAL_SERVER_ERROR,
    MomentoErrorCode.TIMEOUT_ERROR,
    MomentoErrorCode.CONNECTION_ERROR,
}
_BACKOFF_BASE_SECONDS = 0.05


Attempt = Callable[[], Awaitable[VendedToken | MomentoErrorCode]]


class _Clients:
    """The clients for one key: the SDK's auth client, and the wire client once a scope needs it."""

    def __init__(self, key: MomentoKey, credentials: CredentialProvider, sdk: AuthClientAsync) -> None:
        self.key = key
        self.credentials = credentials
        self.sdk = sdk
        self.wire: WireTokenClient | None = None

    async def close(self) -> None:
        await self.sdk.close()
        if self.wire is not None:
            await self.wire.close()


class MomentoTokenIssuer:
    """Asks Momento for disposable tokens with the key it is given, rebuilding its client when the key changes."""

    def __init__(
        self,
        *,
        timeout_seconds: float,
        max_attempts: int,
        local_endpoint: tuple[str, int] | None = None,
    ) -> None:
        self._timeout = timeout_seconds
        self._max_attempts = max_attempts
        self._local_endpoint = local_endpoint
        self._loop = asyncio.new_event_loop()
        # Lambda runs one invocation at a time per container; the lock keeps the loop safe when a
        # multi-threaded host (the local stack's HTTP front door) calls in concurrently.
        self._lock = threading.Lock()
        self._clients: _Clients | None = None

    def issue(
        self,
        key: MomentoKey,
        scope: TokenScope,
        *,
        expires_in_seconds: int,
        token_id: str | None = None,
        deadline: Deadline,
    ) -> VendedToken:
        """Mint a token, retrying transient failures until ``deadline``."""
        with self._lock:
            return self._loop.run_until_complete(self._issue(key, scope, expires_in_seconds, token_id, deadline))

    async def _issue(
        self,
        key: MomentoKey,
        scope: TokenScope,
        expires_in_seconds: int,
        token_id: str | None,
        deadline: Deadline,
    ) -> VendedToken:
        attempt_once = await self._attempt(key, scope, expires_in_seconds, token_id)
        last_failure: VendingError = DeadlineExceeded("Momento did not answer in time.")
        for attempt in range(self._max_attempts):
            remaining = deadline.remaining()
            if remaining <= 0:
                break
            try:
                # asyncio.timeout cancels the call in place; wait_for would wrap it in another task.
                async with asyncio.timeout(min(self._timeout, remaining)):
                    outcome = await attempt_once()
            except TimeoutError:
                last_failure = DeadlineExceeded("Momento did not answer in time; try again shortly.")
            else:
                if isinstance(outcome, VendedToken):
                    return outcome
                last_failure = _translate(outcome)
                if outcome not in _TRANSIENT:
                    raise last_failure
            backoff = random.uniform(0, min(RETRY_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2**attempt))
            if attempt + 1 < self._max_attempts and backoff < deadline.remaining():
                await asyncio.sleep(backoff)
        raise last_failure

    async def _attempt(
        self, key: MomentoKey, scope: TokenScope, expires_in_seconds: int, token_id: str | None
    ) -> Attempt:
        """One call for these grants: through the SDK's auth client where its scopes say them exactly,
        else through the wire client (``momento_scopes``)."""
        clients = await self._clients_for(key)
        exact = sdk_scope(scope)
        if exact is None:
            if clients.wire is None:
                clients.wire = WireTokenClient(clients.credentials)
            wire = clients.wire
            return lambda: wire.generate(scope, valid_for_seconds=expires_in_seconds, token_id=token_id)
        props = DisposableTokenProps(token_id=token_id) if token_id else None

        async def via_sdk() -> VendedToken | MomentoErrorCode:
            response = await clients.sdk.generate_disposable_token(exact, ExpiresIn.seconds(expires_in_seconds), props)
            if isinstance(response, GenerateDisposableToken.Success):
                return _issued(response)
            assert isinstance(response, GenerateDisposableToken.Error)
            return response.error_code

        return via_sdk

    def reset(self) -> None:
        """Forget the clients, so the next call opens new channels (after a SnapStart restore, say)."""
        with self._lock:
            self._clients = None

    async def _clients_for(self, key: MomentoKey) -> _Clients:
        if self._clients is not None and self._clients.key == key:
            return self._clients
        if self._clients is not None:
            await self._clients.close()
            self._clients = None
        credentials = self._credentials(key)
        self._clients = _Clients(key, credentials, AuthClientAsync(AuthConfigurations.Lambda.latest(), credentials))
        return self._clients

    def _credentials(self, key: MomentoKey) -> CredentialProvider:
        api_key = key.api_key.get_secret_value()
        if self._local_endpoint is not None:
            # A port other than 443 makes the SDK open an insecure channel to host:port, and it still
            # sends the real key; CredentialProvider.for_momento_local would send an empty one.
            host, port = self._local_endpoint
            return CredentialProvider(api_key, host, host, host, port)
        if key.endpoint is None and is_v2_api_key(api_key):
            raise ConfigurationError(
                'the secret holds a v2 Momento API key without its endpoint; store {"apiKey": ..., "endpoint": ...}'
            )
        try:
            if key.endpoint is not None:
                return CredentialProvider.from_api_key_v2(api_key, key.endpoint)
            with warnings.catch_warnings():
                # Deprecated since momento 1.28, yet still the way to read legacy keys.
                warnings.simplefilter("ignore", DeprecationWarning)
                return CredentialProvider.from_string(api_key)
        except Exception as exc:
            raise ConfigurationError(
                f"the secret does not hold a usable Momento API key ({type(exc).__name__})"
            ) from None


def _issued(success: GenerateDisposableToken.Success) -> VendedToken:
    try:
        expires_at = success.expires_at.epoch()
    except (OverflowError, ValueError):
        raise DependencyUnavailable("Momento returned a token without a valid expiry.") from None
    return VendedToken(auth_token=success.auth_token, expires_at=int(expires_at))


def _translate(code: MomentoErrorCode) -> VendingError:
    if code is MomentoErrorCode.LIMIT_EXCEEDED_ERROR:
        return Throttled("Momento's rate limit for token requests was reached; retry after a second.")
    if code is MomentoErrorCode.AUTHENTICATION_ERROR:
        return MomentoRejectedKey("Momento rejected the API key from the secret (AUTHENTICATION_ERROR)")
    if code is MomentoErrorCode.PERMISSION_ERROR:
        return ConfigurationError("the API key from the secret may not create disposable tokens (PERMISSION_ERROR)")
    if code in (MomentoErrorCode.INVALID_ARGUMENT_ERROR, MomentoErrorCode.BAD_REQUEST_ERROR):
        return BadRequest("Momento refused the request; check the cache and topic names.")
    if code is MomentoErrorCode.TIMEOUT_ERROR:
        return DeadlineExceeded("Momento did not answer in time; try again shortly.")
    if code in _TRANSIENT:
        return DependencyUnavailable("Momento is unavailable; try again shortly.")
    # NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, CANCELLED, UNKNOWN...: the same call would fail again.
    return MomentoRefused(f"Momento refused the request ({code.name}); retrying will not help.")


def is_v2_api_key(api_key: str) -> bool:
    """A v2 key is a JWT whose claims carry ``t == "g"``; it does not name its endpoint."""
    parts = api_key.split(".")
    if len(parts) != 3:
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(claims, dict) and claims.get("t") == "g"
