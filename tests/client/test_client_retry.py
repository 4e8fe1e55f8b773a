"""The retry policy: which errors are retried and how long to wait."""

from __future__ import annotations

import pytest

from momento_tvm_client import (
    RetryPolicy,
    TokenVendingHTTPError,
    TokenVendingNetworkError,
    TokenVendingResponseError,
    TokenVendingTimeoutError,
)


def http_error(status: int, retry_after: float | None = None) -> TokenVendingHTTPError:
    return TokenVendingHTTPError(status, None, "", "", retry_after=retry_after)


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_and_unavailable_are_retried(status: int) -> None:
    assert RetryPolicy().delay_before_retry(http_error(status), 1) is not None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 413, 500, 502, 504])
def test_other_statuses_are_final(status: int) -> None:
    assert RetryPolicy().delay_before_retry(http_error(status), 1) is None


def test_malformed_responses_are_final() -> None:
    assert RetryPolicy().delay_before_retry(TokenVendingResponseError("bad"), 1) is None


@pytest.mark.parametrize("error", [TokenVendingNetworkError("refused"), TokenVendingTimeoutError("slow")])
def test_network_errors_are_retried_unless_disabled(error: TokenVendingNetworkError) -> None:
    assert RetryPolicy().delay_before_retry(error, 1) is not None
    assert RetryPolicy(retry_network_errors=False).delay_before_retry(error, 1) is None


def test_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_attempts=3)

    assert policy.delay_before_retry(http_error(503), 2) is not None
    assert policy.delay_before_retry(http_error(503), 3) is None


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_retry_after=10)

    assert policy.delay_before_retry(http_error(429, retry_after=2.5), 1) == 2.5
    assert policy.delay_before_retry(http_error(429, retry_after=120), 1) == 10


def test_backoff_doubles_with_equal_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=1, max_delay=4)

    def delay(attempt: int, jitter: float) -> float | None:
        return policy.delay_before_retry(http_error(503), attempt, rng=lambda: jitter)

    assert [delay(n, 0.0) for n in (1, 2, 3, 4)] == [0.5, 1, 2, 2]
    assert [delay(n, 1.0) for n in (1, 2, 3, 4)] == [1, 2, 4, 4]


def test_policy_is_validated() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=-1)
