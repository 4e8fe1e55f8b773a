"""HTTP: the one route, reading the body and the caller, and the ONE mapping from our exceptions to JSON responses."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from aws_lambda_powertools import Logger
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
from token_vending_machine.http_event import HttpRequest, find_header, proxy_response, read_request
from token_vending_machine.identity import Caller, IdentitySource, verified_caller
from token_vending_machine.models import (
    ErrorBody,
    TokenRequest,
    TokenScope,
    TopicGrant,
    VendedToken,
    field_errors,
)
from token_vending_machine.names import ErrorCode

if TYPE_CHECKING:
    from token_vending_machine.permissions_request import PermissionsRequest

ALLOWED_METHODS = ("POST",)
EXPECTED_BODY = 'send JSON {"cacheName": "...", "topicName": "..."} or {"permissions": [...]}'
CORS_MAX_AGE_SECONDS = 600
JSON = "application/json"
# Not a CORS-safelisted response header: without this, a browser's script could not read it.
EXPOSE = {"Access-Control-Expose-Headers": "Retry-After"}

Vend = Callable[[TokenScope, Caller | None, Deadline], VendedToken]


class Answer(NamedTuple):
    status: int
    body: str
    headers: dict[str, str]


class Cors:
    """CORS for a list of allowed origins (``*``: any). Browsers may read ``Retry-After`` from the answers.

    With named origins every answer carries ``Vary: Origin``, so a shared cache never hands one
    origin's answer to another.
    """

    # What a browser may send: the body's type, a JWT, and what SigV4 signing adds.
    ALLOW_HEADERS = "Authorization,Content-Type,X-Amz-Date,X-Amz-Security-Token,X-Api-Key"

    def __init__(self, origins: tuple[str, ...]) -> None:
        self._any = "*" in origins
        self._origins = frozenset(origins)

    def headers(self, origin: str | None) -> dict[str, str]:
        """The CORS headers of an answer to a request from ``origin``."""
        if self._any:
            return {"Access-Control-Allow-Origin": "*", **EXPOSE} if origin else {}
        if origin in self._origins:
            return {"Access-Control-Allow-Origin": origin, **EXPOSE, "Vary": "Origin"}
        return {"Vary": "Origin"}

    def preflight(self, origin: str | None) -> dict[str, str]:
        """The headers of the 204 answer to a preflight; without an allowed origin, the browser is told nothing."""
        headers = self.headers(origin)
        if "Access-Control-Allow-Origin" in headers:
            headers["Access-Control-Allow-Methods"] = ",".join(("OPTIONS", *ALLOWED_METHODS))
            headers["Access-Control-Allow-Headers"] = self.ALLOW_HEADERS
            headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE_SECONDS)
        return headers


class TokenApi:
    """The HTTP side of the function: read the event, answer it, and answer every failure as JSON.

    One route: POST on any path (API Gateway may hand the function /, /token or /{proxy+}), and the
    CORS preflight when CORS is on. ``outcome`` is what the last request came to: ``vended``,
    ``preflight`` or the ``error`` code of its answer. Not for concurrent use: Lambda runs one
    invocation at a time.
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
        self._cors = Cors(cors_allowed_origins) if cors_allowed_origins else None
        self.outcome = ""

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        """The Lambda proxy response for any event at all."""
        request = None
        try:
            request = read_request(event)
            if request.method == "OPTIONS" and self._cors is not None:
                self.outcome = "preflight"
                return proxy_response(204, self._cors.preflight(request.headers.get("origin")), "")
            answer = self._vend_token(request, context)
        except VendingError as exc:
            answer = self._error(exc)
        except Exception:
            answer = self._unexpected()
        headers = {"Content-Type": JSON, **answer.headers}
        if self._cors is not None:
            headers.update(self._cors.headers(_origin(event, request)))
        return proxy_response(answer.status, headers, answer.body)

    def _vend_token(self, request: HttpRequest, context: Any) -> Answer:
        if not request.method:
            raise BadRequest("The event has no HTTP method.")
        if request.method not in ALLOWED_METHODS:
            raise MethodNotAllowed(request.method, ALLOWED_METHODS)
        check_content_type(request.headers.get("content-type"))
        scope = parse_token_request(request.body, request.is_base64_encoded, max_body_bytes=self._max_body_bytes)
        caller = verified_caller(request.request_context, accepted=self._identity_source, api_id=self._api_id)
        self._logger.append_keys(**_log_fields(scope), caller=None if caller is None else caller.token_id)
        token = self._vend(scope, caller, self._deadline(context))
        self.outcome = "vended"
        return Answer(200, token.model_dump_json(), {})

    def _unexpected(self) -> Answer:
        """A bug of ours: logged with its traceback, answered without it."""
        self._logger.exception("unexpected error")
        self.outcome = ErrorCode.INTERNAL_ERROR
        return error_answer(500, ErrorCode.INTERNAL_ERROR, "An unexpected error occurred; please retry.")

    def _error(self, exc: VendingError) -> Answer:
        """The ONE mapping from our exceptions to answers; every 5xx is logged with its cause."""
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
            return error_answer(exc.status, exc.code, exc.public_message, headers=exc.headers)
        return error_answer(exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers)

    def _deadline(self, context: Any) -> Deadline:
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        if remaining_ms is None:
            return Deadline.after(self._default_budget)
        return Deadline.for_invocation(remaining_ms())


def check_content_type(content_type: str | None) -> None:
    """JSON only. Also keeps cross-origin browser requests from being 'simple', so CORS preflight applies."""
    if content_type is None:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type {media_type or '(empty)'!r} is not supported; {EXPECTED_BODY}.")


def parse_token_request(body: str | None, is_base64_encoded: bool, *, max_body_bytes: int = 8192) -> TokenScope:
    """Decode and validate the body, in either request form; every way it can be wrong is a 4xx that says which."""
    document = _json_object(_body_text(body, is_base64_encoded, max_body_bytes))
    form: type[TokenRequest | PermissionsRequest] = TokenRequest
    if "permissions" in document:
        if "cacheName" in document or "topicName" in document:
            raise BadRequest('Send either {"cacheName", "topicName"} or {"permissions": [...]}, not both.')
        from token_vending_machine.permissions_request import PermissionsRequest  # its models: on first use

        form = PermissionsRequest
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


def _origin(event: Any, request: HttpRequest | None) -> str | None:
    """The request's Origin header; read off the raw event when the event could not be read as a request."""
    if request is not None:
        return request.headers.get("origin")
    return find_header(event.get("headers") if isinstance(event, dict) else None, "origin")


def _log_fields(scope: TokenScope) -> dict[str, str | int]:
    """What the log line says of the request: the one topic of the original form, else a count."""
    if len(scope) == 1 and isinstance(grant := scope[0], TopicGrant):
        return {"cache": grant.cache, "topic": grant.topic, "role": grant.role.value}
    return {"grants": len(scope)}


def error_answer(
    status: int,
    code: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    body = ErrorBody.model_validate({"error": code, "message": message, "details": details})
    return Answer(status, body.model_dump_json(exclude_none=True), headers or {})
