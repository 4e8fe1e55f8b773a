"""Policy, caller identity and token reuse through the real handler, moto and the local Momento service."""

from __future__ import annotations

import json

from momento_wire_types.generated import permissionmessages_pb2 as permissions_pb

from tests.events import FakeLambdaContext, load_event
from token_vending_machine.names import Env, ErrorCode

GENERATE = "GenerateDisposableToken"


def invoke(handler, event):
    response = handler(load_event(event) if isinstance(event, str) else event, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


def with_body(name, body):
    event = load_event(name)
    event["body"], event["isBase64Encoded"] = json.dumps(body), False
    return event


def test_policy_refusals_are_403_with_a_reason_and_cost_no_momento_call(make_handler, secret, momento_local):
    handler = make_handler(**{Env.ALLOWED_CACHES: "chat", Env.ALLOWED_TOPICS: "room-*"})

    status, body = invoke(handler, "function-url-post.json")

    assert (status, body["error"]) == (403, ErrorCode.FORBIDDEN)
    assert "SampleCache" in body["message"]
    assert momento_local.call_count(GENERATE) == 0


def test_a_subscribe_only_request_gets_a_subscribe_only_token(make_handler, secret, momento_local):
    event = with_body("function-url-post.json", {"cacheName": "chat", "topicName": "room-1", "permission": "subscribe"})

    status, body = invoke(make_handler(), event)

    assert status == 200
    permissions = momento_local.decode_token(body["auth_token"]).permissions.explicit.permissions
    assert [p.topic_permissions.role for p in permissions] == [permissions_pb.TopicReadOnly]


def test_a_permission_policy_forbids_is_refused(make_handler, secret):
    handler = make_handler(**{Env.ALLOWED_PERMISSIONS: "subscribe"})

    status, body = invoke(handler, "function-url-post.json")

    assert (status, body["error"]) == (403, ErrorCode.FORBIDDEN)


def test_the_verified_caller_becomes_the_token_id(make_handler, secret, momento_local):
    status, body = invoke(make_handler(**{Env.TOPICS_PER_IDENTITY: "true"}), "http-api-jwt-authorizer.json")

    assert status == 200
    assert momento_local.decode_token(body["auth_token"]).token_id == "8d7f1c2e-alice"


def test_a_header_claiming_an_identity_is_ignored(make_handler, secret, momento_local):
    _, body = invoke(make_handler(), "function-url-spoofed-identity-header.json")

    assert momento_local.decode_token(body["auth_token"]).token_id != "admin"


def test_per_identity_topics_refuse_someone_elses_topic(make_handler, secret):
    event = load_event("http-api-jwt-authorizer.json")
    event["body"], event["isBase64Encoded"] = '{"cacheName": "SampleCache", "topicName": "bob:inbox"}', False

    status, body = invoke(make_handler(**{Env.TOPICS_PER_IDENTITY: "true"}), event)

    assert (status, body["error"]) == (403, ErrorCode.FORBIDDEN)


def test_a_burst_of_identical_requests_costs_one_momento_call(make_handler, secret, momento_local):
    handler = make_handler()

    bodies = [invoke(handler, "function-url-post.json")[1] for _ in range(1000)]

    assert momento_local.call_count(GENERATE) == 1
    assert {body["auth_token"] for body in bodies} == {bodies[0]["auth_token"]}
    assert bodies[-1]["expires_at"] == momento_local.decode_token(bodies[0]["auth_token"]).expires_at


def test_different_callers_and_permissions_get_their_own_tokens(make_handler, secret, momento_local):
    handler = make_handler()

    for event in ["function-url-post.json", "function-url-iam-auth.json", "function-url-post-publish-only.json"]:
        assert invoke(handler, event)[0] == 200

    assert momento_local.call_count(GENERATE) == 3


def test_reuse_can_be_switched_off(make_handler, secret, momento_local):
    handler = make_handler(**{Env.TOKEN_REUSE_MIN_REMAINING: "1"})

    invoke(handler, "function-url-post.json")
    invoke(handler, "function-url-post.json")

    assert momento_local.call_count(GENERATE) == 2
