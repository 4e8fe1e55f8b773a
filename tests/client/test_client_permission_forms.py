"""The second request form: ``permissions=[...]`` on both clients, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from momento_tvm_client import (
    AsyncTokenVendingClient,
    CachePermission,
    RefreshingTopicPublisher,
    TokenVendingClient,
    TopicPermission,
    VendedToken,
)
from momento_tvm_client.permissions import MAX_PERMISSIONS, permissions_from_json
from tests.client.fake_tvm import START, TVM, FakeClock, token_answer

# The example, in the wire shape the vending machine accepts.
WIRE: list[dict[str, Any]] = [
    {"role": "publishsubscribe", "cache": "chat", "topic": "room-1"},
    {"role": "subscribeonly", "cache": "chat", "topic": "lobby"},
    {"role": "readonly", "cache": "chat", "item": {"keyPrefix": "room-1:"}},
    {"role": "readwrite", "cache": "profiles", "item": {"key": "user-42"}},
    {"role": "readwrite", "cache": "scratch"},
]
TYPED = [
    TopicPermission("chat", "room-1"),
    TopicPermission("chat", "lobby", "subscribeonly"),
    CachePermission("chat", "readonly", key_prefix="room-1:"),
    CachePermission("profiles", key="user-42"),
    CachePermission("scratch"),
]


@pytest.mark.parametrize("permissions", [WIRE, TYPED, [*TYPED[:2], *WIRE[2:]]], ids=["dicts", "typed", "mixed"])
def test_sync_client_posts_the_permissions_form(tvm: TVM, clock: FakeClock, permissions: list[Any]) -> None:
    tvm.answer(token_answer(), json={"permissions": WIRE})

    with TokenVendingClient(tvm.url, permissions=permissions, clock=clock) as client:
        token = client.get_token()

    assert token == VendedToken("tok-1", START + 3600)
    assert tvm.requests == 1
    assert client.permissions == tuple(TYPED)
    assert client.cache_name is None and client.topic_name is None


def test_async_client_posts_the_permissions_form(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer(), json={"permissions": WIRE[2:3]})

    async def scenario() -> list[VendedToken]:
        async with AsyncTokenVendingClient(tvm.url, permissions=WIRE[2:3], clock=clock) as client:
            return await asyncio.gather(*(client.get_token() for _ in range(50)))

    assert set(asyncio.run(scenario())) == {VendedToken("tok-1", START + 3600)}
    assert tvm.requests == 1


def test_the_permissions_are_read_once_from_any_iterable(tvm: TVM, clock: FakeClock) -> None:
    tvm.answer(token_answer(), json={"permissions": WIRE})

    with TokenVendingClient(tvm.url, permissions=(entry for entry in WIRE), clock=clock) as client:
        client.get_token()
        client.invalidate()
        client.get_token()

    assert tvm.requests == 2


def test_repr_shows_the_permissions() -> None:
    client = TokenVendingClient("http://127.0.0.1:1/token", permissions=[CachePermission("chat", "readonly", key="k")])

    assert "permissions=[CachePermission(cache='chat', role='readonly', key='k'" in repr(client)
    client.close()


@pytest.mark.parametrize("client_class", [TokenVendingClient, AsyncTokenVendingClient])
@pytest.mark.parametrize(
    ("arguments", "options", "message"),
    [
        (("cache", "topic"), {"permissions": WIRE}, "not both"),
        (("cache",), {"permissions": WIRE}, "not both"),
        ((), {}, "cache_name and topic_name are required"),
        (("cache",), {}, "cache_name and topic_name are required"),
        ((), {"permissions": []}, "1 to 20 entries, got 0"),
        ((), {"permissions": WIRE * 5}, f"1 to {MAX_PERMISSIONS} entries, got 25"),
        ((), {"permissions": WIRE[0]}, "must be a list"),
        ((), {"permissions": ["chat"]}, r"permissions\[0\]: must be a TopicPermission"),
        ((), {"permissions": [{"role": "admin", "cache": "chat"}]}, r"permissions\[0\]: role must be one of"),
        ((), {"permissions": [{"role": "readonly", "cache": "c", "topic": "t"}]}, "unknown field 'topic'"),
        ((), {"permissions": [{"role": "publishonly", "cache": "c"}]}, "topic must be a string"),
        ((), {"permissions": [{"role": "readonly", "cache": "c", "item": {}}]}, "item must be"),
        (
            (),
            {"permissions": [WIRE[0], {"role": "readonly", "cache": "c", "item": {"key": "k", "keyPrefix": "p"}}]},
            r"permissions\[1\]: item must be",
        ),
    ],
)
def test_a_bad_form_is_a_value_error_before_any_request(
    client_class: type[TokenVendingClient | AsyncTokenVendingClient],
    arguments: tuple[str, ...],
    options: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        client_class("http://127.0.0.1:1/token", *arguments, **options)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TopicPermission("chat", "t", "readonly"), "role must be one of publishonly"),  # type: ignore[arg-type]
        (lambda: TopicPermission("", "t"), "cache must be a non-empty string"),
        (lambda: CachePermission("chat", "publishonly"), "role must be one of readonly"),  # type: ignore[arg-type]
        (lambda: CachePermission("chat", key="k", key_prefix="k"), "key or key_prefix, not both"),
        (lambda: CachePermission("chat", key=""), "key must be a non-empty string"),
    ],
)
def test_typed_permissions_check_themselves(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("text", [json.dumps(WIRE), json.dumps({"permissions": WIRE})])
def test_permissions_from_json_reads_a_list_or_the_request_body(text: str) -> None:
    assert permissions_from_json(text) == tuple(TYPED)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[", "not valid JSON"),
        ('"chat"', "must be a list"),
        ('{"permissions": [], "extra": 1}', "must be a list or"),
        ("[]", "1 to 20 entries"),
    ],
)
def test_permissions_from_json_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        permissions_from_json(text)


def test_topic_helpers_need_a_topic_named_for_a_permissions_client() -> None:
    with (
        TokenVendingClient("http://127.0.0.1:1/token", permissions=TYPED) as client,
        pytest.raises(ValueError, match="name the topic with cache_name and topic_name"),
    ):
        RefreshingTopicPublisher(client)
