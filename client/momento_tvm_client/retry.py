"""When to try a vend again and how long to wait first: pure policy, shared by both clients."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import TokenVendingError, TokenVendingHTTPError, TokenVendingNetworkError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter.

    - ``max_attempts`` counts the first try (1 disables retries).
    - Retried: HTTP statuses in ``retry_statuses`` (429 and 503: the server asks us to come back) and,
      when ``retry_network_errors`` is set, connection failures and timeouts (vending is idempotent:
      a repeated request only mints another token). Never other 4xx, 5xx or malformed responses.
    - The wait honours ``Retry-After`` (seconds or HTTP-date), capped at ``max_retry_after``;
      without it, ``base_delay * 2**(attempt-1)`` capped at ``max_delay``, with "equal jitter"
      (a random point in the upper half) so that many clients do not retry in step.
    """

    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0
    max_retry_after: float = 10.0
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 503}))
    retry_network_errors: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.max_retry_after) < 0:
            raise ValueError("delays must not be negative")

    def delay_before_retry(
        self,
        error: TokenVendingError,
        attempt: int,
        rng: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None when ``error`` is final."""
        if attempt >= self.max_attempts or not self._is_retryable(error):
            return None
        if isinstance(error, TokenVendingHTTPError) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return backoff / 2 + rng() * backoff / 2

    def _is_retryable(self, error: TokenVendingError) -> bool:
        if isinstance(error, TokenVendingHTTPError):
            return error.status in self.retry_statuses
        return self.retry_network_errors and isinstance(error, TokenVendingNetworkError)
