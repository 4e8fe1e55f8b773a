"""The API contract: an OpenAPI 3.1 document of the endpoint, generated from the function's own code.

The request and response schemas are the pydantic models' JSON schemas; the error responses come from
the exception classes in ``token_vending_machine.errors`` (status, ``error`` code, Retry-After) and their
docstrings. ``python -m infra.openapi`` (``make openapi``) writes ``openapi.json`` at the repository root,
``--check`` only says whether it is current. The function never imports this module: the bundle and its
cold start do not carry it.
"""

from __future__ import annotations

import argparse
import base64
import inspect
import json
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from infra.names import Context, FrontDoor, FunctionUrlAuth, Output
from token_vending_machine.api import ALLOWED_METHODS, CORS_MAX_AGE_SECONDS, check_content_type, parse_token_request
from token_vending_machine.errors import ConfigurationError, DependencyUnavailable, MethodNotAllowed, VendingError
from token_vending_machine.models import ErrorBody, TokenRequest, VendedToken
from token_vending_machine.names import Env, ErrorCode
from token_vending_machine.permissions_request import PermissionsRequest
from token_vending_machine.settings import Settings, context_key

REPO_ROOT = Path(__file__).resolve().parents[1]
OPENAPI_PATH = REPO_ROOT / "openapi.json"
# The body of the Lambda console's test event, the original project's one example.
CONSOLE_EVENT = REPO_ROOT / "lambdas" / "test-events" / "test-event-1.json"
PERMISSIONS_EXAMPLE: dict[str, Any] = {
    "permissions": [
        {"role": "publishsubscribe", "cache": "chat", "topic": "room-1"},
        {"role": "subscribeonly", "cache": "chat", "topic": "lobby"},
        {"role": "readonly", "cache": "chat", "item": {"keyPrefix": "room-1:"}},
        {"role": "readwrite", "cache": "profiles", "item": {"key": "user-42"}},
        {"role": "readwrite", "cache": "scratch"},
    ]
}
VENDED_EXAMPLE = {"auth_token": "<the token as the Momento SDK returns it>", "expires_at": 1736622970}
_SCHEMAS = "#/components/schemas/"
_HEADERS = "#/components/headers/"
_SCHEMA_MODELS: tuple[tuple[type[BaseModel], JsonSchemaMode], ...] = (
    (TokenRequest, "validation"),
    (PermissionsRequest, "validation"),
    (VendedToken, "serialization"),
    (ErrorBody, "serialization"),
)
# A code that an exception takes as an argument rather than as its class's own.
_CODES_BY_ARGUMENT: dict[ErrorCode, type[VendingError]] = {ErrorCode.SECRET_UNAVAILABLE: DependencyUnavailable}
# What an error means, where its class's docstring does not say it (or not for that code alone).
_WHEN: dict[ErrorCode, str] = {
    ErrorCode.INTERNAL_ERROR: "A bug of ours: logged with its stack trace, answered without it.",
    ErrorCode.METHOD_NOT_ALLOWED: "A method other than POST (OPTIONS is the CORS preflight when CORS is on).",
    ErrorCode.PAYLOAD_TOO_LARGE: f"The body is larger than {Env.MAX_BODY_BYTES}.",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "A Content-Type other than JSON.",
    ErrorCode.MOMENTO_UNAVAILABLE: "Momento failed transiently, and retries within the time budget did not help.",
    ErrorCode.SECRET_UNAVAILABLE: "Secrets Manager could not be read, and no key is cached yet.",
}


@dataclass(frozen=True)
class ErrorKind:
    """One ``error`` code of the API: its status, the headers its responses carry, and when it happens."""

    code: ErrorCode
    status: int
    headers: tuple[str, ...]
    when: str


def _subclasses(cls: type[VendingError]) -> Iterator[type[VendingError]]:
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


def _when(code: ErrorCode, cls: type[VendingError]) -> str:
    """The first paragraph of the class's own docstring, on one line, in Markdown."""
    if code in _WHEN:
        return _WHEN[code]
    doc = cls.__dict__.get("__doc__")
    if not doc:
        raise ValueError(f"{cls.__name__} has no docstring: give it one, or say when {code} happens in _WHEN")
    return " ".join(inspect.cleandoc(doc).split("\n\n", 1)[0].split()).replace("``", "`")


def _headers(cls: type[VendingError]) -> tuple[str, ...]:
    allow = ("Allow",) if issubclass(cls, MethodNotAllowed) else ()
    return allow + (("Retry-After",) if cls.retry_after_seconds is not None else ())


