"""The local Momento service, driven by the real momento SDK over real gRPC on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta

import grpc
import pytest
from momento import AuthClient, AuthClientAsync, TopicClient, TopicClientAsync
from momento.auth.access_control.disposable_token_scope import DisposableTokenProps
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes
from momento.auth.access_control.permission_scope import AllTopics
from momento.config import TopicConfigurations
from momento.config.auth_configurations import AuthConfigurations
from momento.errors import MomentoErrorCode
from momento.internal._utilities._permissions import permissions_from_disposable_token_scope
from momento.responses import GenerateDisposableToken, TopicPublish, TopicSubscribe, TopicSubscriptionItem
from momento.utilities import ExpiresIn
from momento_wire_types import permissionmessages_pb2 as permissions_pb
from momento_wire_types import token_pb2 as token_pb
from momento_wire_types import token_pb2_grpc as token_grpc

from momento_local import MomentoLocal, credential_provider_from_auth_token, local_credential_provider

CACHE, TOPIC = "cache", "topic"
GENERATE = "GenerateDisposableToken"
AUTH_CONFIG = AuthConfigurations.Laptop.latest()
# The async topic client applies its deadline to the whole subscription stream: keep it longer than a test.
TOPIC_CONFIG = TopicConfigurations.Default.latest().with_client_timeout(timedelta(seconds=60))
STEP_TIMEOUT = 5


@pytest.fixture(autouse=True)
def no_faults_left_over(momento_local: MomentoLocal) -> Iterator[None]:
    momento_local.clear_faults()
    momento_local.reset_call_counts()
    yield
    momento_local.clear_faults()


@pytest.fixture
def auth_client(momento_credentials) -> Iterator[AuthClient]:
    with AuthClient(AUTH_CONFIG, momento_credentials) as client:
        yield client


def mint(auth_client: AuthClient, scope=None, *, seconds: int = 600, token_id: str | None = None):
    response = auth_client.generate_disposable_token(
        scope or DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC),
        ExpiresIn.seconds(seconds),
        DisposableTokenProps(token_id=token_id) if token_id else None,
    )
    assert isinstance(response, GenerateDisposableToken.Success), response
    return response


def error_code(response) -> MomentoErrorCode:
    assert hasattr(response, "error_code"), f"expected an error, got {response!r}"
    return response.error_code


# -- GenerateDisposableToken ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [
        DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC),
        DisposableTokenScopes.topic_subscribe_only(CACHE, TOPIC),
        DisposableTokenScopes.topic_publish_only(CACHE, TOPIC),
        DisposableTokenScopes.topic_publish_subscribe(CACHE, AllTopics()),
    ],
    ids=["publish-subscribe", "subscribe-only", "publish-only", "all-topics"],
)
def test_the_minted_token_grants_exactly_the_requested_permissions(momento_local, auth_client, scope):
    response = mint(auth_client, scope)

    decoded = momento_local.decode_token(response.auth_token)
    assert decoded.is_disposable
    assert decoded.permissions == permissions_from_disposable_token_scope(scope)


def test_the_response_carries_the_local_endpoint_and_a_jwt(momento_local, auth_client):
    response = mint(auth_client)

    assert response.endpoint == momento_local.endpoint == f"127.0.0.1:{momento_local.port}"
    wrapper = json.loads(base64.b64decode(response.auth_token))
    assert wrapper["endpoint"] == momento_local.endpoint
    assert wrapper["api_key"].count(".") == 2


def test_token_id_and_expiry_are_honoured(momento_local, auth_client):
    before = int(time.time())

    response = mint(auth_client, seconds=90, token_id="user-42")

    decoded = momento_local.decode_token(response.auth_token)
    assert decoded.token_id == decoded.subject == "user-42"
    assert decoded.expires_at == response.expires_at.epoch()
    assert before + 90 <= decoded.expires_at <= int(time.time()) + 90


@pytest.mark.parametrize(
    "bad_key",
    [
        "not-a-key",
        MomentoLocal().create_api_key(),  # signed by another server's secret
    ],
    ids=["garbage", "foreign"],
)
def test_a_key_the_server_did_not_issue_is_an_authentication_error(momento_local, bad_key):
    with AuthClient(AUTH_CONFIG, momento_local.credential_provider(bad_key)) as client:
        response = client.generate_disposable_token(
            DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC), ExpiresIn.minutes(1)
        )

    assert error_code(response) is MomentoErrorCode.AUTHENTICATION_ERROR


def test_an_expired_api_key_is_an_authentication_error(momento_local):
    expired_key = momento_local.create_api_key(valid_for_seconds=-1)

    with AuthClient(AUTH_CONFIG, momento_local.credential_provider(expired_key)) as client:
        response = client.generate_disposable_token(
            DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC), ExpiresIn.minutes(1)
        )

    assert error_code(response) is MomentoErrorCode.AUTHENTICATION_ERROR


def test_a_disposable_token_may_not_mint_tokens(momento_local, auth_client):
    minted = mint(auth_client)

    with AuthClient(AUTH_CONFIG, credential_provider_from_auth_token(minted.auth_token)) as client:
        response = client.generate_disposable_token(
            DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC), ExpiresIn.minutes(1)
        )

    assert error_code(response) is MomentoErrorCode.PERMISSION_ERROR


@pytest.mark.parametrize("expiry", [ExpiresIn.seconds(0), ExpiresIn.seconds(25 * 3600 + 1)], ids=["0s", "25h1s"])
def test_an_expiry_outside_one_second_to_25_hours_is_invalid(auth_client, expiry):
    response = auth_client.generate_disposable_token(
        DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC), expiry
    )

    assert error_code(response) is MomentoErrorCode.INVALID_ARGUMENT_ERROR


def test_25_hours_is_the_longest_expiry(auth_client):
    mint(auth_client, seconds=25 * 3600)


def raw_generate(server: MomentoLocal, api_key: str, permissions: permissions_pb.Permissions) -> grpc.RpcError:
    request = token_pb._GenerateDisposableTokenRequest(
        expires=token_pb._GenerateDisposableTokenRequest.Expires(valid_for_seconds=60),
        auth_token=api_key,
        permissions=permissions,
    )
    with grpc.insecure_channel(server.endpoint) as channel, pytest.raises(grpc.RpcError) as raised:
        token_grpc.TokenStub(channel).GenerateDisposableToken(
            request, metadata=[("authorization", api_key)], timeout=STEP_TIMEOUT
        )
    return raised.value


@pytest.mark.parametrize(
    "permissions",
    [
        permissions_pb.Permissions(),
        permissions_from_disposable_token_scope(DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC)),
    ],
    ids=["none", "21-statements"],
)
def test_missing_or_too_many_permissions_are_invalid(momento_local, momento_api_key, permissions):
    if permissions.explicit.permissions:
        statement = permissions.explicit.permissions[0]
        permissions.explicit.permissions.extend([statement] * 20)

    error = raw_generate(momento_local, momento_api_key, permissions)

    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT


# -- faults ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (grpc.StatusCode.UNAVAILABLE, MomentoErrorCode.SERVER_UNAVAILABLE),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, MomentoErrorCode.LIMIT_EXCEEDED_ERROR),
        (grpc.StatusCode.INTERNAL, MomentoErrorCode.INTERNAL_SERVER_ERROR),
    ],
)
def test_an_injected_status_fails_that_many_calls_then_calls_succeed(momento_local, auth_client, status, expected):
    momento_local.inject_fault(GENERATE, status, times=2)
    scope = DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC)

    responses = [auth_client.generate_disposable_token(scope, ExpiresIn.minutes(1)) for _ in range(3)]

    assert [error_code(response) for response in responses[:2]] == [expected, expected]
    assert isinstance(responses[2], GenerateDisposableToken.Success)
    assert momento_local.call_count(GENERATE) == 3


def test_a_delay_without_a_status_is_a_slow_success(momento_local, auth_client):
    momento_local.inject_fault(GENERATE, delay_seconds=0.2)

    started = time.monotonic()
    mint(auth_client)

    assert time.monotonic() - started >= 0.2


def test_a_hang_is_bounded_by_the_caller_and_does_not_hold_up_stop():
    async def call_with_deadline(server: MomentoLocal) -> None:
        async with AuthClientAsync(AUTH_CONFIG, server.credential_provider()) as client:
            call = client.generate_disposable_token(
                DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC), ExpiresIn.minutes(1)
            )
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(call, timeout=0.3)

    with MomentoLocal() as server:
        server.inject_fault(GENERATE, delay_seconds=3600, times=None)
        asyncio.run(call_with_deadline(server))
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2
        assert server.call_count(GENERATE) == 1


def test_an_injected_fault_on_subscribe_fails_the_subscription(momento_local, momento_credentials):
    momento_local.inject_fault("Subscribe", grpc.StatusCode.UNAVAILABLE)

    async def subscribe():
        async with TopicClientAsync(TOPIC_CONFIG, momento_credentials) as topics:
            return await topics.subscribe(CACHE, TOPIC)

    assert error_code(asyncio.run(subscribe())) is MomentoErrorCode.SERVER_UNAVAILABLE


# -- topics ----------------------------------------------------------------------------------------------


async def next_item(subscription):
    return await asyncio.wait_for(anext(subscription), timeout=STEP_TIMEOUT)


def test_a_granted_token_publishes_and_subscribes_text_and_binary(momento_local, auth_client):
    provider = credential_provider_from_auth_token(mint(auth_client).auth_token)

    async def scenario():
        async with TopicClientAsync(TOPIC_CONFIG, provider) as topics:
            subscription = await topics.subscribe(CACHE, TOPIC)
            assert isinstance(subscription, TopicSubscribe.SubscriptionAsync), subscription
            assert isinstance(await topics.publish(CACHE, TOPIC, "hello"), TopicPublish.Success)
            assert isinstance(await topics.publish(CACHE, TOPIC, b"\x00\xff"), TopicPublish.Success)
            items = [await next_item(subscription), await next_item(subscription)]
            subscription.unsubscribe()
            return items

    text, binary = asyncio.run(scenario())

    assert isinstance(text, TopicSubscriptionItem.Text) and text.value == "hello"
    assert isinstance(binary, TopicSubscriptionItem.Binary) and binary.value == b"\x00\xff"
    assert binary.sequence_number == text.sequence_number + 1


def test_the_sync_topic_client_works_too(momento_credentials):
    with TopicClient(TOPIC_CONFIG, momento_credentials) as topics:
        subscription = topics.subscribe(CACHE, "sync")
        assert isinstance(subscription, TopicSubscribe.Subscription), subscription
        assert isinstance(topics.publish(CACHE, "sync", "hi"), TopicPublish.Success)
        item = next(subscription)
        subscription.unsubscribe()

    assert isinstance(item, TopicSubscriptionItem.Text) and item.value == "hi"


def test_every_subscriber_gets_each_item_and_unsubscribing_ends_the_stream(momento_local, momento_credentials):
    async def scenario():
        async with TopicClientAsync(TOPIC_CONFIG, momento_credentials) as topics:
            first = await topics.subscribe(CACHE, "fan-out")
            second = await topics.subscribe(CACHE, "fan-out")
            assert momento_local.subscriber_count(CACHE, "fan-out") == 2
            await topics.publish(CACHE, "fan-out", "to both")
            items = [(await next_item(first)).value, (await next_item(second)).value]
            first.unsubscribe()
            second.unsubscribe()
            return items

    assert asyncio.run(scenario()) == ["to both", "to both"]
    deadline = time.monotonic() + STEP_TIMEOUT
    while momento_local.subscriber_count(CACHE, "fan-out") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert momento_local.subscriber_count(CACHE, "fan-out") == 0


def test_resuming_from_an_unknown_sequence_number_still_delivers_live_items(momento_credentials):
    async def scenario():
        async with TopicClientAsync(TOPIC_CONFIG, momento_credentials) as topics:
            subscription = await topics.subscribe(CACHE, "resume", resume_at_topic_sequence_number=999)
            await topics.publish(CACHE, "resume", "live")
            item = await next_item(subscription)
            subscription.unsubscribe()
            return item.value

    assert asyncio.run(scenario()) == "live"


async def publish_and_subscribe_codes(provider, cache: str, topic: str) -> tuple[object, object]:
    """(publish outcome, subscribe outcome), each the error code or "ok"."""
    async with TopicClientAsync(TOPIC_CONFIG, provider) as topics:
        published = await topics.publish(cache, topic, "x")
        subscription = await topics.subscribe(cache, topic)
        if isinstance(subscription, TopicSubscribe.SubscriptionAsync):
            subscription.unsubscribe()
    return tuple(getattr(response, "error_code", "ok") for response in (published, subscription))


@pytest.mark.parametrize(
    ("cache", "topic"), [(CACHE, "other-topic"), ("other-cache", TOPIC)], ids=["other-topic", "other-cache"]
)
def test_a_token_is_refused_outside_its_cache_and_topic(auth_client, cache, topic):
    provider = credential_provider_from_auth_token(mint(auth_client).auth_token)

    codes = asyncio.run(publish_and_subscribe_codes(provider, cache, topic))

    assert codes == (MomentoErrorCode.PERMISSION_ERROR, MomentoErrorCode.PERMISSION_ERROR)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (DisposableTokenScopes.topic_subscribe_only(CACHE, TOPIC), (MomentoErrorCode.PERMISSION_ERROR, "ok")),
        (DisposableTokenScopes.topic_publish_only(CACHE, TOPIC), ("ok", MomentoErrorCode.PERMISSION_ERROR)),
        (DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC), ("ok", "ok")),
    ],
    ids=["subscribe-only", "publish-only", "publish-subscribe"],
)
def test_roles_are_enforced(auth_client, scope, expected):
    provider = credential_provider_from_auth_token(mint(auth_client, scope).auth_token)

    assert asyncio.run(publish_and_subscribe_codes(provider, CACHE, TOPIC)) == expected


def test_a_topic_name_prefix_grants_matching_topics_only(momento_local):
    grant = permissions_pb.PermissionsType.TopicPermissions(
        role=permissions_pb.TopicReadWrite,
        cache_selector=permissions_pb.PermissionsType.CacheSelector(cache_name=CACHE),
        topic_selector=permissions_pb.PermissionsType.TopicSelector(topic_name_prefix="chat-"),
    )
    permissions = permissions_pb.Permissions(
        explicit=permissions_pb.ExplicitPermissions(
            permissions=[permissions_pb.PermissionsType(topic_permissions=grant)]
        )
    )
    provider = momento_local.credential_provider(momento_local.mint_disposable_token(permissions, valid_for_seconds=60))

    assert asyncio.run(publish_and_subscribe_codes(provider, CACHE, "chat-1")) == ("ok", "ok")
    denied = MomentoErrorCode.PERMISSION_ERROR
    assert asyncio.run(publish_and_subscribe_codes(provider, CACHE, "news")) == (denied, denied)


def test_an_expired_token_is_refused(momento_local):
    scope = DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC)
    expired = momento_local.mint_disposable_token(
        permissions_from_disposable_token_scope(scope), valid_for_seconds=60, issued_at=int(time.time()) - 61
    )

    codes = asyncio.run(publish_and_subscribe_codes(momento_local.credential_provider(expired), CACHE, TOPIC))

    assert codes == (MomentoErrorCode.AUTHENTICATION_ERROR, MomentoErrorCode.AUTHENTICATION_ERROR)


def test_a_minted_token_stops_working_when_it_expires(momento_local, auth_client):
    token = mint(auth_client, seconds=1)
    provider = credential_provider_from_auth_token(token.auth_token)
    time.sleep(max(0.0, token.expires_at.epoch() - time.time()) + 0.05)

    codes = asyncio.run(publish_and_subscribe_codes(provider, CACHE, TOPIC))

    assert codes == (MomentoErrorCode.AUTHENTICATION_ERROR, MomentoErrorCode.AUTHENTICATION_ERROR)


def test_an_api_key_may_use_any_topic(momento_credentials):
    assert asyncio.run(publish_and_subscribe_codes(momento_credentials, "any-cache", "any-topic")) == ("ok", "ok")


def test_stopping_the_server_ends_open_subscriptions_promptly():
    server = MomentoLocal().start()

    async def subscribe_then_stop() -> float:
        async with TopicClientAsync(TOPIC_CONFIG, server.credential_provider()) as topics:
            subscription = await topics.subscribe(CACHE, TOPIC)
            assert isinstance(subscription, TopicSubscribe.SubscriptionAsync)
            started = time.monotonic()
            await asyncio.to_thread(server.stop)
            subscription.unsubscribe()
            return time.monotonic() - started

    assert asyncio.run(subscribe_then_stop()) < 2


# -- command line ----------------------------------------------------------------------------------------


def test_the_command_line_prints_a_working_endpoint_and_key_and_stops_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "momento_local", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        settings = dict(line.strip().split("=", 1) for line in lines[1:])
        endpoint, key = settings["MOMENTO_ENDPOINT"], settings["MOMENTO_API_KEY"]
        with AuthClient(AUTH_CONFIG, local_credential_provider(key, endpoint)) as client:
            response = client.generate_disposable_token(
                DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC), ExpiresIn.minutes(1)
            )
        assert isinstance(response, GenerateDisposableToken.Success), response
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=STEP_TIMEOUT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
