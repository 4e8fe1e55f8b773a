"""Helpers for the end-to-end tests: vend over HTTP, use the token with the real SDK's topic client,
start headless Chromium."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from momento import TopicClientAsync
from momento.config import TopicConfigurations
from momento.responses import TopicPublish, TopicSubscribe, TopicSubscriptionItem

from momento_local import credential_provider_from_auth_token

CACHE, TOPIC = "SampleCache", "sample-topic"
# TopicClientAsync applies its client deadline to a whole subscription stream: keep it longer than a test.
TOPICS = TopicConfigurations.Default.latest().with_client_timeout(timedelta(seconds=60))
WAIT_SECONDS = 5.0

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)")


def vend(http: httpx.Client, url: str, cache: str = CACHE, topic: str = TOPIC, **fields: Any) -> str:
    """POST a token request; the vended auth_token."""
    response = http.post(url, json={"cacheName": cache, "topicName": topic, **fields})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"auth_token", "expires_at"}, body
    return str(body["auth_token"])


def topic_client(auth_token: str) -> TopicClientAsync:
    """The real SDK's topic client for a vended token whose endpoint is the local Momento service."""
    return TopicClientAsync(TOPICS, credential_provider_from_auth_token(auth_token))


async def publish(auth_token: str, cache: str, topic: str, message: str) -> TopicPublish.Response:
    async with topic_client(auth_token) as client:
        return await asyncio.wait_for(client.publish(cache, topic, message), WAIT_SECONDS)


async def subscribe_then_publish(auth_token: str, cache: str, topic: str, message: str) -> str:
    """Subscribe, publish one message through the same token, and return what the subscription delivers."""
    async with topic_client(auth_token) as client:
        subscription = await asyncio.wait_for(client.subscribe(cache, topic), WAIT_SECONDS)
        assert isinstance(subscription, TopicSubscribe.SubscriptionAsync), subscription
        try:
            published = await asyncio.wait_for(client.publish(cache, topic, message), WAIT_SECONDS)
            assert isinstance(published, TopicPublish.Success), published
            item = await asyncio.wait_for(anext(subscription), WAIT_SECONDS)
        finally:
            subscription.unsubscribe()
    assert isinstance(item, TopicSubscriptionItem.Text), item
    return item.value


async def subscribe_error(auth_token: str, cache: str, topic: str) -> TopicSubscribe.Error:
    async with topic_client(auth_token) as client:
        response = await asyncio.wait_for(client.subscribe(cache, topic), WAIT_SECONDS)
        if isinstance(response, TopicSubscribe.SubscriptionAsync):
            response.unsubscribe()
        assert isinstance(response, TopicSubscribe.Error), response
        return response


def headless_chromium(profile_dir: Path | str, *arguments: str) -> list[str]:
    """The command line of a headless Chromium in a throwaway profile, with no first-run, update or sync
    traffic; `arguments` (more flags, then the URL) follow."""
    return [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile_dir}",
        *arguments,
    ]
