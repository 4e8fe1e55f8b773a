"""Is this an HTTP event the function can route? Checked before Powertools reads it.

A Function URL or API Gateway always sends the fields below with these types, but the function can
also be invoked directly (the console's test-event editor, an SDK, a test) with any JSON at all. Each
way such an event is wrong becomes a 400 naming the field, instead of an exception deep inside the
resolver that would look like our own bug.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from token_vending_machine.errors import BadRequest
from token_vending_machine.models import field_errors

NOT_AN_HTTP_EVENT = "This function expects an HTTP event (Function URL or API Gateway)."
BODY_NOT_TEXT = (
    "The event's body must be the request's JSON text (a string), as API Gateway and Function URLs send it, "
    "not a JSON {type}; in the Lambda console's test-event editor, put the body in quotes."
)


class _Shape(BaseModel):
    # Built on first use: payload 1.0 models only by a REST API's events, nested ones only inside their parent.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class _Http(_Shape):
    method: StrictStr


class _ContextV2(_Shape):
    http: _Http


class _EventV2(_Shape):
    """Payload 2.0: Function URLs and HTTP APIs."""

    version: Literal["2.0"]
    raw_path: StrictStr = Field(alias="rawPath")
    headers: dict[StrictStr, StrictStr] | None = None
    is_base64_encoded: StrictBool | None = Field(default=None, alias="isBase64Encoded")
    request_context: _ContextV2 = Field(alias="requestContext")


class _EventV1(_Shape):
    """Payload 1.0: REST APIs (and HTTP APIs configured for it)."""

    http_method: StrictStr = Field(alias="httpMethod")
    path: StrictStr
    headers: dict[StrictStr, StrictStr | None] | None = None
    multi_value_headers: dict[StrictStr, list[StrictStr] | None] | None = Field(default=None, alias="multiValueHeaders")
    is_base64_encoded: StrictBool | None = Field(default=None, alias="isBase64Encoded")
    request_context: dict[str, Any] = Field(alias="requestContext")


def http_method(event: Any) -> tuple[Literal["1.0", "2.0"], str]:
    """The event's payload version and HTTP method, or BadRequest saying what is wrong with it."""
    if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
        raise BadRequest(NOT_AN_HTTP_EVENT)
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        kind = {dict: "object", list: "array", bool: "boolean"}.get(type(body), "number")
        raise BadRequest(BODY_NOT_TEXT.format(type=kind), details=[{"field": "body", "message": "must be a string"}])
    try:
        if event.get("version") == "2.0":
            v2 = _EventV2.model_validate(event)
            return "2.0", v2.request_context.http.method
        v1 = _EventV1.model_validate(event)
        return "1.0", v1.http_method
    except ValidationError as exc:
        raise BadRequest(
            f"{NOT_AN_HTTP_EVENT} Some of its fields are missing or of the wrong type.", details=field_errors(exc)
        ) from None
