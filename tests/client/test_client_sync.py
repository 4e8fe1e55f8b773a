"""TokenVendingClient against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import threading

import pytest

from momento_tvm_client import (
    RetryPolicy,
    TokenVendingClient,
    TokenVendingHTTPError,
    TokenVendingNetworkError,
    TokenVendingResponseError,
    TokenVendingTimeoutError,
    VendedToken,
)
from tests.client.fake_tvm import START, TVM, FakeClock, error_answer, raw_answer, token_answer

FAST_RETRIES = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)


def make_client(tvm: TVM, clock: FakeClock, **options: object) -> TokenVendingClient:
    options.setdefault("retry", FAST_RETRIES)
    return TokenVendingClient(tvm.url, "cache", "topic", clock=clock, **options)  # type: ignore[arg-type]


def test_vends_a_token_with_the_right_request(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(
        token_answer(),
        json={"cacheName": "cache", "topicName": "topic"},
        headers={"Authorization": "Bearer x", "Content-Type": "application/json"},
    )

    with make_client(tvm, clock, headers={"Authorization": "Bearer x"}) as client:
        token = client.get_token()

    assert token == VendedToken("tok-1", START + 3600)
    assert token.expires_at_datetime.timestamp() == START + 3600


def test_many_calls_make_one_request(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer())

    with make_client(tvm, clock) as client:
        tokens = {client.get_token() for _ in range(500)}

    assert len(tokens) == 1
    assert tvm.requests == 1


def test_refreshes_only_inside_the_buffer(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer("tok-1"), token_answer("tok-2", expires_at=START + 7200))

    with make_client(tvm, clock, refresh_buffer=60) as client:
        assert client.get_token().auth_token == "tok-1"
        clock.advance(3600 - 61)
        assert client.get_token().auth_token == "tok-1"
        assert tvm.requests == 1
        clock.advance(2)
        assert client.get_token().auth_token == "tok-2"
        assert tvm.requests == 2


def test_short_lived_tokens_are_refreshed_at_half_life_not_on_every_call(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer("tok-1", expires_at=START + 30), token_answer("tok-2", expires_at=START + 60))

    with make_client(tvm, clock, refresh_buffer=60) as client:
        client.get_token()
        clock.advance(14)
        assert client.get_token().auth_token == "tok-1"
        clock.advance(2)
        assert client.get_token().auth_token == "tok-2"
    assert tvm.requests == 2


def test_invalidate_forces_a_new_vend(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer("tok-1"), token_answer("tok-2"))

    with make_client(tvm, clock) as client:
        client.get_token()
        client.invalidate()
        assert client.cached_token is None
        assert client.get_token().auth_token == "tok-2"


def test_fifty_threads_on_an_empty_cache_make_one_request(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer(), delay=0.2)
    client = make_client(tvm, clock)
    barrier = threading.Barrier(50)
    results: list[VendedToken] = []

    def call() -> None:
        barrier.wait()
        results.append(client.get_token())

    threads = [threading.Thread(target=call) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()

    assert len(results) == 50
    assert len(set(results)) == 1
    assert tvm.requests == 1


def test_threads_waiting_on_a_failed_refresh_share_its_error(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(error_answer(400, "validation_error", "bad topic"), delay=0.2)
    client = make_client(tvm, clock)
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def call() -> None:
        barrier.wait()
        try:
            client.get_token()
        except TokenVendingHTTPError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(errors) == 20
    assert tvm.requests == 1


def test_401_surfaces_status_and_body(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(raw_answer(401, "invalid credentials"))

    with make_client(tvm, clock) as client, pytest.raises(TokenVendingHTTPError) as caught:
        client.get_token()

    assert caught.value.status == 401
    assert caught.value.body == "invalid credentials"
    assert "401" in str(caught.value) and "invalid credentials" in str(caught.value)
    assert tvm.requests == 1


def test_json_error_is_parsed_and_400_is_not_retried(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(error_answer(400, "validation_error", "topicName is required"))

    with make_client(tvm, clock) as client, pytest.raises(TokenVendingHTTPError) as caught:
        client.get_token()

    assert (caught.value.status, caught.value.error_code) == (400, "validation_error")
    assert caught.value.message == "topicName is required"
    assert tvm.requests == 1


def test_a_failed_refresh_does_not_poison_later_calls(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(error_answer(500, "internal_error", "boom"), token_answer())

    with make_client(tvm, clock) as client:
        with pytest.raises(TokenVendingHTTPError):
            client.get_token()
        assert client.get_token().auth_token == "tok-1"


@pytest.mark.parametrize(
    "answer",
    [
        raw_answer(200, "<html>gateway</html>", "text/html"),
        raw_answer(200, '{"expires_at": 1800000000}', "application/json"),
        raw_answer(200, '{"auth_token": "SECRET-TOKEN", "expires_at": "soon"}', "application/json"),
    ],
)
def test_malformed_and_partial_answers(tvm: TVM, clock: FakeClock, answer: object) -> None:
    tvm.answer(answer)  # type: ignore[arg-type]

    with make_client(tvm, clock) as client, pytest.raises(TokenVendingResponseError) as caught:
        client.get_token()

    assert "SECRET-TOKEN" not in str(caught.value)
    assert tvm.requests == 1


def test_iso_and_expires_in_answers(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(
        raw_answer(200, '{"auth_token": "a", "expires_at": "2023-11-14T23:13:20Z"}', "application/json"),
        raw_answer(200, '{"auth_token": "b", "expires_in": 120}', "application/json"),
    )

    with make_client(tvm, clock) as client:
        assert client.get_token().expires_at == START + 3600
        client.invalidate()
        assert client.get_token().expires_at == START + 120


@pytest.mark.parametrize("status", [429, 503])
def test_retries_honouring_retry_after(
    tvm: TVM, clock: FakeClock, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    tvm.answer(error_answer(status, "throttled", "slow down", **{"Retry-After": "0.05"}), token_answer())

    with caplog.at_level(logging.INFO, "momento_tvm_client"), make_client(tvm, clock) as client:
        assert client.get_token().auth_token == "tok-1"

    assert tvm.requests == 2
    assert "retrying in 0.05 s" in caplog.text
    assert "tok-1" not in caplog.text


def test_retries_are_bounded(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(error_answer(503, "momento_unavailable", "down", **{"Retry-After": "0"}))

    with make_client(tvm, clock) as client, pytest.raises(TokenVendingHTTPError) as caught:
        client.get_token()

    assert caught.value.status == 503
    assert caught.value.retry_after == 0
    assert tvm.requests == 3


def test_timeout_is_its_own_error(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer(), delay=0.5)

    with (
        make_client(tvm, clock, timeout=0.1, retry=RetryPolicy(max_attempts=1)) as client,
        pytest.raises(TokenVendingTimeoutError),
    ):
        client.get_token()


def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/token"

    with (
        TokenVendingClient(url, "c", "t", retry=RetryPolicy(max_attempts=2, base_delay=0.01)) as client,
        pytest.raises(TokenVendingNetworkError) as caught,
    ):
        client.get_token()

    assert not isinstance(caught.value, TokenVendingTimeoutError)


def test_serves_the_still_valid_token_when_refresh_fails(
    tvm: TVM, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    tvm.answer(
        token_answer("tok-1", expires_at=START + 100),
        error_answer(503, "momento_unavailable", "down"),
        error_answer(503, "momento_unavailable", "down"),
        token_answer("tok-2", expires_at=START + 3600),
    )
    one_attempt = RetryPolicy(max_attempts=1)

    with make_client(tvm, clock, retry=one_attempt, stale_retry_interval=5) as client:
        client.get_token()
        clock.advance(50)
        assert client.get_token().auth_token == "tok-1"
        assert client.get_token().auth_token == "tok-1"
        assert tvm.requests == 2
        clock.advance(6)
        assert client.get_token().auth_token == "tok-1"
        assert tvm.requests == 3
        clock.advance(6)
        assert client.get_token().auth_token == "tok-2"

    assert "serving the cached token" in caplog.text
    assert "tok-1" not in caplog.text


def test_expired_token_is_never_served_on_error(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer("tok-1", expires_at=START + 100), error_answer(503, "momento_unavailable", "down"))

    with make_client(tvm, clock, retry=RetryPolicy(max_attempts=1)) as client:
        client.get_token()
        clock.advance(101)
        with pytest.raises(TokenVendingHTTPError):
            client.get_token()


def test_stale_serving_can_be_disabled(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer("tok-1", expires_at=START + 100), error_answer(503, "momento_unavailable", "down"))

    with make_client(tvm, clock, retry=RetryPolicy(max_attempts=1), serve_stale_on_error=False) as client:
        client.get_token()
        clock.advance(50)
        with pytest.raises(TokenVendingHTTPError):
            client.get_token()


def test_repr_shows_no_secrets(tvm: TVM, clock: FakeClock) -> None:
    with make_client(tvm, clock, headers={"Authorization": "Bearer hunter2"}) as client:
        assert "hunter2" not in repr(client)


def test_configuration_is_validated() -> None:
    with pytest.raises(ValueError):
        TokenVendingClient("", "c", "t")
    with pytest.raises(ValueError):
        TokenVendingClient("http://x", "", "t")
    with pytest.raises(ValueError):
        TokenVendingClient("http://x", "c", "t", refresh_buffer=-1)
