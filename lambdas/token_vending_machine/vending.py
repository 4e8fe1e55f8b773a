"""The rules: a requested scope passes policy and becomes a reused token or a new one from the issuer.

They depend on small protocols (a key source, a token issuer, a metric sink) and our own models only;
the adapters implement the protocols, and ``wiring.py`` plugs them in.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from token_vending_machine.budget import Deadline
from token_vending_machine.errors import MomentoRejectedKey, Throttled
from token_vending_machine.identity import Caller
from token_vending_machine.models import Grant, MomentoKey, TokenScope, VendedToken
from token_vending_machine.policy import Policy


class KeySource(Protocol):
    """Where the long-lived Momento key comes from (``adapters.secrets.SecretStore``)."""

    def get(self, deadline: Deadline | None = None, *, force_refresh: bool = False) -> MomentoKey: ...

    def forget(self) -> None: ...


class TokenIssuer(Protocol):
    """Who mints tokens with that key (``adapters.momento.MomentoTokenIssuer``)."""

    def issue(
        self,
        key: MomentoKey,
        scope: TokenScope,
        *,
        expires_in_seconds: int,
        token_id: str | None = None,
        deadline: Deadline,
    ) -> VendedToken: ...

    def reset(self) -> None: ...


class MetricSink(Protocol):
    """Where counts and latencies go (Powertools ``Metrics``)."""

    def add_metric(self, name: str, unit: str, value: float) -> None: ...


# The same grants, in any order, for the same caller share a token.
ReuseKey = tuple[frozenset[Grant], Caller | None]


class CallRateLimit:
    """At most ``per_second`` Momento token calls per second in this container (0: no limit).

    Momento allows an account 5 auth calls per second, shared by every app on it; this bounds what
    one container may spend, so reserved concurrency times this rate bounds the whole deployment.
    Bursts of up to ``max(1, per_second)`` calls pass at once (a token bucket).
    """

    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_second
        self._capacity = max(1.0, per_second)
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """A full allowance, as a new container has (a SnapStart restore is one)."""
        self._tokens = self._capacity
        self._updated = self._clock()

    def acquire(self) -> None:
        """Take one call's allowance, or raise Throttled saying when the next one is due."""
        if self._rate <= 0:
            return
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            wait = (1 - self._tokens) / self._rate
        raise Throttled(
            "This vending machine is at its rate of new tokens; retry shortly.", retry_after_seconds=math.ceil(wait)
        )


class TokenReuse:
    """Tokens already vended in this container, handed out again while enough of their life remains.

    Momento allows an account 5 auth calls per second; identical requests (the same grants, in any
    order, from the same caller) within a container share one token instead of each costing a call.
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
        secrets: KeySource,
        issuer: TokenIssuer,
        policy: Policy,
        reuse: TokenReuse,
        rate_limit: CallRateLimit,
        token_expiry_seconds: int,
        metrics: MetricSink | None = None,
    ) -> None:
        self._secrets = secrets
        self._issuer = issuer
        self._policy = policy
        self._reuse = reuse
        self._rate_limit = rate_limit
        self._expiry = token_expiry_seconds
        self._metrics = metrics
        self._reused_key: MomentoKey | None = None

    def vend(self, scope: TokenScope, *, caller: Caller | None, deadline: Deadline) -> VendedToken:
        """A token for exactly the requested grants; the caller's token id goes with it."""
        self._policy.check(scope, caller)
        key = self._secrets.get(deadline)
        self._forget_tokens_of_other_keys(key)
        reuse_key: ReuseKey = (frozenset(scope), caller)
        reused = self._reuse.get(reuse_key)
        if reused is not None:
            self._count("TokenReuseHits", "Count", 1)
            return reused
        self._rate_limit.acquire()
        token = self._mint(key, scope, None if caller is None else caller.token_id, deadline)
        self._reuse.put(reuse_key, token)
        return token

    def after_restore(self) -> None:
        """After a SnapStart restore: new gRPC channel, fresh key, no tokens from before the snapshot, and
        new random numbers (every restored copy would otherwise draw the same retry jitter)."""
        random.seed()
        self._issuer.reset()
        self._secrets.forget()
        self._reuse.clear()
        self._rate_limit.reset()

    def _forget_tokens_of_other_keys(self, key: MomentoKey) -> None:
        """After a rotation, tokens minted with the old key are not handed out again."""
        if key != self._reused_key:
            self._reuse.clear()
            self._reused_key = key

    def _count(self, name: str, unit: str, value: float) -> None:
        if self._metrics is not None:
            self._metrics.add_metric(name=name, unit=unit, value=value)

    def _mint(self, key: MomentoKey, scope: TokenScope, token_id: str | None, deadline: Deadline) -> VendedToken:
        started = time.monotonic()
        try:
            token = self._issuer.issue(
                key, scope, expires_in_seconds=self._expiry, token_id=token_id, deadline=deadline
            )
        except MomentoRejectedKey:
            # The key may have been rotated since we cached it: read the secret once more, and
            # retry only if it changed (the same key would be rejected again).
            fresh = self._secrets.get(deadline, force_refresh=True)
            if fresh == key:
                raise
            self._forget_tokens_of_other_keys(fresh)
            token = self._issuer.issue(
                fresh, scope, expires_in_seconds=self._expiry, token_id=token_id, deadline=deadline
            )
        self._count("MomentoCallLatency", "Milliseconds", (time.monotonic() - started) * 1000)
        return token
