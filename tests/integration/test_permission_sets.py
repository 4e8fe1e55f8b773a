"""Several permissions in one token, through the real handler, moto and the local Momento service, then used
with the real SDK's cache and topic clients: each grant works, and nothing beyond it does."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from momento import CacheClient, Configurations, TopicClientAsync, TopicConfigurations
from momento.errors import MomentoErrorCode
from momento.responses import TopicSubscribe
from momento_wire_types import permissionmessages_pb2 as permissions_pb

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


WIRE_TOPIC_ROLES = {
    "publishsubscribe": "TopicReadWrite",
    "subscribeonly": "TopicReadOnly",
    "publishonly": "TopicWriteOnly",
}
WIRE_CACHE_ROLES = {"readwrite": "CacheReadWrite", "readonly": "CacheReadOnly", "writeonly": "CacheWriteOnly"}
rooms = st.sampled_from(["room-1", "room-2", "room-x"])
allowed_entries = st.one_of(
    st.builds(
        lambda role, topic: {"role": role, "cache": "chat", "topic": topic},
        st.sampled_from(list(WIRE_TOPIC_ROLES)),
        rooms,
    ),
    st.builds(
        lambda role, item: {"role": role, "cache": "chat", "item": item},
        st.sampled_from(list(WIRE_CACHE_ROLES)),
        st.one_of(rooms.map(lambda r: {"keyPrefix": r + ":"}), rooms.map(lambda r: {"key": r + ":history"})),
    ),
)
refused_entries = st.sampled_from(
    [
        {"role": "publishsubscribe", "cache": "chat", "topic": "lobby"},  # lobby is subscribe-only
        {"role": "readwrite", "cache": "chat"},  # the whole cache: rules grant room-* keys only
        {"role": "readonly", "cache": "chat", "item": {"keyPrefix": "room"}},  # wider than room-*
        {"role": "publishsubscribe", "cache": "other", "topic": "room-1"},
        {"role": "readwrite", "cache": "profiles", "item": {"key": "someone"}},  # anonymous: no {identity}
    ]
)


def wire_entries(momento_local, auth_token: str) -> list[dict]:
    """The permissions the local service received and signed into the token, in the request's terms."""
    entries = []
    for permission in momento_local.decode_token(auth_token).permissions.explicit.permissions:
        if permission.WhichOneof("kind") == "topic_permissions":
            topic = permission.topic_permissions
            role = permissions_pb.TopicRole.Name(topic.role)
            entries.append(
                {"role": role, "cache": topic.cache_selector.cache_name, "topic": topic.topic_selector.topic_name}
            )
            continue
        cache = permission.cache_permissions
        entry = {"role": permissions_pb.CacheRole.Name(cache.role), "cache": cache.cache_selector.cache_name}
        if cache.WhichOneof("cache_item") == "item_selector":
            kind = cache.item_selector.WhichOneof("kind")
            entry["item"] = {"key" if kind == "key" else "keyPrefix": getattr(cache.item_selector, kind).decode()}
        entries.append(entry)
    return entries


def in_wire_terms(entry: dict) -> dict:
    roles = WIRE_TOPIC_ROLES if "topic" in entry else WIRE_CACHE_ROLES
    return {**entry, "role": roles[entry["role"]]}


@pytest.fixture
def minting_handler(make_handler):
    """Reuse off: a permutation of an earlier list would otherwise get the earlier token, in its order."""
    return make_handler(**{Env.POLICY: json.dumps(CHAT_POLICY), Env.TOKEN_REUSE_MIN_REMAINING: "1"})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(allowed_entries, min_size=1, max_size=20, unique_by=lambda e: json.dumps(e, sort_keys=True)))
def test_permission_lists_within_policy_reach_momento_exactly(minting_handler, secret, momento_local, entries):
    status, body = vend(minting_handler, entries)

    assert status == 200
    assert wire_entries(momento_local, body["auth_token"]) == [in_wire_terms(entry) for entry in entries]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(allowed=st.lists(allowed_entries, max_size=5), refused=refused_entries, position=st.integers(0, 5))
def test_permission_lists_outside_policy_are_403_without_a_momento_call(
    handler, secret, momento_local, allowed, refused, position
):
    momento_local.reset_call_counts()
    entries = [*allowed[:position], refused, *allowed[position:]]

    status, body = vend(handler, entries)

    assert (status, body["error"]) == (403, ErrorCode.FORBIDDEN)
    assert momento_local.call_count(GENERATE) == 0
