"""Several permissions in one token, through the real handler, moto and the local Momento service, then used
with the real SDK's cache and topic clients: each grant works, and nothing beyond it does."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from momento import CacheClient, Configurations, TopicClientAsync, TopicConfigurations
from momento.errors import MomentoErrorCode
from momento.responses import TopicSubscribe

from momento_local import credential_provider_from_auth_token
from tests.events import FakeLambdaContext, load_event
from token_vending_machine.names import Env, ErrorCode

GENERATE = "GenerateDisposableToken"
OK, DENIED = "ok", MomentoErrorCode.PERMISSION_ERROR
CHAT_POLICY = {
    "rules": [
        {"cache": "chat", "topic": "room-*", "roles": ["publishsubscribe"]},
        {"cache": "chat", "topic": "lobby", "roles": ["subscribeonly"]},
        {"cache": "chat", "key": "room-*", "roles": ["readwrite"]},
        {"cache": "profiles", "key": "{identity}", "roles": ["readwrite"]},
    ]
}


@pytest.fixture(autouse=True)
def caches(momento_local):
    for name in ("chat", "profiles"):
        momento_local.add_cache(name)


@pytest.fixture
def handler(make_handler):
    return make_handler(**{Env.POLICY: json.dumps(CHAT_POLICY)})


def vend(handler, permissions, event="function-url-post.json"):
    request = load_event(event)
    request["body"], request["isBase64Encoded"] = json.dumps({"permissions": permissions}), False
    response = handler(request, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


def outcome(response) -> object:
    return getattr(response, "error_code", OK)


def cache_outcomes(auth_token: str, key: str) -> tuple[object, object]:
    """(get, set) on cache "chat" with the vended token."""
    with CacheClient(
        Configurations.Laptop.latest(), credential_provider_from_auth_token(auth_token), timedelta(minutes=1)
    ) as cache:
        return outcome(cache.get("chat", key)), outcome(cache.set("chat", key, "v"))


def topic_outcomes(auth_token: str, topic: str) -> tuple[object, object]:
    """(publish, subscribe) on a topic of cache "chat" with the vended token."""

    async def scenario():
        config = TopicConfigurations.Default.latest().with_client_timeout(timedelta(seconds=30))
        async with TopicClientAsync(config, credential_provider_from_auth_token(auth_token)) as topics:
            published = await topics.publish("chat", topic, "x")
            subscription = await topics.subscribe("chat", topic)
            if isinstance(subscription, TopicSubscribe.SubscriptionAsync):
                subscription.unsubscribe()
        return outcome(published), outcome(subscription)

    return asyncio.run(scenario())


def test_a_read_only_prefix_token_reads_its_prefix_and_nothing_else(handler, secret):
    status, body = vend(handler, [{"role": "readonly", "cache": "chat", "item": {"keyPrefix": "room-1:"}}])

    assert status == 200
    assert cache_outcomes(body["auth_token"], "room-1:history") == (OK, DENIED)
    assert cache_outcomes(body["auth_token"], "room-2:history") == (DENIED, DENIED)


def test_topics_and_a_key_prefix_in_one_token_behave_exactly_so(handler, secret, momento_local):
    """The combination the SDK cannot say (it would grant the whole cache): the wire path."""
    status, body = vend(
        handler,
        [
            {"role": "publishsubscribe", "cache": "chat", "topic": "room-1"},
            {"role": "subscribeonly", "cache": "chat", "topic": "lobby"},
            {"role": "readonly", "cache": "chat", "item": {"keyPrefix": "room-1:"}},
        ],
    )

    assert status == 200
    token = body["auth_token"]
    assert topic_outcomes(token, "room-1") == (OK, OK)
    assert topic_outcomes(token, "lobby") == (DENIED, OK)
    assert topic_outcomes(token, "room-2") == (DENIED, DENIED)
    assert cache_outcomes(token, "room-1:history") == (OK, DENIED)
    assert cache_outcomes(token, "room-2:history") == (DENIED, DENIED)
    assert momento_local.call_count(GENERATE) == 1


def test_per_user_keys_follow_the_verified_caller(handler, secret):
    status, _ = vend(
        handler,
        [{"role": "readwrite", "cache": "profiles", "item": {"key": "8d7f1c2e-alice"}}],
        "http-api-jwt-authorizer.json",
    )
    refused, refusal = vend(
        handler,
        [{"role": "readwrite", "cache": "profiles", "item": {"key": "someone-else"}}],
        "http-api-jwt-authorizer.json",
    )

    assert status == 200
    assert (refused, refusal["error"]) == (403, ErrorCode.FORBIDDEN)
    assert "key 'someone-else'" in refusal["message"]


def test_entries_outside_the_policy_are_refused_before_momento(handler, secret, momento_local):
    status, body = vend(
        handler,
        [
            {"role": "publishsubscribe", "cache": "chat", "topic": "room-1"},
            {"role": "readwrite", "cache": "chat"},
        ],
    )

    assert (status, body["error"]) == (403, ErrorCode.FORBIDDEN)
    assert body["message"].startswith("permissions[1]:")
    assert momento_local.call_count(GENERATE) == 0


def test_the_same_permissions_in_another_order_reuse_the_token(handler, secret, momento_local):
    first = [
        {"role": "publishsubscribe", "cache": "chat", "topic": "room-1"},
        {"role": "readonly", "cache": "chat", "item": {"keyPrefix": "room-1:"}},
    ]

    _, one = vend(handler, first)
    _, two = vend(handler, list(reversed(first)))

    assert momento_local.call_count(GENERATE) == 1
    same = one["auth_token"] == two["auth_token"]
    assert same
