"""The Python client's second request form end to end: ``TokenVendingClient(permissions=[...])`` and
``tvm get``/``tvm set`` against an in-process local stack under a POLICY, with the real SDK's cache and
topic clients over real gRPC to the local Momento service, which enforces the token's permissions."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from momento.config import TopicConfigurations
from momento.errors import MomentoErrorCode
from momento.responses import CacheDelete, CacheGet, CacheSet, TopicPublish

from local_stack import LocalStack
from momento_tvm_client import (
    AsyncTokenVendingClient,
    CachePermission,
    RefreshingTopicPublisher,
    TokenVendingClient,
    TokenVendingHTTPError,
    TopicPermission,
    subscribe,
)
from token_vending_machine.names import Env

ROOT = Path(__file__).resolve().parents[2]
CACHE = "chat"
POLICY = {
    "rules": [
        {"cache": CACHE, "key": "room-*", "roles": ["readwrite"]},
        {"cache": CACHE, "topic": "room-*", "roles": ["publishsubscribe"]},
        {"cache": CACHE, "topic": "lobby", "roles": ["subscribeonly"]},
    ]
}
READ_ROOM_1 = {"role": "readonly", "cache": CACHE, "item": {"keyPrefix": "room-1:"}}
TOPICS = TopicConfigurations.Default.latest().with_client_timeout(timedelta(seconds=60))
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+|eyJlbmRwb2ludCI6")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The stack under POLICY; its local Momento publishes the policy's cache (``chat``)."""
    with LocalStack(port=0, quiet=True, settings={Env.POLICY: json.dumps(POLICY)}) as running:
        yield running


def test_the_stack_publishes_the_policy_cache(stack: LocalStack) -> None:
    assert stack.momento_local is not None
    assert CACHE in stack.momento_local.caches


def test_a_readonly_prefix_token_reads_its_prefix_and_nothing_else(stack: LocalStack) -> None:
    # GIVEN a readwrite token on room-1:history stored a value
    writer = TokenVendingClient(stack.url, permissions=[CachePermission(CACHE, "readwrite", key="room-1:history")])
    with writer, writer.cache_client() as cache:
        assert isinstance(cache.set(CACHE, "room-1:history", "hello"), CacheSet.Success)
        assert isinstance(cache.set(CACHE, "room-2:history", "elsewhere"), CacheSet.Error)

    # WHEN a token readonly on the prefix room-1: (asked for as a plain dict) is used
    reader = TokenVendingClient(stack.url, permissions=[READ_ROOM_1])
    with reader, reader.cache_client() as cache:
        hit = cache.get(CACHE, "room-1:history")
        other_room = cache.get(CACHE, "room-2:history")
        writes = [cache.set(CACHE, "room-1:history", "overwritten"), cache.set(CACHE, "room-1:new", "x")]
        delete = cache.delete(CACHE, "room-1:history")

    # THEN it reads its prefix, and is refused on another room and on any write
    assert isinstance(hit, CacheGet.Hit) and hit.value_string == "hello"
    assert isinstance(other_room, CacheGet.Error) and other_room.error_code == MomentoErrorCode.PERMISSION_ERROR
    for refused in (*writes, delete):
        assert isinstance(refused, (CacheSet.Error, CacheDelete.Error)), refused
        assert refused.error_code == MomentoErrorCode.PERMISSION_ERROR


def test_topic_permissions_of_one_token_behave_as_asked(stack: LocalStack) -> None:
    permissions = [
        TopicPermission(CACHE, "room-1", "publishsubscribe"),
        TopicPermission(CACHE, "lobby", "subscribeonly"),
    ]

    async def scenario() -> str:
        async with AsyncTokenVendingClient(stack.url, permissions=permissions) as vending:
            messages = subscribe(vending, cache_name=CACHE, topic_name="room-1", configuration=TOPICS)
            first = asyncio.create_task(anext(messages))
            with (
                TokenVendingClient(stack.url, permissions=permissions) as publishing,
                RefreshingTopicPublisher(publishing, cache_name=CACHE, topic_name="room-1") as room,
                RefreshingTopicPublisher(publishing, cache_name=CACHE, topic_name="lobby") as lobby,
            ):
                lobby_response = await asyncio.to_thread(lobby.publish, "not allowed")
                assert isinstance(lobby_response, TopicPublish.Error), lobby_response
                assert lobby_response.error_code == MomentoErrorCode.PERMISSION_ERROR
                while not first.done():  # the subscription may still be starting
                    assert isinstance(await asyncio.to_thread(room.publish, "hello room"), TopicPublish.Success)
                    await asyncio.wait([first], timeout=0.1)
            await messages.aclose()
            return first.result().value

    assert asyncio.run(asyncio.wait_for(scenario(), 20)) == "hello room"


def test_a_permission_outside_the_policy_is_a_403(stack: LocalStack) -> None:
    client = TokenVendingClient(stack.url, permissions=[CachePermission(CACHE, "readwrite", key="lobby:history")])

    with client, pytest.raises(TokenVendingHTTPError) as raised:
        client.get_token()

    assert raised.value.status == 403


def test_tvm_set_then_get_round_trips_through_the_cli(stack: LocalStack) -> None:
    stored = tvm("set", "--url", stack.url, "--cache", CACHE, "--key", "room-3:topic", "--value", "from the cli")
    assert stored.returncode == 0, stored.stderr
    assert "stored" in stored.stderr

    read = tvm("get", "--url", stack.url, "--cache", CACHE, "--key", "room-3:topic")
    assert read.returncode == 0, read.stderr
    assert read.stdout == "from the cli\n"

    missing = tvm("get", "--url", stack.url, "--cache", CACHE, "--key", "room-3:nothing")
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert "no item 'room-3:nothing'" in missing.stderr


def test_tvm_get_with_permissions_json_is_refused_outside_them(stack: LocalStack) -> None:
    permissions = json.dumps({"permissions": [READ_ROOM_1]})

    refused = tvm("get", "--url", stack.url, "--cache", CACHE, "--key", "room-2:x", "--permissions-json", permissions)

    assert refused.returncode == 1
    assert "get failed" in refused.stderr and "PERMISSION" in refused.stderr


def tvm(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``tvm`` command; no token may appear in what it prints."""
    finished = subprocess.run(
        ["uv", "run", "--frozen", "tvm", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert not JWT.search(finished.stdout + finished.stderr), "the CLI printed a token"
    return finished
