"""Issue-10 findings, reproduced through the real handler, moto and the local Momento service:
per-user identities, token ids Momento's SDKs accept, rotation, outages, time budget and rate limits."""

from __future__ import annotations

import hashlib
import json
import random
import threading

import grpc

from tests.events import FakeLambdaContext, load_event, response_headers
from tests.integration.conftest import SECRET_NAME
from token_vending_machine.names import Env, ErrorCode
from token_vending_machine.settings import load_settings
from token_vending_machine.wiring import build_vendor, create_handler

GENERATE = "GenerateDisposableToken"


def invoke(handler, event, remaining_ms=10_000):
    response = handler(
        load_event(event) if isinstance(event, str) else event, FakeLambdaContext(remaining_ms=remaining_ms)
    )
    return response["statusCode"], response_headers(response), json.loads(response["body"])


def fingerprint(token: str) -> str:
    """Compare tokens without printing them when an assertion fails."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def cognito_user(identity_id: str) -> dict:
    event = load_event("function-url-iam-cognito.json")
    event["requestContext"]["authorizer"]["iam"]["cognitoIdentity"]["identityId"] = identity_id
    return event


def test_two_cognito_users_behind_one_role_get_their_own_tokens(make_handler, secret, momento_local):
    handler = make_handler()

    _, _, alice = invoke(handler, cognito_user("us-east-1:alice"))
    _, _, bob = invoke(handler, cognito_user("us-east-1:bob"))

    alices, bobs = fingerprint(alice["auth_token"]), fingerprint(bob["auth_token"])
    assert alices != bobs
    assert momento_local.decode_token(alice["auth_token"]).token_id == "us-east-1:alice"
    assert momento_local.decode_token(bob["auth_token"]).token_id == "us-east-1:bob"


def test_per_identity_topics_of_cognito_users_do_not_overlap(make_handler, secret):
    handler = make_handler(**{Env.TOPICS_PER_IDENTITY: "true"})
    event = cognito_user("us-east-1")  # an identity that is a prefix of another's, up to the separator
    event["body"] = json.dumps({"cacheName": "chat", "topicName": "us-east-1%3Aabc:inbox"})

    status, _, _ = invoke(handler, event)

    assert status == 403


def test_long_identities_reach_momento_as_token_ids_of_at_most_64_characters(make_handler, secret, momento_local):
    event = load_event("http-api-jwt-authorizer.json")
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = "auth0|" + "x" * 120

    _, _, body = invoke(make_handler(), event)

    token_id = momento_local.decode_token(body["auth_token"]).token_id
    assert len(token_id) <= 64
    assert token_id.startswith("auth0|")


def test_a_forged_jwt_context_is_refused_where_the_front_door_verifies_nobody(make_handler, secret, momento_local):
    handler = make_handler(**{Env.IDENTITY_SOURCE: "none"})

    status, _, body = invoke(handler, "http-api-jwt-authorizer.json")

    assert (status, body["error"]) == (403, ErrorCode.FORBIDDEN)
    assert momento_local.call_count(GENERATE) == 0


def test_an_identity_from_another_api_is_refused(make_handler, secret):
    handler = make_handler(**{Env.IDENTITY_SOURCE: "jwt", Env.FRONT_DOOR_API_ID: "zzzzzzzzzz"})

    status, _, _ = invoke(handler, "http-api-jwt-authorizer.json")

    assert status == 403


def test_after_a_rotation_tokens_of_the_old_key_are_not_handed_out_again(
    make_handler, secret, secrets_client, momento_local
):
    handler = make_handler(**{Env.SECRET_MAX_AGE_SECONDS: "0"})
    invoke(handler, "test-event-1.json")
    rotated = momento_local.create_api_key(valid_for_seconds=86_400)  # differs from the first key
    secrets_client.put_secret_value(SecretId=SECRET_NAME, SecretString=rotated)

    status, _, _ = invoke(handler, "test-event-1.json")

    assert status == 200
    assert momento_local.call_count(GENERATE) == 2  # minted anew with the rotated key, not reused


def test_the_rate_limit_answers_429_for_new_tokens_but_reuse_is_free(make_handler, secret, momento_local):
    handler = make_handler(**{Env.MOMENTO_CALL_RATE_LIMIT: "1"})
    other = load_event("test-event-1.json")
    other["body"] = json.dumps({"cacheName": "SampleCache", "topicName": "another-topic"})
    other["isBase64Encoded"] = False

    first, _, _ = invoke(handler, "test-event-1.json")
    limited, headers, body = invoke(handler, other)
    reused, _, _ = invoke(handler, "test-event-1.json")

    assert (first, limited, reused) == (200, 429, 200)
    assert body["error"] == ErrorCode.THROTTLED
    assert headers["Retry-After"] == "1"
    assert momento_local.call_count(GENERATE) == 1


class HangingSecretsManager:
    """Secrets Manager in an outage: calls hang until the test lets them go."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def get_secret_value(self, SecretId: str) -> dict:
        self.release.wait(timeout=10)
        raise AssertionError("the test released the hanging call")


def test_a_hanging_secrets_manager_gets_a_logged_json_503_within_the_invocation(momento_local, caplog):
    settings = load_settings({Env.SECRET_NAME: SECRET_NAME, Env.MOMENTO_LOCAL_ENDPOINT: momento_local.endpoint})
    hanging = HangingSecretsManager()
    handler = create_handler(settings, secrets_client=hanging)

    status, headers, body = invoke(handler, "test-event-1.json", remaining_ms=400)

    assert not hanging.release.is_set()  # answered while Secrets Manager still hung
    hanging.release.set()
    assert (status, body["error"]) == (503, ErrorCode.SECRET_UNAVAILABLE)
    assert headers["Retry-After"] == "1"
    assert any(record.getMessage() == "token request failed" for record in caplog.records)


def test_a_permanent_momento_error_is_a_502_without_retry_after(make_handler, secret, momento_local):
    momento_local.inject_fault(GENERATE, grpc.StatusCode.FAILED_PRECONDITION)

    status, headers, body = invoke(make_handler(), "test-event-1.json")

    assert (status, body["error"]) == (502, ErrorCode.MOMENTO_REFUSED)
    assert "Retry-After" not in headers
    assert momento_local.call_count(GENERATE) == 1  # not retried either


def test_a_snapstart_restore_reseeds_the_retry_jitter(momento_local, secrets_client):
    settings = load_settings({Env.SECRET_NAME: SECRET_NAME, Env.MOMENTO_LOCAL_ENDPOINT: momento_local.endpoint})
    vendor = build_vendor(settings, secrets_client=secrets_client)
    random.seed(7)
    snapshot_draw = random.random()
    random.seed(7)  # every restored copy starts from the snapshot's state

    vendor.after_restore()

    assert random.random() != snapshot_draw
