"""Momento adapter: one auth client per container, every call under a deadline, transient failures retried.

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
from collections.abc import Callable

from momento import AuthClientAsync, CredentialProvider
from momento.auth.access_control.disposable_token_scope import DisposableTokenProps, DisposableTokenScope
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes
from momento.config.auth_configurations import AuthConfigurations
from momento.errors import MomentoErrorCode
from momento.responses.auth.generate_disposable_token import GenerateDisposableToken
from momento.utilities import ExpiresIn

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
from token_vending_machine.models import MomentoKey, Permission, TokenScope, VendedToken

_TRANSIENT = {
    MomentoErrorCode.SERVER_UNAVAILABLE,
    MomentoErrorCode.INTERNAL_SERVER_ERROR,
    MomentoErrorCode.TIMEOUT_ERROR,
    MomentoErrorCode.CONNECTION_ERROR,
}
_BACKOFF_BASE_SECONDS = 0.05


# Our grants in the SDK's terms. Kept here: the rules never see an SDK type.
_TOPIC_SCOPES: dict[Permission, Callable[[str, str], DisposableTokenScope]] = {
    Permission.PUBLISH_SUBSCRIBE: DisposableTokenScopes.topic_publish_subscribe,
    Permission.SUBSCRIBE: DisposableTokenScopes.topic_subscribe_only,
    Permission.PUBLISH: DisposableTokenScopes.topic_publish_only,
}


def sdk_scope(scope: TokenScope) -> DisposableTokenScope:
    """The SDK's scope for exactly these grants."""
    (grant,) = scope
    return _TOPIC_SCOPES[grant.permission](grant.cache_name, grant.topic_name)


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
        self._client: AuthClientAsync | None = None
        self._client_key: MomentoKey | None = None

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
            return self._loop.run_until_complete(
                self._issue(key, sdk_scope(scope), expires_in_seconds, token_id, deadline)
            )

    async def _issue(
        self,
        key: MomentoKey,
        scope: DisposableTokenScope,
        expires_in_seconds: int,
        token_id: str | None,
        deadline: Deadline,
    ) -> VendedToken:
        client = await self._client_for(key)
        props = DisposableTokenProps(token_id=token_id) if token_id else None
        last_failure: VendingError = DeadlineExceeded("Momento did not answer in time.")
        for attempt in range(self._max_attempts):
            remaining = deadline.remaining()
            if remaining <= 0:
                break
            try:
                # asyncio.timeout cancels the call in place; wait_for would wrap it in another task.
                async with asyncio.timeout(min(self._timeout, remaining)):
                    response = await client.generate_disposable_token(
                        scope, ExpiresIn.seconds(expires_in_seconds), props
                    )
            except TimeoutError:
                last_failure = DeadlineExceeded("Momento did not answer in time; try again shortly.")
            else:
                if isinstance(response, GenerateDisposableToken.Success):
                    return _issued(response)
                assert isinstance(response, GenerateDisposableToken.Error)
                last_failure = _translate(response)
                if response.error_code not in _TRANSIENT:
                    raise last_failure
            backoff = random.uniform(0, min(RETRY_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2**attempt))
            if attempt + 1 < self._max_attempts and backoff < deadline.remaining():
                await asyncio.sleep(backoff)
        raise last_failure

    def reset(self) -> None:
        """Forget the client, so the next call opens a new channel (after a SnapStart restore, say)."""
        with self._lock:
            self._client = None
            self._client_key = None

    async def _client_for(self, key: MomentoKey) -> AuthClientAsync:
        if self._client is not None and self._client_key == key:
            return self._client
        if self._client is not None:
            await self._client.close()
            self._client = None
        self._client = AuthClientAsync(AuthConfigurations.Lambda.latest(), self._credentials(key))
        self._client_key = key
        return self._client

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


def _translate(error: GenerateDisposableToken.Error) -> VendingError:
    code = error.error_code
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
