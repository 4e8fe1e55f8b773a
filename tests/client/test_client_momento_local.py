"""From vending machine URL to a working subscription, over real gRPC against the local Momento
service (the shared ``momento_credentials`` fixture): tokens are minted by momento's AuthClient,
served over HTTP, and used through the helpers."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import grpc
import pytest
from momento import AuthClient, CredentialProvider
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes
from momento.config import TopicConfigurations
from momento.config.auth_configurations import AuthConfigurations
from momento.errors import MomentoErrorCode
from momento.responses import GenerateDisposableToken, TopicPublish
from momento.utilities import ExpiresIn
from werkzeug import Request, Response

from momento_local import MomentoLocal
from momento_tvm_client import (
    AsyncTokenVendingClient,
    RefreshingTopicPublisher,
    TokenVendingClient,
    TopicError,
    subscribe,
)
from tests.client.fake_tvm import TVM

CACHE, TOPIC = "cache", "topic"
TOPICS = TopicConfigurations.Default.latest().with_client_timeout(timedelta(seconds=30))


class MintingVendingMachine:
    """A vending machine handler: mints a topic token with momento's AuthClient on every request
    and answers ``{"auth_token", "expires_at"}`` with a lifetime of ``answer_lifetime`` seconds."""

    def __init__(self, credentials: CredentialProvider, answer_lifetime: float) -> None:
        self._auth = AuthClient(AuthConfigurations.Laptop.latest(), credentials)
        self._answer_lifetime = answer_lifetime

    def __call__(self, _request: Request) -> Response:
        minted = self._auth.generate_disposable_token(
            DisposableTokenScopes.topic_publish_subscribe(CACHE, TOPIC), ExpiresIn.minutes(5)
        )
        assert isinstance(minted, GenerateDisposableToken.Success), minted
        expires_at = min(minted.expires_at.epoch(), time.time() + self._answer_lifetime)
        return Response(
            f'{{"auth_token": "{minted.auth_token}", "expires_at": {expires_at}}}',
            content_type="application/json",
        )


def test_sync_publish_reaches_an_async_subscriber(tvm: TVM, momento_credentials: CredentialProvider) -> None:
    tvm.answer(MintingVendingMachine(momento_credentials, answer_lifetime=300))

    async def scenario() -> str:
        async with AsyncTokenVendingClient(tvm.url, CACHE, TOPIC) as vending:
            messages = subscribe(vending, configuration=TOPICS)
            first = asyncio.create_task(anext(messages))
            await _publish_until_done(tvm, first)
            item = first.result()
            await messages.aclose()
            return item.value

    assert asyncio.run(scenario()) == "hello"


@pytest.mark.slow
def test_subscription_survives_a_token_refresh(tvm: TVM, momento_credentials: CredentialProvider) -> None:
    tvm.answer(MintingVendingMachine(momento_credentials, answer_lifetime=3))

    async def scenario() -> list[str]:
        async with AsyncTokenVendingClient(tvm.url, CACHE, TOPIC) as vending:
            messages = subscribe(vending, configuration=TOPICS)
            received = []
            for _ in range(2):
                waiting = asyncio.create_task(anext(messages))
                await _publish_until_done(tvm, waiting)
                received.append(waiting.result().value)
                await asyncio.sleep(2)
            await messages.aclose()
            return received

    assert asyncio.run(scenario()) == ["hello", "hello"]
    assert tvm.requests >= 3


def test_a_refused_subscription_is_retried(
    tvm: TVM, momento_local: MomentoLocal, momento_credentials: CredentialProvider
) -> None:
    # GIVEN Momento refuses the first two subscriptions
    tvm.answer(MintingVendingMachine(momento_credentials, answer_lifetime=300))
    momento_local.reset_call_counts()
    momento_local.inject_fault("Subscribe", grpc.StatusCode.UNAVAILABLE, times=2)

    async def scenario() -> str:
        async with AsyncTokenVendingClient(tvm.url, CACHE, TOPIC) as vending:
            messages = subscribe(vending, configuration=TOPICS)
            first = asyncio.create_task(anext(messages))
            await _publish_until_done(tvm, first)
            await messages.aclose()
            return first.result().value

    # WHEN a subscriber waits for a message
    try:
        received = asyncio.run(scenario())
    finally:
        momento_local.clear_faults()

    # THEN the third subscription delivers it
    assert received == "hello"
    assert momento_local.call_count("Subscribe") == 3


@pytest.mark.slow
def test_refusals_in_a_row_raise_topic_error_with_the_sdk_error_code(
    tvm: TVM, momento_local: MomentoLocal, momento_credentials: CredentialProvider
) -> None:
    tvm.answer(MintingVendingMachine(momento_credentials, answer_lifetime=300))
    momento_local.inject_fault("Subscribe", grpc.StatusCode.PERMISSION_DENIED, times=None, details="not yours")

    async def scenario() -> None:
        async with AsyncTokenVendingClient(tvm.url, CACHE, TOPIC) as vending:
            await anext(subscribe(vending, configuration=TOPICS))

    try:
        with pytest.raises(TopicError) as raised:
            asyncio.run(scenario())
    finally:
        momento_local.clear_faults()

    assert raised.value.error_code == MomentoErrorCode.PERMISSION_ERROR
    assert "not yours" in str(raised.value)


async def _publish_until_done(tvm: TVM, waiting: asyncio.Task, seconds: float = 10) -> None:
    """Publish "hello" every 100 ms until ``waiting`` finishes (a subscription may still be starting)."""
    with (
        TokenVendingClient(tvm.url, CACHE, TOPIC) as vending,
        RefreshingTopicPublisher(vending, configuration=TOPICS) as publisher,
    ):
        deadline = time.monotonic() + seconds
        while not waiting.done() and time.monotonic() < deadline:
            response = await asyncio.to_thread(publisher.publish, "hello")
            assert isinstance(response, TopicPublish.Success), response
            await asyncio.wait([waiting], timeout=0.1)
    assert waiting.done(), "no message arrived"
