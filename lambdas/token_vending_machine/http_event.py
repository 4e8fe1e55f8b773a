"""Lambda proxy events in, Lambda proxy responses out: the HTTP request inside an event, read once.

A Function URL or API Gateway always sends the fields below with these types, but the function can
also be invoked directly (the console's test-event editor, an SDK, a test) with any JSON at all. Each
way such an event is wrong becomes a 400 naming the field, never an exception that would look like
our own bug.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

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


class HttpRequest(NamedTuple):
    """What the function reads of an HTTP event; ``headers`` by lower-case name."""

    method: str
    headers: Mapping[str, str]
    body: str | None
    is_base64_encoded: bool
    request_context: dict[str, Any]


def read_request(event: Any) -> HttpRequest:
    """The HTTP request of a payload 2.0 or 1.0 event, or BadRequest saying what is wrong with the event."""
    if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
        raise BadRequest(NOT_AN_HTTP_EVENT)
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        kind = {dict: "object", list: "array", bool: "boolean"}.get(type(body), "number")
        raise BadRequest(BODY_NOT_TEXT.format(type=kind), details=[{"field": "body", "message": "must be a string"}])
    try:
        if event.get("version") == "2.0":
            v2 = _EventV2.model_validate(event)
            method, headers, base64 = v2.request_context.http.method, _by_name(v2.headers), v2.is_base64_encoded
        else:
            v1 = _EventV1.model_validate(event)
            # REST sends each header in both fields: the list joined, then the single value where there is one.
            headers = {name: ", ".join(values) for name, values in _by_name(v1.multi_value_headers).items() if values}
            headers.update((name, value) for name, value in _by_name(v1.headers).items() if value is not None)
            method, base64 = v1.http_method, v1.is_base64_encoded
    except ValidationError as exc:
        raise BadRequest(
            f"{NOT_AN_HTTP_EVENT} Some of its fields are missing or of the wrong type.", details=field_errors(exc)
        ) from None
    return HttpRequest(method, headers, body, bool(base64), event["requestContext"])


def find_header(headers: Any, name: str) -> str | None:
    """A header's value by its lower-case name, whatever the case it is spelled in, in headers of any shape."""
    if not isinstance(headers, Mapping):
        return None
    value = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == name), None)
    return value if isinstance(value, str) else None


def proxy_response(status: int, headers: dict[str, str], body: str) -> dict[str, Any]:
    """The response in the shape Function URLs, HTTP APIs (payload 2.0) and REST APIs (1.0) all accept."""
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": False}


def _by_name(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    return {name.lower(): value for name, value in (headers or {}).items()}
