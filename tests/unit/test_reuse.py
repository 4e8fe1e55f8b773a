import pytest

from token_vending_machine.errors import Throttled
from token_vending_machine.models import Permission, VendedToken
from token_vending_machine.vending import CallRateLimit, TokenReuse

KEY = ("chat", "room-1", Permission.PUBLISH_SUBSCRIBE, None)


class Clock:
    now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_reused_while_enough_of_its_life_remains():
    clock = Clock()
    reuse = TokenReuse(min_remaining_seconds=1800, clock=clock)
    token = VendedToken(auth_token="t", expires_at=int(clock.now) + 3600)
    reuse.put(KEY, token)

    clock.now += 1800
    assert reuse.get(KEY) is token
    clock.now += 1
    assert reuse.get(KEY) is None


def test_different_callers_permissions_or_topics_do_not_share_tokens():
    reuse = TokenReuse(min_remaining_seconds=10, clock=Clock())
    reuse.put(KEY, VendedToken(auth_token="t", expires_at=2_000_000))

    assert reuse.get(("chat", "room-1", Permission.PUBLISH_SUBSCRIBE, "alice")) is None
    assert reuse.get(("chat", "room-1", Permission.SUBSCRIBE, None)) is None
    assert reuse.get(("chat", "room-2", Permission.PUBLISH_SUBSCRIBE, None)) is None


def test_the_cache_is_bounded_and_evicts_the_least_recently_used():
    reuse = TokenReuse(min_remaining_seconds=10, clock=Clock())
    for n in range(TokenReuse.MAX_ENTRIES + 1):
        reuse.put(("chat", f"room-{n}", Permission.SUBSCRIBE, None), VendedToken(auth_token="t", expires_at=2_000_000))

    assert reuse.get(("chat", "room-0", Permission.SUBSCRIBE, None)) is None
    assert reuse.get(("chat", f"room-{TokenReuse.MAX_ENTRIES}", Permission.SUBSCRIBE, None)) is not None


def test_the_call_rate_limit_lets_a_burst_through_then_says_when_to_retry():
    clock = Clock()
    limit = CallRateLimit(2, clock=clock)
    limit.acquire()
    limit.acquire()

    with pytest.raises(Throttled) as caught:
        limit.acquire()

    assert caught.value.retry_after_seconds == 1
    clock.now += 0.5
    limit.acquire()


def test_a_slow_rate_asks_for_a_longer_wait():
    clock = Clock()
    limit = CallRateLimit(0.25, clock=clock)
    limit.acquire()

    with pytest.raises(Throttled) as caught:
        limit.acquire()

    assert caught.value.headers == {"Retry-After": "4"}


def test_a_rate_of_zero_is_no_limit():
    limit = CallRateLimit(0, clock=Clock())

    for _ in range(1000):
        limit.acquire()
