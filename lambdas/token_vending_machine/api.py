"""HTTP: the one route, reading the body and the caller, and the ONE mapping from our exceptions to JSON responses."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from pydantic import ValidationError

from token_vending_machine.errors import (
    BadRequest,
    ConfigurationError,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    VendingError,
)
from token_vending_machine.models import ErrorBody, TokenRequest, VendedToken, field_errors
from token_vending_machine.names import ErrorCode

ALLOWED_METHODS = ("POST",)
OTHER_METHODS = ("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
EXPECTED_BODY = 'send JSON {"cacheName": "...", "topicName": "..."}'
CORS_MAX_AGE_SECONDS = 600

Vend = Callable[[TokenRequest, str | None, float], VendedToken]


def build_app(
    resolver_class: type[ApiGatewayResolver],
    vend: Vend,
    logger: Logger,
    *,
    default_budget_seconds: float,
    max_body_bytes: int = 8192,
    cors_allowed_origins: tuple[str, ...] = (),
) -> ApiGatewayResolver:
    """A Powertools resolver of the event's kind with the token route and the error mapping."""
    cors = None
    if cors_allowed_origins:
        first, *others = cors_allowed_origins
        cors = CORSConfig(allow_origin=first, extra_origins=others, max_age=CORS_MAX_AGE_SECONDS)
    resolver = resolver_class(cors=cors)

    # Any path: the function has one purpose, and API Gateway may hand it /, /token or /{proxy+}.
    @resolver.route(".*", method=list(ALLOWED_METHODS))
    def vend_token() -> Response[str]:
        event = resolver.current_event
        check_content_type(event.headers)
        request = parse_token_request(event.body, bool(event.is_base64_encoded), max_body_bytes=max_body_bytes)
        identity = caller_identity(event.raw_event)
        logger.append_keys(cache=request.cache_name, topic=request.topic_name, permission=request.permission.value)
        token = vend(request, identity, _budget_seconds(resolver.lambda_context, default_budget_seconds))
        return Response(status_code=200, content_type="application/json", body=token.model_dump_json())

    # With CORS on, Powertools answers the OPTIONS preflight itself; without it, OPTIONS is a 405 too.
    @resolver.route(".*", method=[m for m in OTHER_METHODS if cors is None or m != "OPTIONS"])
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


def check_content_type(headers: Mapping[str, str] | None) -> None:
    """JSON only. Also keeps cross-origin browser requests from being 'simple', so CORS preflight applies."""
    content_type = next((v for k, v in (headers or {}).items() if k.lower() == "content-type"), None)
    if content_type is None:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type {media_type or '(empty)'!r} is not supported; {EXPECTED_BODY}.")


def parse_token_request(body: str | None, is_base64_encoded: bool, *, max_body_bytes: int = 8192) -> TokenRequest:
    """Decode and validate the body; every way it can be wrong is a 4xx that says which."""
    if not body:
        raise BadRequest(f"The request body is empty; {EXPECTED_BODY}.")
    too_large = PayloadTooLarge(f"The request body is larger than {max_body_bytes} bytes.")
    if len(body) > (max_body_bytes * 4 // 3 + 4 if is_base64_encoded else max_body_bytes * 4):
        raise too_large
    if is_base64_encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("The request body is marked base64 but is not valid base64.") from None
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > max_body_bytes:
        raise too_large
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


def caller_identity(event: Mapping[str, Any]) -> str | None:
    """The caller as AWS verified it (JWT ``sub``, IAM principal, Lambda authorizer), never a client header."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    candidates = [
        _dig(authorizer, "jwt", "claims", "sub"),  # HTTP API JWT authorizer (Cognito, ...)
        _dig(authorizer, "iam", "userArn"),  # Function URL / HTTP API with AWS_IAM
        _dig(authorizer, "claims", "sub"),  # REST API Cognito user pool authorizer
        _dig(authorizer, "principalId"),  # REST API Lambda authorizer
        _dig(context, "identity", "userArn"),  # REST API with AWS_IAM
    ]
    return next((value for value in candidates if isinstance(value, str) and value), None)


def _dig(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, dict):  # events are parsed JSON: plain dicts
            return None
        data = data.get(part)
    return data


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    body = ErrorBody.model_validate({"error": code, "message": message, "details": details})
    return Response(
        status_code=status,
        content_type="application/json",
        body=body.model_dump_json(exclude_none=True),
        headers=headers or {},
    )


def _budget_seconds(context: Any, default: float) -> float:
    """Time left for Momento calls: the invocation's remaining time, less a margin to answer."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if remaining_ms is None:
        return default
    return max(0.0, remaining_ms() / 1000 - 0.25)
