"""HTTP: the one route, reading the body, and the ONE mapping from our exceptions to JSON responses."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from pydantic import ValidationError

from token_vending_machine.errors import (
    BadRequest,
    ConfigurationError,
    MethodNotAllowed,
    ValidationFailed,
    VendingError,
)
from token_vending_machine.models import ErrorBody, TokenRequest, VendedToken, field_errors
from token_vending_machine.names import ErrorCode

ALLOWED_METHODS = ("POST",)
OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
EXPECTED_BODY = 'send JSON {"cacheName": "...", "topicName": "..."}'

Vend = Callable[[TokenRequest, float], VendedToken]


def build_app(
    resolver: ApiGatewayResolver, vend: Vend, logger: Logger, default_budget_seconds: float
) -> ApiGatewayResolver:
    """Register the token route and the error mapping on a Powertools resolver of the event's kind."""

    # Any path: the function has one purpose, and API Gateway may hand it /, /token or /{proxy+}.
    @resolver.route(".*", method=list(ALLOWED_METHODS))
    def vend_token() -> Response[str]:
        event = resolver.current_event
        request = parse_token_request(event.body, event.is_base64_encoded)
        logger.append_keys(cache=request.cache_name, topic=request.topic_name)
        token = vend(request, _budget_seconds(resolver.lambda_context, default_budget_seconds))
        return Response(status_code=200, content_type="application/json", body=token.model_dump_json())

    @resolver.route(".*", method=OTHER_METHODS)
    def wrong_method() -> Response[str]:
        raise MethodNotAllowed(resolver.current_event.http_method, ALLOWED_METHODS)

    @resolver.exception_handler(VendingError)
    def vending_error(exc: VendingError) -> Response[str]:
        if isinstance(exc, ConfigurationError):
            logger.error("configuration error", extra={"cause": exc.message})
            return error_response(exc.status, exc.code, exc.public_message, headers=exc.headers)
        return error_response(exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers)

    @resolver.exception_handler(Exception)
    def unexpected_error(exc: Exception) -> Response[str]:
        logger.exception("unexpected error")
        return error_response(500, ErrorCode.INTERNAL_ERROR, "An unexpected error occurred; please retry.")

    return resolver


def parse_token_request(body: str | None, is_base64_encoded: bool) -> TokenRequest:
    """Decode and validate the body; every way it can be wrong is a 400 that says which."""
    if not body:
        raise BadRequest(f"The request body is empty; {EXPECTED_BODY}.")
    if is_base64_encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("The request body is marked base64 but is not valid base64.") from None
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The request body is not UTF-8 text.") from None
    if not text.strip():
        raise BadRequest(f"The request body is empty; {EXPECTED_BODY}.")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise BadRequest(f"The request body is not valid JSON; {EXPECTED_BODY}.") from None
    if not isinstance(document, dict):
        raise BadRequest(f"The request body must be a JSON object; {EXPECTED_BODY}.")
    try:
        return TokenRequest.model_validate(document)
    except ValidationError as exc:
        raise ValidationFailed("The request has missing or invalid fields.", details=field_errors(exc)) from None


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    body = ErrorBody(error=code, message=message, details=details).model_dump_json(exclude_none=True)
    return Response(status_code=status, content_type="application/json", body=body, headers=headers or {})


def _budget_seconds(context: Any, default: float) -> float:
    """Time left for Momento calls: the invocation's remaining time, less a margin to answer."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if remaining_ms is None:
        return default
    return max(0.0, remaining_ms() / 1000 - 0.25)
