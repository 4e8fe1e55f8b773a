"""The rules with in-memory fakes for the key source and the token issuer: no SDK, no sockets."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from token_vending_machine.budget import Deadline
from token_vending_machine.errors import DependencyUnavailable, Forbidden, MomentoRejectedKey, Throttled
from token_vending_machine.identity import Caller, IdentityKind
from token_vending_machine.models import (
    MomentoKey,
    Permission,
    TokenRequest,
    TokenScope,
    TopicGrant,
    TopicRole,
    VendedToken,
)
from token_vending_machine.names import Env
from token_vending_machine.policy import Policy
from token_vending_machine.settings import load_settings
from token_vending_machine.vending import CallRateLimit, TokenReuse, TokenVendor

ALICE = Caller(IdentityKind.JWT, "alice")


def key(value: str) -> MomentoKey:
    return MomentoKey(api_key=SecretStr(value))


class FakeKeys:
    def __init__(self, *values: str) -> None:
        self.values = list(values)
        self.forced = 0

    def get(self, deadline: Deadline | None = None, *, force_refresh: bool = False) -> MomentoKey:
        if force_refresh:
            self.forced += 1
            if len(self.values) > 1:
                self.values.pop(0)
        return key(self.values[0])

    def forget(self) -> None:
        pass


class FakeIssuer:
    """Mints "<key>/<n>" tokens; rejects the keys in ``rejected`` as Momento would a revoked key."""

    def __init__(self, *, rejected: tuple[str, ...] = (), failure: Exception | None = None) -> None:
        self.rejected = rejected
        self.failure = failure
        self.calls: list[tuple[str, tuple[TopicGrant, ...], str | None]] = []

    def issue(self, key, scope, *, expires_in_seconds, token_id=None, deadline):
        secret = key.api_key.get_secret_value()
        self.calls.append((secret, scope, token_id))
        if self.failure is not None:
            raise self.failure
        if secret in self.rejected:
            raise MomentoRejectedKey("AUTHENTICATION_ERROR")
        return VendedToken(auth_token=f"{secret}/{len(self.calls)}", expires_at=4_000_000_000)

    def reset(self) -> None:
        pass


def vendor(keys, issuer, *, rate=0.0, **policy) -> TokenVendor:
    settings = load_settings({Env.SECRET_NAME: "s", **policy})
    return TokenVendor(
        secrets=keys,
        issuer=issuer,
        policy=Policy(settings.policy_rules()),
        reuse=TokenReuse(min_remaining_seconds=60),
        rate_limit=CallRateLimit(rate),
        token_expiry_seconds=3600,
    )


def request(topic: str = "room-1", permission: Permission = Permission.PUBLISH_SUBSCRIBE) -> TokenScope:
    return TokenRequest(cacheName="chat", topicName=topic, permission=permission).scope


def vend(rules: TokenVendor, scope: TokenScope | None = None, caller: Caller | None = ALICE) -> VendedToken:
    return rules.vend(scope or request(), caller=caller, deadline=Deadline.after(5))


def test_the_issuer_gets_exactly_the_requested_grant_and_the_callers_token_id():
    issuer = FakeIssuer()

    vend(vendor(FakeKeys("k1"), issuer), request("room-9", Permission.SUBSCRIBE))

    assert issuer.calls == [("k1", (TopicGrant("chat", "room-9", TopicRole.SUBSCRIBE_ONLY),), "alice")]


def test_identical_requests_from_one_caller_share_a_token_and_others_do_not():
    issuer = FakeIssuer()
    rules = vendor(FakeKeys("k1"), issuer)

    first, again = vend(rules), vend(rules)
    other = vend(rules, caller=Caller(IdentityKind.JWT, "bob"))

    assert first == again != other
    assert len(issuer.calls) == 2


def test_a_rotated_key_is_fetched_and_retried_once():
    keys, issuer = FakeKeys("old", "new"), FakeIssuer(rejected=("old",))

    token = vend(vendor(keys, issuer))

    assert token.auth_token == "new/2"
    assert keys.forced == 1


def test_a_rejected_key_that_did_not_change_is_not_retried():
    issuer = FakeIssuer(rejected=("k1",))

    with pytest.raises(MomentoRejectedKey):
        vend(vendor(FakeKeys("k1"), issuer))

    assert len(issuer.calls) == 1


def test_a_key_change_clears_reused_tokens():
    keys, issuer = FakeKeys("k1"), FakeIssuer()
    rules = vendor(keys, issuer)
    vend(rules)
    keys.values = ["k2"]

    assert vend(rules).auth_token == "k2/2"


def test_policy_refusals_cost_no_call():
    issuer = FakeIssuer()

    with pytest.raises(Forbidden):
        vend(vendor(FakeKeys("k1"), issuer, **{Env.ALLOWED_CACHES: "other"}))

    assert issuer.calls == []


def test_the_rate_limit_applies_to_new_tokens_only():
    issuer = FakeIssuer()
    rules = vendor(FakeKeys("k1"), issuer, rate=1)
    vend(rules)
    vend(rules)  # reused: free

    with pytest.raises(Throttled):
        vend(rules, request("room-2"))
    assert len(issuer.calls) == 1


def test_issuer_failures_reach_the_caller_and_nothing_is_reused():
    issuer = FakeIssuer(failure=DependencyUnavailable("down"))
    rules = vendor(FakeKeys("k1"), issuer)

    for _ in range(2):
        with pytest.raises(DependencyUnavailable):
            vend(rules)
    assert len(issuer.calls) == 2
