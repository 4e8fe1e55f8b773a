"""AsyncTokenVendingClient against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from momento_tvm_client import (
    AsyncTokenVendingClient,
    RetryPolicy,
    TokenVendingHTTPError,
    TokenVendingResponseError,
    TokenVendingTimeoutError,
    VendedToken,
)
from tests.client.fake_tvm import START, TVM, FakeClock, error_answer, raw_answer, token_answer

FAST_RETRIES = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)


def make_client(tvm: TVM, clock: FakeClock, **options: object) -> AsyncTokenVendingClient:
    options.setdefault("retry", FAST_RETRIES)
    return AsyncTokenVendingClient(tvm.url, "cache", "topic", clock=clock, **options)  # type: ignore[arg-type]


def test_vends_with_headers_and_caches(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer(), json={"cacheName": "cache", "topicName": "topic"}, headers={"X-Key": "k"})

    async def scenario() -> list[VendedToken]:
        async with make_client(tvm, clock, headers={"X-Key": "k"}) as client:
            return [await client.get_token() for _ in range(100)]

    tokens = asyncio.run(scenario())

    assert set(tokens) == {VendedToken("tok-1", START + 3600)}
    assert tvm.requests == 1


def test_a_thousand_concurrent_callers_make_one_request(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer(), delay=0.2)

    async def scenario() -> list[VendedToken]:
        async with make_client(tvm, clock) as client:
            return await asyncio.gather(*(client.get_token() for _ in range(1000)))

    tokens = asyncio.run(scenario())

    assert len(tokens) == 1000
    assert len(set(tokens)) == 1
    assert tvm.requests == 1


def test_concurrent_callers_share_one_failure_then_recover(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(error_answer(400, "validation_error", "no"), token_answer(), delay=0.1)

    async def scenario() -> tuple[list[object], VendedToken]:
        async with make_client(tvm, clock) as client:
            results = await asyncio.gather(*(client.get_token() for _ in range(200)), return_exceptions=True)
            return results, await client.get_token()

    results, later = asyncio.run(scenario())

    assert all(isinstance(result, TokenVendingHTTPError) for result in results)
    assert later.auth_token == "tok-1"
    assert tvm.requests == 2


def test_refreshes_only_inside_the_buffer(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer("tok-1"), token_answer("tok-2", expires_at=START + 7200))

    async def scenario() -> list[str]:
        async with make_client(tvm, clock, refresh_buffer=120) as client:
            seen = [(await client.get_token()).auth_token]
            clock.advance(3600 - 121)
            seen.append((await client.get_token()).auth_token)
            clock.advance(2)
            seen.append((await client.get_token()).auth_token)
            return seen

    assert asyncio.run(scenario()) == ["tok-1", "tok-1", "tok-2"]
    assert tvm.requests == 2


def test_a_cancelled_caller_does_not_cancel_the_shared_refresh(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer(), delay=0.2)

    async def scenario() -> VendedToken:
        async with make_client(tvm, clock) as client:
            impatient = asyncio.create_task(client.get_token())
            patient = asyncio.create_task(client.get_token())
            await asyncio.sleep(0.05)
            impatient.cancel()
            token = await patient
            assert impatient.cancelled()
            return token

    assert asyncio.run(scenario()).auth_token == "tok-1"
    assert tvm.requests == 1


def test_created_outside_a_loop_and_used_from_two_loops(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer("tok-1"), token_answer("tok-2", expires_at=START + 7200))
    client = make_client(tvm, clock)

    first = asyncio.run(client.get_token())
    clock.advance(3600)
    second = asyncio.run(client.get_token())
    asyncio.run(client.aclose())

    assert (first.auth_token, second.auth_token) == ("tok-1", "tok-2")


def test_401_surfaces_status_and_body(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(raw_answer(401, "invalid credentials"))

    async def scenario() -> None:
        async with make_client(tvm, clock) as client:
            await client.get_token()

    with pytest.raises(TokenVendingHTTPError) as caught:
        asyncio.run(scenario())

    assert caught.value.status == 401
    assert "401" in str(caught.value) and "invalid credentials" in str(caught.value)


def test_malformed_answer(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(raw_answer(200, '{"auth_token": 5}', "application/json"))

    async def scenario() -> None:
        async with make_client(tvm, clock) as client:
            await client.get_token()

    with pytest.raises(TokenVendingResponseError):
        asyncio.run(scenario())


@pytest.mark.parametrize("status", [429, 503])
def test_retries_honouring_retry_after(tvm: TVM, clock: FakeClock, status: int) -> None:
    tvm.answer(
        error_answer(status, "throttled", "slow down", **{"Retry-After": "0.05"}),
        error_answer(status, "throttled", "slow down", **{"Retry-After": "0"}),
        token_answer(),
    )

    async def scenario() -> VendedToken:
        async with make_client(tvm, clock) as client:
            return await client.get_token()

    assert asyncio.run(scenario()).auth_token == "tok-1"
    assert tvm.requests == 3


def test_timeout_is_its_own_error(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer(), delay=0.5)

    async def scenario() -> None:
        async with make_client(tvm, clock, timeout=0.1, retry=RetryPolicy(max_attempts=1)) as client:
            await client.get_token()

    with pytest.raises(TokenVendingTimeoutError):
        asyncio.run(scenario())


def test_serves_the_still_valid_token_when_refresh_fails(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer("tok-1", expires_at=START + 100), error_answer(503, "momento_unavailable", "down"))

    async def scenario() -> tuple[str, str]:
        async with make_client(tvm, clock, retry=RetryPolicy(max_attempts=1)) as client:
            await client.get_token()
            clock.advance(50)
            stale = (await client.get_token()).auth_token
            clock.advance(51)
            try:
                await client.get_token()
            except TokenVendingHTTPError as exc:
                return stale, str(exc.status)
            return stale, "no error"

    assert asyncio.run(scenario()) == ("tok-1", "503")