def error_kinds() -> list[ErrorKind]:
    """Every error the function answers, by status then in ``ErrorCode`` order."""
    classes: dict[ErrorCode, type[VendingError]] = {}
    every: list[type[VendingError]] = [VendingError, *_subclasses(VendingError)]
    for cls in every:
        classes.setdefault(cls.code, cls)
    classes.update(_CODES_BY_ARGUMENT)
    order = list(ErrorCode)
    kinds = [ErrorKind(code, cls.status, _headers(cls), _when(code, cls)) for code, cls in classes.items()]
    return sorted(kinds, key=lambda kind: (kind.status, order.index(kind.code)))


def _raised(call: Callable[[], object]) -> VendingError:
    try:
        call()
    except VendingError as exc:
        return exc
    raise AssertionError(f"{call} raised nothing")


def error_examples() -> dict[ErrorCode, dict[str, Any]]:
    """Bodies the function really answers, for the errors that need no AWS or Momento to provoke."""
    max_body_bytes: int = Settings.model_fields["max_body_bytes"].default
    errors = [
        _raised(lambda: parse_token_request("", False)),
        _raised(lambda: parse_token_request('{"cacheName": "chat", "topicName": " "}', False)),
        MethodNotAllowed("GET", ALLOWED_METHODS),
        _raised(lambda: parse_token_request("{}" + " " * max_body_bytes, False)),
        _raised(lambda: check_content_type("text/plain")),
    ]
    examples = {
        exc.code: ErrorBody.model_validate({"error": exc.code, "message": exc.message, "details": exc.details})
        for exc in errors
    }
    examples[ErrorCode.CONFIGURATION_ERROR] = ErrorBody(
        error=ErrorCode.CONFIGURATION_ERROR, message=ConfigurationError.public_message
    )
    return {code: body.model_dump(mode="json", exclude_none=True) for code, body in examples.items()}


def request_examples() -> dict[str, dict[str, Any]]:
    """The request bodies the document shows, by name."""
    console_body = json.loads(base64.b64decode(json.loads(CONSOLE_EVENT.read_text())["body"]))
    return {
        "original": {"summary": "The original form (the Lambda console's test event)", "value": console_body},
        "originalSubscribeOnly": {
            "summary": "The original form, a token that may only subscribe",
            "value": {**console_body, "permission": "subscribe"},
        },
        "permissions": {"summary": "Several permissions in one token", "value": PERMISSIONS_EXAMPLE},
    }


def _schemas() -> dict[str, Any]:
    _, definitions = models_json_schema(_SCHEMA_MODELS, ref_template=_SCHEMAS + "{model}")
    schemas: dict[str, Any] = definitions["$defs"]
    return schemas


def _error_response(kinds: list[ErrorKind], examples: dict[ErrorCode, dict[str, Any]]) -> dict[str, Any]:
    codes = [kind.code.value for kind in kinds]
    error_schema = {"allOf": [{"$ref": _SCHEMAS + "ErrorBody"}, {"properties": {"error": {"enum": codes}}}]}
    content: dict[str, Any] = {"schema": error_schema}
    shown = {kind.code.value: {"value": examples[kind.code]} for kind in kinds if kind.code in examples}
    if shown:
        content["examples"] = shown
    response: dict[str, Any] = {
        "description": "\n".join(f"- `{kind.code}`: {kind.when}" for kind in kinds),
        "content": {"application/json": content},
    }
    headers = sorted({header for kind in kinds for header in kind.headers})
    if headers:
        response["headers"] = {header: {"$ref": _HEADERS + header} for header in headers}
    return response


def _error_responses() -> dict[str, Any]:
    by_status: dict[int, list[ErrorKind]] = {}
    for kind in error_kinds():
        by_status.setdefault(kind.status, []).append(kind)
    examples = error_examples()
    return {str(status): _error_response(kinds, examples) for status, kinds in by_status.items()}


def _request_body() -> dict[str, Any]:
    max_body_bytes = Settings.model_fields["max_body_bytes"].default
    return {
        "required": True,
        "description": (
            "A JSON object in one of two forms, never both: the original `{cacheName, topicName, permission?}`"
            " (unknown fields ignored) or `{permissions: [...]}`, 1 to 20 topic or cache entries told apart by"
            f" `role`. At most {max_body_bytes} bytes (`{Env.MAX_BODY_BYTES}`); `Content-Type` JSON, any"
            " `+json` type or none; API Gateway may deliver it base64-encoded."
        ),
        "content": {
            "application/json": {
                "schema": {"oneOf": [{"$ref": _SCHEMAS + "TokenRequest"}, {"$ref": _SCHEMAS + "PermissionsRequest"}]},
                "examples": request_examples(),
            }
        },
    }


