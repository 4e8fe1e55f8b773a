"""Property-based: arbitrary events and bodies at the real handler. Always a JSON answer, never a 5xx,
never an unhandled exception, and never a token that policy forbids."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from momento_wire_types.generated import permissionmessages_pb2 as permissions_pb

from tests.events import FakeLambdaContext, load_event
from token_vending_machine.names import Env

POLICY = {Env.ALLOWED_CACHES: "chat", Env.ALLOWED_TOPICS: "room-*", Env.ALLOWED_PERMISSIONS: "subscribe,publish"}
ALLOWED_ROLES = {permissions_pb.TopicReadOnly, permissions_pb.TopicWriteOnly}
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
names = st.sampled_from(["chat", "lobby", "room-1", "room-*", "", " ", "room-\n", "admin"]) | st.text(max_size=12)
token_requests = st.fixed_dictionaries(
    {"cacheName": names, "topicName": names},
    optional={"permission": st.sampled_from(["publish_subscribe", "subscribe", "publish", "admin", ""]) | json_values},
)
bodies = st.one_of(
    token_requests.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda raw: base64.b64encode(raw).decode()),
)


@st.composite
def http_events(draw: Any) -> dict[str, Any]:
    event = load_event(draw(st.sampled_from(["function-url-post.json", "test-event-1.json"])))
    body = draw(st.none() | bodies)
    encode = draw(st.booleans())
    event["body"] = base64.b64encode(body.encode()).decode() if encode and body is not None else body
    event["isBase64Encoded"] = draw(st.booleans()) if body is None else encode
    method = draw(st.sampled_from(["POST", "POST", "GET", "OPTIONS", "DELETE", "PATCH"]))
    if event.get("version") == "2.0":
        event["requestContext"]["http"]["method"] = method
    else:
        event["httpMethod"] = method
    event["headers"] = draw(
        st.dictionaries(
            st.sampled_from(["content-type", "Content-Type", "origin", "x-user-id", "authorization"]),
            st.sampled_from(["application/json", "text/plain", "", "application/problem+json"]) | st.text(max_size=20),
            max_size=3,
        )
    )
    return event


TEMPLATES = [
    "function-url-post.json",
    "test-event-1.json",
    "http-api-jwt-authorizer.json",
    "function-url-iam-cognito.json",
    "rest-api-iam-cognito.json",
]
# Where a whole event may be odd: every field the function or Powertools reads, at any depth.
FIELD_PATHS = [
    ("body",),
    ("isBase64Encoded",),
    ("headers",),
    ("multiValueHeaders",),
    ("httpMethod",),
    ("path",),
    ("rawPath",),
    ("version",),
    ("requestContext",),
    ("requestContext", "http"),
    ("requestContext", "http", "method"),
    ("requestContext", "http", "path"),
    ("requestContext", "authorizer"),
    ("requestContext", "authorizer", "jwt", "claims", "sub"),
    ("requestContext", "authorizer", "iam"),
    ("requestContext", "authorizer", "iam", "cognitoIdentity"),
    ("requestContext", "identity"),
    ("requestContext", "identity", "userArn"),
    ("requestContext", "apiId"),
    ("queryStringParameters",),
    ("cookies",),
]
methods = st.sampled_from(["POST", "post", "TRACE", "", " ", "CONNECT", "OPTIONS", "GET", "P\u00d6ST"]) | st.text(
    max_size=12
)
paths = st.sampled_from(["/", "/token\n", "/%0A", "", "//", "/\u2028", "/a/../b"]) | st.text(max_size=16)
MISSING = object()


def _set(event: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    *parents, last = path
    for part in parents:
        child = event.get(part)
        if not isinstance(child, dict):
            return
        event = child
    if value is MISSING:
        event.pop(last, None)
    else:
        event[last] = value


@st.composite
def whole_events(draw: Any) -> dict[str, Any]:
    """A real event with its method, path and body replaced, and any of its fields missing or mistyped."""
    event = load_event(draw(st.sampled_from(TEMPLATES)))
    version_2 = event.get("version") == "2.0"
    _set(event, ("requestContext", "http", "method") if version_2 else ("httpMethod",), draw(methods))
    _set(event, ("rawPath",) if version_2 else ("path",), draw(paths))
    event["body"] = draw(st.none() | bodies | json_values)
    event["isBase64Encoded"] = draw(st.booleans())
    for path in draw(st.lists(st.sampled_from(FIELD_PATHS), max_size=4, unique=True)):
        _set(event, path, draw(st.just(MISSING) | json_values))
    return event


def check_response(response: dict[str, Any], momento_local: Any) -> None:
    assert response["statusCode"] < 500
    body = json.loads(response["body"])
    if response["statusCode"] == 200:
        permissions = momento_local.decode_token(body["auth_token"]).permissions.explicit.permissions
        for permission in permissions:
            assert permission.topic_permissions.cache_selector.cache_name == "chat"
            assert permission.topic_permissions.topic_selector.topic_name.startswith("room-")
            assert permission.topic_permissions.role in ALLOWED_ROLES
    else:
        assert body["error"] and body["message"]


@PROPERTY_SETTINGS
@given(event=http_events())
def test_arbitrary_http_events_get_json_4xx_or_an_allowed_token(make_handler, secret, momento_local, event):
    check_response(make_handler(**POLICY)(event, FakeLambdaContext()), momento_local)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=whole_events())
def test_whole_events_of_any_shape_get_a_json_answer_below_500(make_handler, secret, momento_local, event):
    response = make_handler(**POLICY)(event, FakeLambdaContext())

    assert isinstance(response, dict)
    check_response(response, momento_local)


@PROPERTY_SETTINGS
@given(event=json_values)
def test_arbitrary_non_http_events_get_a_json_400(make_handler, secret, momento_local, event):
    response = make_handler(**POLICY)(event, FakeLambdaContext())

    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"] == "bad_request"


@PROPERTY_SETTINGS
@given(
    context=st.fixed_dictionaries(
        {"http": st.dictionaries(st.text(max_size=8), json_values, max_size=3)},
        optional={"authorizer": json_values},
    ),
    version=st.sampled_from(["2.0", "1.0", None]),
)
def test_malformed_request_contexts_get_a_json_4xx(make_handler, secret, momento_local, context, version):
    event = {"version": version, "requestContext": context, "body": '{"cacheName": "chat", "topicName": "room-1"}'}

    check_response(make_handler(**POLICY)(event, FakeLambdaContext()), momento_local)
