"""The API contract (openapi.json): current with the code, valid OpenAPI 3.1, every error and example in it right."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.openapi import OPENAPI_PATH, build_document, main, render
from token_vending_machine.api import parse_token_request
from token_vending_machine.models import ErrorBody, VendedToken
from token_vending_machine.names import ErrorCode

# The README's error table: the contract callers rely on, checked against what the code generates.
STATUS_OF = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.THROTTLED: 429,
    ErrorCode.CONFIGURATION_ERROR: 500,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.MOMENTO_REFUSED: 502,
    ErrorCode.MOMENTO_UNAVAILABLE: 503,
    ErrorCode.SECRET_UNAVAILABLE: 503,
    ErrorCode.MOMENTO_TIMEOUT: 504,
}
HEADERS_OF_STATUS = {"405": {"Allow"}, "429": {"Retry-After"}, "503": {"Retry-After"}}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def vend_operation(document: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"]["/"]["post"]
    return operation


def error_codes_by_status(document: dict[str, Any]) -> dict[str, list[str]]:
    responses = vend_operation(document)["responses"]
    return {
        status: response["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"]["enum"]
        for status, response in responses.items()
        if status != "200"
    }


def test_the_committed_document_is_what_the_code_generates(document: dict[str, Any]) -> None:
    # GIVEN the models and errors as they are now
    # WHEN the document is generated
    # THEN the committed file is the same, byte for byte
    assert OPENAPI_PATH.read_text() == render(document), "openapi.json is stale: run `make openapi`"


def test_the_check_option_says_the_committed_document_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0
    assert capsys.readouterr().out == "openapi.json is current\n"


def test_the_document_has_the_structure_of_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    assert {"title", "version"} <= document["info"].keys()
    assert set(document["paths"]["/"]) == {"post", "options"}
    assert all(response.get("description") for response in vend_operation(document)["responses"].values())
    # Every reference points at a component that exists.
    text = json.dumps(document)
    for kind in ("schemas", "headers"):
        for name in set(part.split('"')[0] for part in text.split(f'"#/components/{kind}/')[1:]):
            assert name in document["components"][kind], f"dangling reference to {kind}/{name}"


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)


def test_every_error_code_is_documented_at_its_status(document: dict[str, Any]) -> None:
    documented = {code: status for status, codes in error_codes_by_status(document).items() for code in codes}
    assert set(documented) == {code.value for code in ErrorCode}
    assert documented == {code.value: str(status) for code, status in STATUS_OF.items()}


@pytest.mark.parametrize("status", sorted(HEADERS_OF_STATUS))
def test_retryable_and_method_errors_document_their_headers(document: dict[str, Any], status: str) -> None:
    response = vend_operation(document)["responses"][status]
    assert set(response["headers"]) == HEADERS_OF_STATUS[status]


def test_the_request_examples_show_both_forms_and_each_is_accepted(document: dict[str, Any]) -> None:
    examples = vend_operation(document)["requestBody"]["content"]["application/json"]["examples"]
    bodies = [example["value"] for example in examples.values()]
    assert {"cacheName": "SampleCache", "topicName": "sample-topic"} in bodies
    assert any(len(body.get("permissions", ())) == 5 for body in bodies)
    for body in bodies:
        assert parse_token_request(json.dumps(body), False)


def test_the_request_examples_match_the_documented_schema(document: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    content = vend_operation(document)["requestBody"]["content"]["application/json"]
    schema = {**content["schema"], "components": document["components"]}
    for name, example in content["examples"].items():
        assert not list(jsonschema.Draft202012Validator(schema).iter_errors(example["value"])), name


def test_the_response_examples_are_bodies_the_function_can_send(document: dict[str, Any]) -> None:
    responses = vend_operation(document)["responses"]
    VendedToken.model_validate(responses["200"]["content"]["application/json"]["example"])
    codes = error_codes_by_status(document)
    for status, response in responses.items():
        for code, example in response["content"]["application/json"].get("examples", {}).items():
            body = ErrorBody.model_validate(example["value"])
            assert body.error == code and code in codes[status]
    validation_error = responses["400"]["content"]["application/json"]["examples"]["validation_error"]["value"]
    assert validation_error["details"]
