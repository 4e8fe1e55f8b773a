"""Our exceptions. Adapters translate vendor failures into these; ``api.py`` turns them into HTTP.

Each carries the HTTP status and the ``error`` code of its JSON body, and a message written
for the person who reads the response. Messages never contain a key, a token or a secret value.
"""

from __future__ import annotations

from typing import Any

from token_vending_machine.names import ErrorCode


class VendingError(Exception):
    status: int = 500
    code: ErrorCode = ErrorCode.INTERNAL_ERROR
    # Set on failures worth retrying: the caller is told when, with a Retry-After header.
    retry_after_seconds: int | None = None

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.retry_after_seconds is None else {"Retry-After": str(self.retry_after_seconds)}


class BadRequest(VendingError):
    """The caller sent something we cannot read (body missing, not base64, not UTF-8, not JSON)."""

    status = 400
    code = ErrorCode.BAD_REQUEST


class ValidationFailed(VendingError):
    """The body is JSON but its fields are missing or invalid; ``details`` names them."""

    status = 400
    code = ErrorCode.VALIDATION_ERROR


class PayloadTooLarge(VendingError):
    status = 413
    code = ErrorCode.PAYLOAD_TOO_LARGE


class UnsupportedMediaType(VendingError):
    status = 415
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE


class Forbidden(VendingError):
    """The request is well formed, but the deployment's policy does not grant it."""

    status = 403
    code = ErrorCode.FORBIDDEN


class MethodNotAllowed(VendingError):
    status = 405
    code = ErrorCode.METHOD_NOT_ALLOWED

    def __init__(self, method: str, allowed: tuple[str, ...]) -> None:
        # Named back only when it looks like a method: the value is the caller's.
        named = f"Method {method}" if method.isascii() and method.isalpha() and len(method) <= 16 else "This method"
        super().__init__(f"{named} is not allowed; use {', '.join(allowed)}.")
        self.allowed = allowed

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)}


class Throttled(VendingError):
    """Too many token calls: Momento's account limit (5 auth calls per second) or this container's own."""

    status = 429
    code = ErrorCode.THROTTLED
    retry_after_seconds = 1

    def __init__(self, message: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class DependencyUnavailable(VendingError):
    """Momento or Secrets Manager failed transiently, and retries within the budget did not help."""

    status = 503
    code = ErrorCode.MOMENTO_UNAVAILABLE
    retry_after_seconds = 1

    def __init__(self, message: str, *, code: ErrorCode = ErrorCode.MOMENTO_UNAVAILABLE) -> None:
        super().__init__(message)
        self.code = code


class MomentoRefused(VendingError):
    """Momento answered with an error that retrying will not change; no Retry-After invites one."""

    status = 502
    code = ErrorCode.MOMENTO_REFUSED


class DeadlineExceeded(VendingError):
    """Momento did not answer within the deadline, on every attempt the time budget allowed."""

    status = 504
    code = ErrorCode.MOMENTO_TIMEOUT


class ConfigurationError(VendingError):
    """Our own set-up is wrong: the secret is missing, unreadable or malformed, or Momento rejects our key.

    The message is logged (it names the cause, never the value); the caller sees a generic one.
    """

    status = 500
    code = ErrorCode.CONFIGURATION_ERROR
    public_message = "The token vending machine is misconfigured; its operators have the details in its logs."


class MomentoRejectedKey(ConfigurationError):
    """Momento answered AUTHENTICATION_ERROR for our key: maybe it was rotated, so refetch once."""
