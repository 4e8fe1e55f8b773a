"""The time budget, in one place: the function's timeout, each request's deadline, and the front door's limit.

Every slow dependency (the secret, through the extension or Secrets Manager, and Momento) is called
with what is left of one per-request deadline, derived from the invocation's remaining time, so the
function always answers with its own JSON 503/504 before Lambda or API Gateway cuts it off. The CDK
app sizes the Lambda timeout with :func:`function_timeout_seconds`; the local stack does the same.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

# The backoff between Momento attempts never sleeps longer than this.
RETRY_BACKOFF_CAP_SECONDS = 0.5
# One read of the secret takes at most this long: 1 s to connect, 2 s to read.
SECRET_CONNECT_TIMEOUT_SECONDS = 1.0
SECRET_READ_TIMEOUT_SECONDS = 2.0
SECRET_FETCH_TIMEOUT_SECONDS = SECRET_CONNECT_TIMEOUT_SECONDS + SECRET_READ_TIMEOUT_SECONDS
# Kept back from the invocation's remaining time to serialise the answer, log and flush metrics.
RESPONSE_HEADROOM_SECONDS = 0.25
# API Gateway ends an integration after 29 s (REST) or 30 s (HTTP API): a Lambda behind it must answer sooner.
API_GATEWAY_INTEGRATION_LIMIT_SECONDS = 29


def function_timeout_seconds(*, momento_timeout_seconds: float, momento_max_attempts: int) -> int:
    """The Lambda timeout: every Momento attempt at its full deadline, the backoffs between them, two
    secret reads (the cached key's refresh and the re-read after Momento rejects a rotated key) and
    the headroom to answer."""
    worst_case = (
        2 * SECRET_FETCH_TIMEOUT_SECONDS
        + momento_timeout_seconds * momento_max_attempts
        + RETRY_BACKOFF_CAP_SECONDS * (momento_max_attempts - 1)
        + RESPONSE_HEADROOM_SECONDS
    )
    return math.ceil(worst_case)


class Deadline(NamedTuple):
    """A point on the monotonic clock by which a request's dependencies must have answered."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + max(0.0, seconds))

    @classmethod
    def for_invocation(cls, remaining_ms: int) -> Deadline:
        """The deadline for one invocation: its remaining time less the headroom to answer."""
        return cls.after(remaining_ms / 1000 - RESPONSE_HEADROOM_SECONDS)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())
