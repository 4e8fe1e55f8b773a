"""The HTTP layer with a fake vend function: every event shape, every error row, no sockets."""

import json

import pytest
from aws_lambda_powertools import Logger

from tests.events import FakeLambdaContext, load_event, response_headers
from token_vending_machine.api import TokenApi
from token_vending_machine.budget import Deadline
from token_vending_machine.errors import (
    ConfigurationError,
    DeadlineExceeded,
    DependencyUnavailable,
    MomentoRefused,
    Throttled,
)
from token_vending_machine.identity import Caller, IdentitySource
from token_vending_machine.models import CacheGrant, CacheRole, TokenScope, TopicGrant, TopicRole, VendedToken
from token_vending_machine.names import ErrorCode


class FakeVend:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.requests: list[TokenScope] = []
        self.identities: list[str | None] = []
        self.budgets: list[float] = []

    def __call__(self, scope: TokenScope, caller: Caller | None, deadline: Deadline) -> VendedToken:
        self.requests.append(scope)
        self.identities.append(None if caller is None else caller.identity)
        self.budgets.append(deadline.remaining())
        if self.failure is not None:
            raise self.failure
        return VendedToken(auth_token="fake-token", expires_at=1736622970)


def resolve(event, vend, context=None, **options):
    api = TokenApi(vend, Logger(service="test-api"), default_budget_seconds=7.0, **options)
    response = api.handle(event, context or FakeLambdaContext())
    return response["statusCode"], response_headers(response), json.loads(response["body"])


@pytest.mark.parametrize(
    "name",
    [
        "test-event-1.json",
        "rest-api-post-json.json",
        "function-url-post.json",
        "function-url-post-base64.json",
        "http-api-post-base64.json",
        "function-url-post-extra-fields.json",
    ],
)
def test_every_happy_event_becomes_the_same_request(name):
    vend = FakeVend()

    status, headers, body = resolve(load_event(name), vend)

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body == {"auth_token": "fake-token", "expires_at": 1736622970}
    assert vend.requests == [(TopicGrant("SampleCache", "sample-topic", TopicRole.PUBLISH_SUBSCRIBE),)]


@pytest.mark.parametrize(
    ("name", "status", "code", "phrase"),
    [
        ("error-empty-body.json", 400, ErrorCode.BAD_REQUEST, "empty"),
        ("error-missing-body.json", 400, ErrorCode.BAD_REQUEST, "empty"),
        ("error-bad-base64.json", 400, ErrorCode.BAD_REQUEST, "base64"),
        ("error-not-utf8.json", 400, ErrorCode.BAD_REQUEST, "UTF-8"),
        ("error-not-json.json", 400, ErrorCode.BAD_REQUEST, "not valid JSON"),
        ("error-not-object.json", 400, ErrorCode.BAD_REQUEST, "JSON object"),
        ("error-missing-fields.json", 400, ErrorCode.VALIDATION_ERROR, "missing or invalid"),
        ("error-invalid-fields.json", 400, ErrorCode.VALIDATION_ERROR, "missing or invalid"),
        ("error-method-get.json", 405, ErrorCode.METHOD_NOT_ALLOWED, "GET"),
        ("error-rest-api-method-delete.json", 405, ErrorCode.METHOD_NOT_ALLOWED, "DELETE"),
    ],
)
def test_every_failing_event_gets_a_json_error_and_never_reaches_momento(name, status, code, phrase):
    vend = FakeVend()

    got_status, headers, body = resolve(load_event(name), vend)

    assert (got_status, body["error"]) == (status, code)
    assert phrase in body["message"]
    assert headers["Content-Type"] == "application/json"
    assert vend.requests == []


def test_validation_errors_name_the_fields_at_fault():
    _, _, body = resolve(load_event("error-invalid-fields.json"), FakeVend())

    assert {detail["field"] for detail in body["details"]} == {"cacheName", "topicName"}


def test_method_not_allowed_says_which_methods_are():
    _, headers, _ = resolve(load_event("error-method-get.json"), FakeVend())

    assert headers["Allow"] == "POST"


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (Throttled("slow down"), 429, ErrorCode.THROTTLED),
        (DependencyUnavailable("down"), 503, ErrorCode.MOMENTO_UNAVAILABLE),
        (DependencyUnavailable("down", code=ErrorCode.SECRET_UNAVAILABLE), 503, ErrorCode.SECRET_UNAVAILABLE),
        (DeadlineExceeded("too slow"), 504, ErrorCode.MOMENTO_TIMEOUT),
        (ConfigurationError("secret 'x' missing: ResourceNotFoundException"), 500, ErrorCode.CONFIGURATION_ERROR),
        (RuntimeError("boom"), 500, ErrorCode.INTERNAL_ERROR),
    ],
)
def test_failures_map_to_statuses_and_codes(failure, status, code):
    got_status, _, body = resolve(load_event("function-url-post.json"), FakeVend(failure))

    assert (got_status, body["error"]) == (status, code)
    assert body["message"]


