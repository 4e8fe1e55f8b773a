"""The vending machine end to end: HTTP POST to the local stack, then the vended token used with the real
momento TopicClient against the local Momento service, which enforces the token's scope."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator

import httpx
import pytest
from momento import CredentialProvider, TopicClientAsync
from momento.errors import MomentoErrorCode
from momento.responses import TopicPublish

from local_stack import EventKind, LocalStack, LocalStackError, RealMomento
from tests.e2e.helpers import CACHE, TOPIC, TOPICS, publish, subscribe_error, subscribe_then_publish, vend
from token_vending_machine.names import Env


@pytest.fixture(scope="module")
def rest_stack() -> Iterator[LocalStack]:
    with LocalStack(port=0, event_kind=EventKind.REST, quiet=True) as running:
        yield running


@pytest.fixture(scope="module")
def short_lived_stack() -> Iterator[LocalStack]:
    with LocalStack(port=0, token_expiry_seconds=1, quiet=True) as running:
        yield running


def test_a_vended_token_is_scoped_to_the_requested_cache_and_topic(stack: LocalStack, http: httpx.Client) -> None:
    auth_token = vend(http, stack.url)

    assert stack.momento_local is not None
    decoded = stack.momento_local.decode_token(auth_token)
    [permission] = decoded.permissions.explicit.permissions
    assert permission.topic_permissions.cache_selector.cache_name == CACHE
    assert permission.topic_permissions.topic_selector.topic_name == TOPIC


def test_the_granted_topic_delivers_a_published_message(stack: LocalStack, http: httpx.Client) -> None:
    auth_token = vend(http, stack.url)

    assert asyncio.run(subscribe_then_publish(auth_token, CACHE, TOPIC, "hello over the local stack")) == (
        "hello over the local stack"
    )


@pytest.mark.parametrize(
    ("cache", "topic"), [(CACHE, "another-topic"), ("AnotherCache", TOPIC)], ids=["other-topic", "other-cache"]
)
def test_another_topic_or_cache_is_denied(stack: LocalStack, http: httpx.Client, cache: str, topic: str) -> None:
    auth_token = vend(http, stack.url)

    published = asyncio.run(publish(auth_token, cache, topic, "not allowed"))
    subscribed = asyncio.run(subscribe_error(auth_token, cache, topic))

    assert isinstance(published, TopicPublish.Error), published
    assert published.error_code == MomentoErrorCode.PERMISSION_ERROR
    assert subscribed.error_code == MomentoErrorCode.PERMISSION_ERROR


def test_a_publish_only_token_cannot_subscribe(stack: LocalStack, http: httpx.Client) -> None:
    auth_token = vend(http, stack.url, permission="publish")

    assert isinstance(asyncio.run(publish(auth_token, CACHE, TOPIC, "fire and forget")), TopicPublish.Success)
    assert asyncio.run(subscribe_error(auth_token, CACHE, TOPIC)).error_code == MomentoErrorCode.PERMISSION_ERROR


def test_an_expired_token_is_refused(short_lived_stack: LocalStack, http: httpx.Client) -> None:
    response = http.post(short_lived_stack.url, json={"cacheName": CACHE, "topicName": TOPIC})
    assert response.status_code == 200, response.text
    assert response.json()["expires_at"] <= time.time() + 1

    time.sleep(2.1)
    published = asyncio.run(publish(response.json()["auth_token"], CACHE, TOPIC, "too late"))

    assert isinstance(published, TopicPublish.Error), published
    assert published.error_code == MomentoErrorCode.AUTHENTICATION_ERROR


def test_rest_api_events_vend_working_tokens(rest_stack: LocalStack, http: httpx.Client) -> None:
    auth_token = vend(http, rest_stack.url + "token")

    assert asyncio.run(subscribe_then_publish(auth_token, CACHE, TOPIC, "via REST")) == "via REST"


@pytest.mark.parametrize("kind", ["function-url", "rest"])
@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json", "bad_request"),
        (b'{"cacheName": "SampleCache"}', "validation_error"),
        (b'{"cacheName": "", "topicName": "t"}', "validation_error"),
        (b"", "bad_request"),
    ],
    ids=["not-json", "missing-field", "empty-name", "empty"],
)
def test_bad_input_gets_a_json_400(
    stack: LocalStack, rest_stack: LocalStack, http: httpx.Client, kind: str, body: bytes, error: str
) -> None:
    url = stack.url if kind == "function-url" else rest_stack.url

    response = http.post(url, content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == error


def test_get_is_not_allowed(stack: LocalStack, rest_stack: LocalStack, http: httpx.Client) -> None:
    for url in (stack.url, rest_stack.url):
        response = http.get(url)

        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert response.json()["error"] == "method_not_allowed"


def test_a_body_over_one_mebibyte_is_refused_by_the_front_door(stack: LocalStack, http: httpx.Client) -> None:
    response = http.post(stack.url, content=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_a_non_json_content_type_reaches_the_function_base64_encoded(stack: LocalStack, http: httpx.Client) -> None:
    """A Function URL base64-encodes an octet-stream body; the function decodes it, then refuses the type."""
    response = http.post(stack.url, content=b"\xff\x00", headers={"Content-Type": "application/octet-stream"})

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


def test_a_taken_port_is_a_clear_error_and_leaves_nothing_running(stack: LocalStack) -> None:
    with pytest.raises(LocalStackError, match=f"cannot listen on 127.0.0.1:{stack.port}"):
        LocalStack(port=stack.port, quiet=True).start()


@pytest.mark.momento
@pytest.mark.skipif(not os.environ.get("MOMENTO_API_KEY"), reason="needs a real MOMENTO_API_KEY")
def test_real_momento_mode_vends_tokens_that_real_momento_accepts(http: httpx.Client) -> None:
    real_momento = RealMomento.from_environ(os.environ)

    with LocalStack(port=0, real_momento=real_momento, quiet=True) as real_stack:
        assert real_stack.momento_local is None
        auth_token = vend(http, real_stack.url)

    async def publish_for_real() -> TopicPublish.Response:
        provider = CredentialProvider.from_disposable_token(auth_token)
        async with TopicClientAsync(TOPICS, provider) as client:
            return await asyncio.wait_for(client.publish(CACHE, TOPIC, "hello, real Momento"), 10)

    published = asyncio.run(publish_for_real())
    # The cache may not exist in the account; what matters is that the token itself is accepted.
    assert not (
        isinstance(published, TopicPublish.Error) and published.error_code == MomentoErrorCode.AUTHENTICATION_ERROR
    ), published


def test_the_local_momento_publishes_the_caches_the_policy_names():
    policy = {
        "rules": [
            {"cache": "chat", "topic": "room-*", "roles": ["publishsubscribe"]},
            {"cache": "docs", "key": "{identity}:*", "roles": ["readwrite"]},
            {"cache": "metrics-*", "key": "*", "roles": ["readonly"]},
        ]
    }
    with LocalStack(port=0, quiet=True, settings={Env.POLICY: json.dumps(policy)}) as stack:
        assert stack.momento_local is not None
        assert stack.momento_local.caches == {"chat", "docs"}


def test_without_a_policy_the_local_momento_publishes_sample_cache(stack):
    assert stack.momento_local.caches == {"SampleCache"}
