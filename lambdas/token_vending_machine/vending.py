"""The rules: a TokenRequest passes policy, becomes a topic scope and an expiry, and Momento's answer a VendedToken."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from momento.auth.access_control.disposable_token_scope import DisposableTokenScope
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes

from token_vending_machine.adapters.momento import MomentoTokenIssuer
from token_vending_machine.adapters.secrets import SecretStore
from token_vending_machine.errors import MomentoRejectedKey
from token_vending_machine.models import Permission, TokenRequest, VendedToken
from token_vending_machine.policy import Policy

_SCOPES: dict[Permission, Callable[[str, str], DisposableTokenScope]] = {
    Permission.PUBLISH_SUBSCRIBE: DisposableTokenScopes.topic_publish_subscribe,
    Permission.SUBSCRIBE: DisposableTokenScopes.topic_subscribe_only,
    Permission.PUBLISH: DisposableTokenScopes.topic_publish_only,
}

ReuseKey = tuple[str, str, Permission, str | None]


class TokenReuse:
    """Tokens already vended in this container, handed out again while enough of their life remains.

    Momento allows an account 5 auth calls per second; identical requests (same cache, topic,
    permission and caller) within a container share one token instead of each costing a call.
    """

    MAX_ENTRIES = 1024

    def __init__(self, *, min_remaining_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self._min_remaining = min_remaining_seconds
        self._clock = clock
        self._tokens: OrderedDict[ReuseKey, VendedToken] = OrderedDict()

    def get(self, key: ReuseKey) -> VendedToken | None:
        token = self._tokens.get(key)
        if token is None:
            return None
        if token.expires_at - self._clock() < self._min_remaining:
            del self._tokens[key]
            return None
        self._tokens.move_to_end(key)
        return token

    def clear(self) -> None:
        self._tokens.clear()

    def put(self, key: ReuseKey, token: VendedToken) -> None:
        self._tokens[key] = token
        self._tokens.move_to_end(key)
        while len(self._tokens) > self.MAX_ENTRIES:
            self._tokens.popitem(last=False)


class TokenVendor:
    def __init__(
        self,
        *,
        secrets: SecretStore,
        issuer: MomentoTokenIssuer,
        policy: Policy,
        reuse: TokenReuse,
        token_expiry_seconds: int,
        metrics: Metrics | None = None,
    ) -> None:
        self._secrets = secrets
        self._issuer = issuer
        self._policy = policy
        self._reuse = reuse
        self._expiry = token_expiry_seconds
        self._metrics = metrics

    def vend(self, request: TokenRequest, *, identity: str | None, budget_seconds: float) -> VendedToken:
        """A token for exactly the requested cache, topic and permission; ``identity`` becomes its token id."""
        self._policy.check(request, identity)
        reuse_key: ReuseKey = (request.cache_name, request.topic_name, request.permission, identity)
        reused = self._reuse.get(reuse_key)
        if reused is not None:
            self._count("TokenReuseHits", MetricUnit.Count, 1)
            return reused
        scope = _SCOPES[request.permission](request.cache_name, request.topic_name)
        token = self._mint(scope, identity, budget_seconds)
        self._reuse.put(reuse_key, token)
        return token

    def after_restore(self) -> None:
        """After a SnapStart restore: new gRPC channel, fresh key, no tokens from before the snapshot."""
        self._issuer.reset()
        self._secrets.forget()
        self._reuse.clear()

    def _count(self, name: str, unit: MetricUnit, value: float) -> None:
        if self._metrics is not None:
            self._metrics.add_metric(name=name, unit=unit, value=value)

    def _mint(self, scope: DisposableTokenScope, identity: str | None, budget_seconds: float) -> VendedToken:
        key = self._secrets.get()
        started = time.monotonic()
        try:
            issued = self._issuer.issue(
                key, scope, expires_in_seconds=self._expiry, token_id=identity, budget_seconds=budget_seconds
            )
        except MomentoRejectedKey:
            # The key may have been rotated since we cached it: read the secret once more, and
            # retry only if it changed (the same key would be rejected again).
            fresh = self._secrets.get(force_refresh=True)
            if fresh == key:
                raise
            remaining = budget_seconds - (time.monotonic() - started)
            issued = self._issuer.issue(
                fresh, scope, expires_in_seconds=self._expiry, token_id=identity, budget_seconds=remaining
            )
        self._count("MomentoCallLatency", MetricUnit.Milliseconds, (time.monotonic() - started) * 1000)
        return VendedToken(auth_token=issued.auth_token, expires_at=issued.expires_at)
