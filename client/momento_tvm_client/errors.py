"""The exceptions the client raises: one base class, one subclass per way a vend can fail.

Messages never contain a token: a 200 body that fails to parse is described, not echoed.
"""

from __future__ import annotations

from typing import Any

BODY_EXCERPT_CHARS = 200


class TokenVendingError(Exception):
    """Base class of every error the client raises."""


class TokenVendingHTTPError(TokenVendingError):
    """The vending machine answered with a non-2xx status.

    ``error_code``, ``message`` and ``details`` come from a JSON error body
    (``{"error": ..., "message": ..., "details": [...]}``); for any other body ``error_code`` is None
    and ``message`` is the start of the body text. ``retry_after`` is the server's ``Retry-After``
    in seconds, when it sent one.
    """

    def __init__(
        self,
        status: int,
        error_code: str | None,
        message: str,
        body: str,
        *,
        details: list[Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.message = message
        self.body = body
        self.details = details
        self.retry_after = retry_after
        super().__init__(self._describe())

    def _describe(self) -> str:
        code = f" {self.error_code}" if self.error_code else ""
        text = f": {self.message}" if self.message else ""
        return f"token vending machine answered HTTP {self.status}{code}{text}"


class TokenVendingNetworkError(TokenVendingError):
    """No HTTP answer: the connection failed, broke, or the request could not be sent."""


class TokenVendingTimeoutError(TokenVendingNetworkError):
    """The vending machine did not answer within the configured timeout."""


class TokenVendingResponseError(TokenVendingError):
    """A 2xx answer that is not a usable token response (malformed JSON, missing or bad fields)."""


def excerpt(text: str, limit: int = BODY_EXCERPT_CHARS) -> str:
    """The start of ``text`` on one line, marked when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"
