"""The rules: a TokenRequest becomes a topic scope and an expiry, and Momento's answer a VendedToken."""

from __future__ import annotations

import time

from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes

from token_vending_machine.adapters.momento import MomentoTokenIssuer
from token_vending_machine.adapters.secrets import SecretStore
from token_vending_machine.errors import MomentoRejectedKey
from token_vending_machine.models import TokenRequest, VendedToken


class TokenVendor:
    def __init__(self, *, secrets: SecretStore, issuer: MomentoTokenIssuer, token_expiry_seconds: int) -> None:
        self._secrets = secrets
        self._issuer = issuer
        self._expiry = token_expiry_seconds

    def vend(self, request: TokenRequest, *, budget_seconds: float) -> VendedToken:
        """Publish+subscribe on exactly the requested cache and topic, as the original grants."""
        scope = DisposableTokenScopes.topic_publish_subscribe(request.cache_name, request.topic_name)
        started = time.monotonic()
        key = self._secrets.get()
        try:
            issued = self._issuer.issue(key, scope, expires_in_seconds=self._expiry, budget_seconds=budget_seconds)
        except MomentoRejectedKey:
            # The key may have been rotated since we cached it: read the secret once more, and
            # retry only if it changed (the same key would be rejected again).
            fresh = self._secrets.get(force_refresh=True)
            if fresh == key:
                raise
            remaining = budget_seconds - (time.monotonic() - started)
            issued = self._issuer.issue(fresh, scope, expires_in_seconds=self._expiry, budget_seconds=remaining)
        return VendedToken(auth_token=issued.auth_token, expires_at=issued.expires_at)