def test_throttling_tells_the_caller_when_to_retry():
    _, headers, _ = resolve(load_event("function-url-post.json"), FakeVend(Throttled("slow down")))

    assert headers["Retry-After"] == "1"


def test_configuration_errors_keep_their_cause_out_of_the_response():
    _, _, body = resolve(load_event("test-event-1.json"), FakeVend(ConfigurationError("secret 'prod-key' is gone")))

    assert "prod-key" not in json.dumps(body)


def test_the_momento_budget_comes_from_the_invocation_time_left():
    vend = FakeVend()

    resolve(load_event("function-url-post.json"), vend, FakeLambdaContext(remaining_ms=3000))

    assert vend.budgets == [pytest.approx(2.75, abs=0.05)]


@pytest.mark.parametrize(
    ("name", "identity"),
    [
        ("http-api-jwt-authorizer.json", "8d7f1c2e-alice"),
        ("function-url-iam-auth.json", "arn:aws:sts::123456789012:assumed-role/worker"),
        ("function-url-spoofed-identity-header.json", None),
        ("function-url-post.json", None),
    ],
)
def test_the_caller_is_who_aws_verified_never_a_header(name, identity):
    vend = FakeVend()

    resolve(load_event(name), vend)

    assert vend.identities == [identity]


def test_a_requested_permission_reaches_the_vendor():
    vend = FakeVend()

    resolve(load_event("function-url-post-publish-only.json"), vend)

    assert vend.requests[0][0].role == TopicRole.PUBLISH_ONLY


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("error-body-too-large.json", 413, ErrorCode.PAYLOAD_TOO_LARGE),
        ("error-content-type-form.json", 415, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
        ("error-invalid-permission.json", 400, ErrorCode.VALIDATION_ERROR),
    ],
)
def test_hostile_input_is_refused_before_momento(name, status, code):
    vend = FakeVend()

    got_status, _, body = resolve(load_event(name), vend)

    assert (got_status, body["error"]) == (status, code)
    assert vend.requests == []


def test_the_body_limit_is_configurable():
    event = load_event("function-url-post.json")

    status, _, body = resolve(event, FakeVend(), max_body_bytes=32)

    assert (status, body["error"]) == (413, ErrorCode.PAYLOAD_TOO_LARGE)


ALLOWED = ("https://app.example.com",)


def with_origin(name, origin):
    event = load_event(name)
    event["headers"]["origin"] = origin
    return event


def test_a_preflight_from_an_allowed_origin_is_answered():
    status, headers, _ = resolve_raw(load_event("cors-preflight.json"), cors_allowed_origins=ALLOWED)

    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "POST" in headers["Access-Control-Allow-Methods"]


def test_a_preflight_from_another_origin_gets_no_cors_headers():
    event = load_event("cors-preflight.json")
    event["headers"]["origin"] = "https://evil.example.net"

    _, headers, _ = resolve_raw(event, cors_allowed_origins=ALLOWED)

    assert "Access-Control-Allow-Origin" not in headers


def test_without_cors_configured_options_is_not_allowed():
    status, headers, _ = resolve_raw(load_event("cors-preflight.json"))

    assert status == 405
    assert "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize(
    ("name", "failure", "status"),
    [
        ("function-url-post.json", None, 200),
        ("error-not-json.json", None, 400),
        ("function-url-post.json", Throttled("slow down"), 429),
        ("function-url-post.json", ConfigurationError("gone"), 500),
        ("error-method-get.json", None, 405),
        ("error-method-trace.json", None, 405),
    ],
)
def test_cors_headers_are_on_success_and_error_responses_alike(name, failure, status):
    event = with_origin(name, "https://app.example.com")

    got_status, headers, _ = resolve(event, FakeVend(failure), cors_allowed_origins=ALLOWED)

    assert got_status == status
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_a_preflight_answer_lets_the_browser_send_json_a_jwt_and_sigv4_headers():
    status, headers, body = resolve_raw(load_event("cors-preflight.json"), cors_allowed_origins=ALLOWED)

    allowed = {name.strip().lower() for name in headers["Access-Control-Allow-Headers"].split(",")}
    assert status == 204
    assert body == ""
    assert {"content-type", "authorization", "x-amz-date", "x-amz-security-token"} <= allowed
    assert set(headers["Access-Control-Allow-Methods"].split(",")) == {"OPTIONS", "POST"}
    assert headers["Access-Control-Max-Age"] == "600"


def test_answers_vary_by_origin_so_a_shared_cache_keeps_origins_apart():
    for origin in ("https://app.example.com", "https://evil.example.net"):
        _, headers, _ = resolve(with_origin("function-url-post.json", origin), FakeVend(), cors_allowed_origins=ALLOWED)
        assert headers["Vary"] == "Origin"