def _vend_operation() -> dict[str, Any]:
    ok = {
        "description": "A token scoped to exactly the permissions asked; `expires_at` in Unix seconds.",
        "content": {
            "application/json": {"schema": {"$ref": _SCHEMAS + "VendedToken"}, "example": VENDED_EXAMPLE},
        },
    }
    return {
        "operationId": "vendToken",
        "summary": "Vend a disposable Momento token",
        "description": "Any path reaches the same operation; `/` is the one documented.",
        # Open by default; the front door the deployment chose may require one of these instead.
        "security": [{}, {"awsSigV4": []}, {"jwtBearer": []}],
        "requestBody": _request_body(),
        "responses": {"200": ok, **_error_responses()},
    }


def _preflight_operation() -> dict[str, Any]:
    cors_headers = ["Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"]
    headers: dict[str, Any] = {name: {"schema": {"type": "string"}} for name in cors_headers}
    headers["Access-Control-Max-Age"] = {"schema": {"type": "integer", "example": CORS_MAX_AGE_SECONDS}}
    return {
        "operationId": "corsPreflight",
        "summary": "CORS preflight",
        "description": (
            f"Answered only when `{context_key('cors_allowed_origins')}` (`{Env.CORS_ALLOWED_ORIGINS}`) is set:"
            " the CORS headers appear only for an allowed `Origin`. Without CORS, OPTIONS is a 405."
        ),
        "security": [{}],
        "responses": {"204": {"description": "The preflight's answer.", "headers": headers}},
    }


def _components() -> dict[str, Any]:
    return {
        "schemas": _schemas(),
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 1},
                "example": 1,
            },
            "Allow": {"description": "The methods the endpoint accepts.", "schema": {"type": "string"}},
        },
        "securitySchemes": {
            "awsSigV4": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": (
                    "AWS Signature Version 4 for service `lambda`, with"
                    f" `-c {Context.FRONT_DOOR}={FrontDoor.FUNCTION_URL} -c {Context.FUNCTION_URL_AUTH}="
                    f"{FunctionUrlAuth.AWS_IAM}`. Not required by default."
                ),
                "x-amazon-apigateway-authtype": "awsSigv4",
            },
            "jwtBearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": (
                    f"The HTTP API's JWT authorizer, with `-c {Context.FRONT_DOOR}={FrontDoor.HTTP_API}"
                    f" -c {Context.JWT_ISSUER}=... -c {Context.JWT_AUDIENCE}=...`. Not required by default."
                ),
            },
        },
    }


_DESCRIPTION = """\
Vends short-lived Momento tokens scoped to the caches and topics asked, within the deployment's policy.

One endpoint: `POST` on any path (a Function URL and the HTTP API use `/`, the REST API `/{proxy+}`).
Every answer of the function is JSON; every error is `{"error", "message", "details"?}` with a stable
`error` code. When the front door authenticates callers (SigV4 or a JWT), it refuses bad credentials
itself, before the function runs, in AWS's own body shape (401 or 403), as it does its own throttling.

CORS: with `corsAllowedOrigins` set, responses to an allowed `Origin` carry `Access-Control-Allow-Origin`
(and `Access-Control-Expose-Headers: Retry-After`), every response carries `Vary: Origin` when the
origins are named, and the function answers the `OPTIONS` preflight."""


def build_document() -> dict[str, Any]:
    """The whole OpenAPI document, as a JSON-ready dict."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Momento Token Vending Machine",
            "version": project["version"],
            "description": _DESCRIPTION,
            "license": {"name": project["license"], "identifier": project["license"]},
        },
        "servers": [
            {
                "url": "{endpointUrl}",
                "variables": {
                    "endpointUrl": {
                        "default": "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
                        "description": f"The stack's `{Output.ENDPOINT_URL}` output.",
                    }
                },
            }
        ],
        "paths": {"/": {"post": _vend_operation(), "options": _preflight_operation()}},
        "components": _components(),
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed document is stale")
    args = parser.parse_args(argv)
    text = render(build_document())
    if args.check:
        current = OPENAPI_PATH.exists() and OPENAPI_PATH.read_text() == text
        print(f"{OPENAPI_PATH.name} is {'current' if current else 'stale: run make openapi'}")
        return 0 if current else 1
    OPENAPI_PATH.write_text(text)
    print(f"wrote {OPENAPI_PATH.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
