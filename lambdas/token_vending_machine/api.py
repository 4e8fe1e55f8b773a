"""HTTP: the one route, reading the body and the caller, and the ONE mapping from our exceptions to JSON responses."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    CORSConfig,
    LambdaFunctionUrlResolver,
    Response,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from pydantic import ValidationError

from token_vending_machine.budget import Deadline
from token_vending_machine.errors import (
    BadRequest,
    ConfigurationError,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    VendingError,
)
from token_vending_machine.http_event import http_method
from token_vending_machine.identity import Caller, IdentitySource, verified_caller
from token_vending_machine.models import (
    ErrorBody,
    PermissionsRequest,
    TokenRequest,
    TokenScope,
    TopicGrant,
    VendedToken,
    field_errors,
)
from token_vending_machine.names import ErrorCode

ALLOWED_METHODS = ("POST",)
EXPECTED_BODY = 'send JSON {"cacheName": "...", "topicName": "..."} or {"permissions": [...]}'
CORS_MAX_AGE_SECONDS = 600
# Any path: the function has one purpose, and API Gateway may hand it /, /token or /{proxy+}.
# "[\s\S]" rather than ".", which stops at a newline (an HTTP API decodes %0A into the path).
ANY_PATH = r"[\s\S]*"

Vend = Callable[[TokenScope, Caller | None, Deadline], VendedToken]


class TokenApi:
    """The HTTP side of the function: check the event, route it, and answer every failure as JSON.

    ``outcome`` is what the last request came to: ``vended`` or the ``error`` code of its answer.
    Not for concurrent use (nor are Powertools' resolvers): Lambda runs one invocation at a time.
    """

    def __init__(
        self,
        vend: Vend,
        logger: Logger,
        *,
        max_body_bytes: int = 8192,
        cors_allowed_origins: tuple[str, ...] = (),
        identity_source: IdentitySource = IdentitySource.ANY,
        api_id: str | None = None,
        default_budget_seconds: float = 10.0,
    ) -> None:
        self._vend = vend
        self._logger = logger
        self._max_body_bytes = max_body_bytes
        self._identity_source = identity_source
        self._api_id = api_id
        self._default_budget = default_budget_seconds
        self._cors = None
        if cors_allowed_origins:
            first, *others = cors_allowed_origins
            self._cors = CORSConfig(allow_origin=first, extra_origins=others, max_age=CORS_MAX_AGE_SECONDS)
        # Payload 2.0 (Function URL, HTTP API) and 1.0 (REST API) events need different resolvers.
        self._resolvers = {
            "2.0": self._resolver(LambdaFunctionUrlResolver),
            "1.0": self._resolver(APIGatewayRestResolver),
        }
        self.outcome = ""

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        """The Lambda proxy response for any event at all."""
        try:
            version, method = http_method(event)
            # With CORS on, Powertools answers the OPTIONS preflight itself.
            if method != "POST" and not (method == "OPTIONS" and self._cors is not None):
                raise (
                    MethodNotAllowed(method, ALLOWED_METHODS) if method else BadRequest("The event has no HTTP method.")
                )
        except VendingError as exc:
            response = self._error(exc)
            # Answered before Powertools, so its CORS headers are added here, the same as on its answers.
            cors = self._cors.to_dict(_origin(event)) if self._cors is not None else {}
            return {"statusCode": response.status_code, "headers": {**response.headers, **cors}, "body": response.body}
        self.outcome = "preflight" if method == "OPTIONS" else "unrouted"
        return self._resolvers[version].resolve(event, context)

    def _resolver(self, resolver_class: type[ApiGatewayResolver]) -> ApiGatewayResolver:
        # debug=False whatever POWERTOOLS_DEV says: debug mode prints whole events (bearer tokens,
        # signatures) and returns tracebacks to the caller.
        resolver = resolver_class(cors=self._cors, debug=False)

        @resolver.route(ANY_PATH, method=list(ALLOWED_METHODS))
        def vend_token() -> Response[str]:
            event = resolver.current_event
            check_content_type(event.headers)
            scope = parse_token_request(event.body, bool(event.is_base64_encoded), max_body_bytes=self._max_body_bytes)
            caller = verified_caller(
                event.raw_event["requestContext"], accepted=self._identity_source, api_id=self._api_id
            )
            self._logger.append_keys(**_log_fields(scope), caller=None if caller is None else caller.token_id)
            token = self._vend(scope, caller, self._deadline(resolver.lambda_context))
            self.outcome = "vended"
            return Response(status_code=200, content_type="application/json", body=token.model_dump_json())

        resolver.exception_handler(VendingError)(self._error)
        resolver.exception_handler(Exception)(self._unexpected)
        return resolver

    def _unexpected(self, exc: Exception) -> Response[str]:
        """A bug of ours: logged with its traceback, answered without it."""
        self._logger.exception("unexpected error")
        self.outcome = ErrorCode.INTERNAL_ERROR
        return error_response(500, ErrorCode.INTERNAL_ERROR, "An unexpected error occurred; please retry.")

    def _error(self, exc: VendingError) -> Response[str]:
        """The ONE mapping from our exceptions to responses; every 5xx is logged with its cause."""
        self.outcome = exc.code
        if exc.status >= 500:
            cause = exc.__cause__
            self._logger.error(
                "token request failed",
                extra={
                    "error": exc.code,
                    "cause": exc.message,
                    "cause_type": type(cause).__name__ if cause is not None else type(exc).__name__,
                },
            )
        if isinstance(exc, ConfigurationError):
            return error_response(exc.status, exc.code, exc.public_message, headers=exc.headers)
        return error_response(exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers)

    def _deadline(self, context: Any) -> Deadline:
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        if remaining_ms is None:
            return Deadline.after(self._default_budget)
        return Deadline.for_invocation(remaining_ms())


def check_content_type(headers: Mapping[str, str] | None) -> None:
    """JSON only. Also keeps cross-origin browser requests from being 'simple', so CORS preflight applies."""
    content_type = _header(headers, "content-type")
    if content_type is None:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type {media_type or '(empty)'!r} is not supported; {EXPECTED_BODY}.")


def parse_token_request(body: str | None, is_base64_encoded: bool, *, max_body_bytes: int = 8192) -> TokenScope:
    """Decode and validate the body, in either request form; every way it can be wrong is a 4xx that says which."""
    document = _json_object(_body_text(body, is_base64_encoded, max_body_bytes))
    form: type[TokenRequest | PermissionsRequest] = PermissionsRequest if "permissions" in document else TokenRequest
    if form is PermissionsRequest and ("cacheName" in document or "topicName" in document):
        raise BadRequest('Send either {"cacheName", "topicName"} or {"permissions": [...]}, not both.')
    try:
        return form.model_validate(document).scope
    except ValidationError as exc:
        raise ValidationFailed("The request has missing or invalid fields.", details=field_errors(exc)) from None


def _body_text(body: str | None, is_base64_encoded: bool, max_body_bytes: int) -> str:
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
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The request body is not UTF-8 text.") from None


def _json_object(text: str) -> dict[str, Any]:
    if not text.strip():
        raise BadRequest(f"The request body is empty; {EXPECTED_BODY}.")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise BadRequest(f"The request body is not valid JSON; {EXPECTED_BODY}.") from None
    if not isinstance(document, dict):
        raise BadRequest(f"The request body must be a JSON object; {EXPECTED_BODY}.")
    return document


def _origin(event: Any) -> str | None:
    """The request's Origin header, if the event has readable headers at all."""
    return _header(event.get("headers") if isinstance(event, dict) else None, "origin")


def _header(headers: Any, name: str) -> str | None:
    """A header's value by its lower-case name, whatever the case the event spells it in."""
    if not isinstance(headers, Mapping):
        return None
    value = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == name), None)
    return value if isinstance(value, str) else None


def _log_fields(scope: TokenScope) -> dict[str, str | int]:
    """What the log line says of the request: the one topic of the original form, else a count."""
    if len(scope) == 1 and isinstance(grant := scope[0], TopicGrant):
        return {"cache": grant.cache, "topic": grant.topic, "role": grant.role.value}
    return {"grants": len(scope)}


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