def test_a_browser_may_read_retry_after_from_a_throttled_answer():
    event = with_origin("function-url-post.json", "https://app.example.com")

    status, headers, _ = resolve(event, FakeVend(Throttled("slow down")), cors_allowed_origins=ALLOWED)

    assert status == 429
    assert "Retry-After" in headers
    assert "retry-after" in headers["Access-Control-Expose-Headers"].lower()


def test_any_origin_is_answered_with_a_wildcard_not_an_echo():
    event = with_origin("function-url-post.json", "https://anyone.example.org")

    _, headers, _ = resolve(event, FakeVend(), cors_allowed_origins=("*",))

    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in headers


def test_a_rest_api_origin_sent_only_as_a_multi_value_header_is_read():
    event = load_event("rest-api-post-json.json")
    event["headers"] = {"Content-Type": "application/json"}
    event["multiValueHeaders"] = {"Origin": ["https://app.example.com"], "Content-Type": ["application/json"]}

    status, headers, _ = resolve(event, FakeVend(), cors_allowed_origins=ALLOWED)

    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def resolve_raw(event, **options):
    api = TokenApi(FakeVend(), Logger(service="test-api"), default_budget_seconds=7.0, **options)
    response = api.handle(event, FakeLambdaContext())
    return response["statusCode"], response_headers(response), response.get("body")


@pytest.mark.parametrize(
    ("body", "kind"),
    [({"cacheName": "a", "topicName": "b"}, "object"), ([1], "array"), (7, "number"), (True, "boolean")],
)
def test_a_body_pasted_as_json_instead_of_text_is_a_400_that_says_so(body, kind):
    event = load_event("error-body-pasted-as-object.json")
    event["body"] = body

    status, _, answer = resolve(event, FakeVend())

    assert (status, answer["error"]) == (400, ErrorCode.BAD_REQUEST)
    assert f"not a JSON {kind}" in answer["message"]
    assert answer["details"] == [{"field": "body", "message": "must be a string"}]


@pytest.mark.parametrize(
    ("name", "method", "status"),
    [
        ("error-method-trace.json", "TRACE", 405),
        ("function-url-post.json", "BREW", 405),
        ("function-url-post.json", "post\r\nX-Injected: 1", 405),
        ("function-url-post.json", "", 400),
        ("test-event-1.json", "TRACE", 405),
        ("test-event-1.json", "", 400),
    ],
)
def test_unknown_or_empty_methods_are_4xx(name, method, status):
    event = load_event(name)
    if event.get("version") == "2.0":
        event["requestContext"]["http"]["method"] = method
    else:
        event["httpMethod"] = method

    got, _, body = resolve(event, FakeVend())

    assert got == status
    assert "Injected" not in body["message"]


@pytest.mark.parametrize("path", ["/token\n", "/a\r\nb", "/%0A", "/\u2028", ""])
def test_any_path_reaches_the_one_route(path):
    event = load_event("http-api-decoded-newline-path.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path

    status, _, _ = resolve(event, FakeVend())

    assert status == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e["requestContext"].pop("http"), "requestContext.http"),
        (lambda e: e["requestContext"]["http"].update(method=None), "requestContext.http.method"),
        (lambda e: e.update(headers=["content-type"]), "headers"),
        (lambda e: e.update(headers={"content-type": 5}), "headers.content-type"),
        (lambda e: e.update(isBase64Encoded="yes"), "isBase64Encoded"),
        (lambda e: e.update(rawPath=7), "rawPath"),
        (lambda e: e.pop("rawPath"), "rawPath"),
    ],
)
def test_mistyped_event_fields_are_a_400_naming_them(change, field):
    event = load_event("function-url-post.json")
    change(event)

    status, _, body = resolve(event, FakeVend())

    assert (status, body["error"]) == (400, ErrorCode.BAD_REQUEST)
    assert field in {detail["field"] for detail in body["details"]}


def test_a_rest_event_without_its_path_is_a_400_naming_it():
    event = load_event("test-event-1.json")
    del event["path"]

    status, _, body = resolve(event, FakeVend())

    assert (status, body["error"]) == (400, ErrorCode.BAD_REQUEST)
    assert {detail["field"] for detail in body["details"]} == {"path"}


def test_powertools_dev_mode_never_prints_events_or_returns_tracebacks(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    event = load_event("http-api-jwt-authorizer.json")
    event["headers"]["authorization"] = "Bearer secret-bearer-value"

    status, _, body = resolve(event, FakeVend(RuntimeError("boom")))

    assert (status, body["error"]) == (500, ErrorCode.INTERNAL_ERROR)
    assert "Traceback" not in json.dumps(body)
    assert "secret-bearer-value" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (DependencyUnavailable("Momento is unavailable"), ErrorCode.MOMENTO_UNAVAILABLE),
        (DeadlineExceeded("Momento did not answer in time"), ErrorCode.MOMENTO_TIMEOUT),
        (ConfigurationError("secret 'x' is gone"), ErrorCode.CONFIGURATION_ERROR),
    ],
)
def test_every_5xx_is_logged_with_its_cause(failure, code, caplog):
    resolve(load_event("function-url-post.json"), FakeVend(failure))

    logged = [r for r in caplog.records if r.getMessage() == "token request failed"]
    assert len(logged) == 1
    assert (logged[0].error, logged[0].cause) == (code, failure.message)


def test_permanent_momento_refusals_do_not_invite_a_retry():
    status, headers, body = resolve(load_event("function-url-post.json"), FakeVend(MomentoRefused("NOT_FOUND")))

    assert (status, body["error"]) == (502, ErrorCode.MOMENTO_REFUSED)
    assert "Retry-After" not in headers


def test_a_forged_identity_is_refused_where_the_front_door_issues_none():
    vend = FakeVend()

    status, _, body = resolve(load_event("http-api-jwt-authorizer.json"), vend, identity_source=IdentitySource.NONE)

    assert (status, body["error"]) == (403, ErrorCode.FORBIDDEN)
    assert vend.requests == []


def test_an_identity_from_another_api_is_refused():
    status, _, _ = resolve(
        load_event("http-api-jwt-authorizer.json"), FakeVend(), identity_source=IdentitySource.JWT, api_id="zzzzzzzzzz"
    )

    assert status == 403


def with_json_body(document):
    event = load_event("function-url-post.json")
    event["body"], event["isBase64Encoded"] = json.dumps(document), False
    return event


def test_the_permissions_form_becomes_its_grants_in_order_without_repeats():
    vend = FakeVend()
    entries = [
        {"role": "publishsubscribe", "cache": "chat", "topic": "room-1"},
        {"role": "readonly", "cache": "chat", "item": {"keyPrefix": "room-1:"}},
        {"role": "publishsubscribe", "cache": "chat", "topic": "room-1"},
        {"role": "readwrite", "cache": "profiles", "item": {"key": "user-42"}},
        {"role": "readwrite", "cache": "scratch"},
    ]

    status, _, body = resolve(with_json_body({"permissions": entries}), vend)

    assert status == 200 and set(body) == {"auth_token", "expires_at"}
    assert vend.requests == [
        (
            TopicGrant("chat", "room-1", TopicRole.PUBLISH_SUBSCRIBE),
            CacheGrant("chat", CacheRole.READ_ONLY, key_prefix="room-1:"),
            CacheGrant("profiles", CacheRole.READ_WRITE, key="user-42"),
            CacheGrant("scratch", CacheRole.READ_WRITE),
        )
    ]


@pytest.mark.parametrize(
    ("entries", "fields"),
    [
        ([], {"permissions"}),
        ([{"role": "publishsubscribe", "cache": "chat", "topic": "t"}] * 21, {"permissions"}),
        ([{"role": "publishsubscribe", "cache": "chat"}], {"permissions.0.topic"}),
        ([{"role": "owner", "cache": "chat", "topic": "t"}], {"permissions.0.role"}),
        ([{"cache": "chat", "topic": "t"}], {"permissions.0.role"}),
        ([{"role": "readonly", "cache": "chat", "topic": "t"}], {"permissions.0.topic"}),
        ([{"role": "readonly", "cache": "c", "item": {"key": "a", "keyPrefix": "b"}}], {"permissions.0.item"}),
        ([{"role": "readonly", "cache": "c", "item": {}}], {"permissions.0.item"}),
        ([{"role": "readonly", "cache": "c\u200b", "item": {"key": "k"}}], {"permissions.0.cache"}),
        (
            [{"role": "readonly", "cache": "c"}, {"role": "readonly", "cache": "c", "item": {"key": 7}}],
            {"permissions.1.item.key"},
        ),
        ("chat", {"permissions"}),
    ],
)
def test_every_invalid_entry_is_a_400_naming_the_entry_and_field(entries, fields):
    vend = FakeVend()

    status, _, body = resolve(with_json_body({"permissions": entries}), vend)

    assert (status, body["error"]) == (400, ErrorCode.VALIDATION_ERROR)
    assert {detail["field"] for detail in body["details"]} == fields
    assert "owner" not in json.dumps(body)  # the caller's values are not echoed
    assert vend.requests == []


def test_the_two_forms_in_one_body_are_refused():
    body = {"cacheName": "c", "topicName": "t", "permissions": [{"role": "readonly", "cache": "c"}]}

    status, _, answer = resolve(with_json_body(body), FakeVend())

    assert (status, answer["error"]) == (400, ErrorCode.BAD_REQUEST)
