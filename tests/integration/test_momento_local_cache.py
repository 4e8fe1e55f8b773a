"""The local cache service, driven by the real momento SDK's CacheClient over real gRPC on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import grpc
import pytest
from momento import AuthClient, CacheClient, CacheClientAsync, Configurations
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes
from momento.config.auth_configurations import AuthConfigurations
from momento.errors import MomentoErrorCode
from momento.responses import CacheDelete, CacheGet, CacheSet, GenerateDisposableToken
from momento.utilities import ExpiresIn
from momento_wire_types import cacheclient_pb2 as cache_pb
from momento_wire_types import cacheclient_pb2_grpc as cache_grpc
from momento_wire_types import permissionmessages_pb2 as permissions_pb

from momento_local import MomentoLocal, credential_provider_from_auth_token

CHAT, PROFILES, UNKNOWN = "chat", "profiles", "no-such-cache"
CACHE_CONFIG = Configurations.Laptop.latest()
DEFAULT_TTL = timedelta(minutes=5)
OK, DENIED, NOT_FOUND = "ok", MomentoErrorCode.PERMISSION_ERROR, MomentoErrorCode.NOT_FOUND_ERROR
Grant = permissions_pb.PermissionsType
READ_WRITE = permissions_pb.CacheReadWrite
READ_ONLY = permissions_pb.CacheReadOnly
WRITE_ONLY = permissions_pb.CacheWriteOnly


@pytest.fixture(scope="module", autouse=True)
def caches(momento_local: MomentoLocal) -> None:
    momento_local.add_cache(CHAT)
    momento_local.add_cache(PROFILES)


@pytest.fixture
def cache_client(momento_credentials) -> Iterator[CacheClient]:
    with CacheClient(CACHE_CONFIG, momento_credentials, DEFAULT_TTL) as client:
        yield client


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def cache_grant(role, *, cache: str | None = CHAT, key: str | None = None, key_prefix: str | None = None):
    """A cache permission: `cache=None` selects all caches; without `key`/`key_prefix` it covers every item."""
    fields: dict = {"role": role}
    fields.update({"cache_selector": Grant.CacheSelector(cache_name=cache)} if cache else {"all_caches": Grant.All()})
    if key is not None:
        fields["item_selector"] = Grant.CacheItemSelector(key=key.encode())
    elif key_prefix is not None:
        fields["item_selector"] = Grant.CacheItemSelector(key_prefix=key_prefix.encode())
    return Grant(cache_permissions=Grant.CachePermissions(**fields))


def token_provider(server: MomentoLocal, *grants, valid_for_seconds: int = 600, issued_at: int | None = None):
    """Credentials for a disposable token the server mints directly for `grants`."""
    permissions = permissions_pb.Permissions(explicit=permissions_pb.ExplicitPermissions(permissions=list(grants)))
    token = server.mint_disposable_token(permissions, valid_for_seconds=valid_for_seconds, issued_at=issued_at)
    return server.credential_provider(token)


def outcome(response) -> object:
    """The response's error code, or "ok" for a success (a hit, a miss, a stored or deleted item)."""
    return getattr(response, "error_code", OK)


def get_set_delete(provider, cache: str, key: str) -> tuple[object, object, object]:
    """(get, set, delete) outcomes for one key, each "ok" or an error code."""
    with CacheClient(CACHE_CONFIG, provider, DEFAULT_TTL) as client:
        return (
            outcome(client.get(cache, key)),
            outcome(client.set(cache, key, "value")),
            outcome(client.delete(cache, key)),
        )


# -- API keys ------------------------------------------------------------------------------------------


def test_an_api_key_sets_gets_and_deletes_text_and_bytes(cache_client):
    text_key, bytes_key = unique("text-"), unique("bytes-")

    assert isinstance(cache_client.set(CHAT, text_key, "hello"), CacheSet.Success)
    assert isinstance(cache_client.set(CHAT, bytes_key, b"\x00\xff"), CacheSet.Success)
    text, binary = cache_client.get(CHAT, text_key), cache_client.get(CHAT, bytes_key)
    assert isinstance(cache_client.delete(CHAT, text_key), CacheDelete.Success)

    assert isinstance(text, CacheGet.Hit) and text.value_string == "hello"
    assert isinstance(binary, CacheGet.Hit) and binary.value_bytes == b"\x00\xff"
    assert isinstance(cache_client.get(CHAT, text_key), CacheGet.Miss)
    assert isinstance(cache_client.get(CHAT, unique("never-set-")), CacheGet.Miss)


def test_a_set_replaces_the_value(cache_client):
    key = unique()
    cache_client.set(CHAT, key, "first")

    cache_client.set(CHAT, key, "second")

    assert cache_client.get(CHAT, key).value_string == "second"


def test_an_item_is_a_miss_once_its_ttl_has_passed(cache_client):
    key = unique()

    cache_client.set(CHAT, key, "short-lived", ttl=timedelta(milliseconds=300))
    fresh = cache_client.get(CHAT, key)
    time.sleep(0.4)

    assert isinstance(fresh, CacheGet.Hit)
    assert isinstance(cache_client.get(CHAT, key), CacheGet.Miss)


def test_the_clients_default_ttl_keeps_an_item(momento_credentials):
    key = unique()
    with CacheClient(CACHE_CONFIG, momento_credentials, timedelta(milliseconds=300)) as client:
        client.set(CHAT, key, "default ttl")
        fresh = client.get(CHAT, key)
        time.sleep(0.4)
        expired = client.get(CHAT, key)

    assert isinstance(fresh, CacheGet.Hit) and isinstance(expired, CacheGet.Miss)


def test_the_async_client_works_too(momento_credentials):
    key = unique()

    async def scenario():
        async with CacheClientAsync(CACHE_CONFIG, momento_credentials, DEFAULT_TTL) as client:
            await client.set(CHAT, key, "async")
            hit = await client.get(CHAT, key)
            await client.delete(CHAT, key)
            return hit, await client.get(CHAT, key)

    hit, miss = asyncio.run(scenario())

    assert isinstance(hit, CacheGet.Hit) and hit.value_string == "async"
    assert isinstance(miss, CacheGet.Miss)


def test_an_unknown_cache_is_not_found(momento_credentials):
    assert get_set_delete(momento_credentials, UNKNOWN, "key") == (NOT_FOUND, NOT_FOUND, NOT_FOUND)


# -- disposable tokens ---------------------------------------------------------------------------------


def test_a_read_only_prefix_token_reads_its_room_and_nothing_else(momento_local, cache_client):
    cache_client.set(CHAT, "room-1:history", "hello room 1")
    cache_client.set(CHAT, "room-2:history", "hello room 2")
    provider = token_provider(momento_local, cache_grant(READ_ONLY, key_prefix="room-1:"))

    with CacheClient(CACHE_CONFIG, provider, DEFAULT_TTL) as client:
        own_room = client.get(CHAT, "room-1:history")
        other_room = client.get(CHAT, "room-2:history")
        writes = [client.set(CHAT, "room-1:history", "overwritten"), client.delete(CHAT, "room-1:history")]
        other_writes = [client.set(CHAT, "room-2:history", "x"), client.delete(CHAT, "room-2:history")]

    assert isinstance(own_room, CacheGet.Hit) and own_room.value_string == "hello room 1"
    assert outcome(other_room) is DENIED
    assert [outcome(response) for response in writes + other_writes] == [DENIED] * 4
    assert cache_client.get(CHAT, "room-1:history").value_string == "hello room 1"


@pytest.mark.parametrize(
    ("grant", "cache", "key", "expected"),
    [
        (cache_grant(READ_WRITE, key="user-42"), CHAT, "user-42", (OK, OK, OK)),
        (cache_grant(READ_WRITE, key="user-42"), CHAT, "user-420", (DENIED, DENIED, DENIED)),
        (cache_grant(READ_WRITE, key="user-42"), PROFILES, "user-42", (DENIED, DENIED, DENIED)),
        (cache_grant(WRITE_ONLY), CHAT, "anything", (DENIED, OK, OK)),
        (cache_grant(READ_ONLY), CHAT, "anything", (OK, DENIED, DENIED)),
        (cache_grant(READ_WRITE), CHAT, "anything", (OK, OK, OK)),
        (cache_grant(READ_WRITE), PROFILES, "anything", (DENIED, DENIED, DENIED)),
        (cache_grant(READ_WRITE, cache=None), CHAT, "anything", (OK, OK, OK)),
        (cache_grant(READ_WRITE, cache=None), PROFILES, "anything", (OK, OK, OK)),
        (cache_grant(READ_ONLY, cache=None, key_prefix="pub:"), PROFILES, "pub:1", (OK, DENIED, DENIED)),
        (cache_grant(READ_ONLY, cache=None, key_prefix="pub:"), PROFILES, "priv:1", (DENIED, DENIED, DENIED)),
        (cache_grant(permissions_pb.CachePermitNone), CHAT, "anything", (DENIED, DENIED, DENIED)),
    ],
    ids=[
        "read-write-one-key",
        "read-write-one-key-other-key",
        "read-write-one-key-other-cache",
        "write-only-whole-cache",
        "read-only-whole-cache",
        "read-write-whole-cache",
        "whole-cache-other-cache",
        "all-caches",
        "all-caches-other-cache",
        "all-caches-prefix",
        "all-caches-prefix-other-key",
        "permit-none",
    ],
)
def test_cache_roles_and_selectors_are_enforced(momento_local, grant, cache, key, expected):
    assert get_set_delete(token_provider(momento_local, grant), cache, key) == expected


def test_all_items_is_the_whole_cache(momento_local):
    grant = Grant(
        cache_permissions=Grant.CachePermissions(
            role=READ_WRITE, cache_selector=Grant.CacheSelector(cache_name=CHAT), all_items=Grant.All()
        )
    )

    assert get_set_delete(token_provider(momento_local, grant), CHAT, unique()) == (OK, OK, OK)


def test_any_matching_statement_is_enough(momento_local):
    provider = token_provider(
        momento_local, cache_grant(READ_ONLY, key_prefix="doc-"), cache_grant(WRITE_ONLY, key="doc-1")
    )

    assert get_set_delete(provider, CHAT, "doc-1") == (OK, OK, OK)
    assert get_set_delete(provider, CHAT, "doc-2") == (OK, DENIED, DENIED)


def test_topic_permissions_do_not_grant_cache_items(momento_local):
    topic_grant = Grant(
        topic_permissions=Grant.TopicPermissions(
            role=permissions_pb.TopicReadWrite, all_caches=Grant.All(), all_topics=Grant.All()
        )
    )

    assert get_set_delete(token_provider(momento_local, topic_grant), CHAT, "key") == (DENIED, DENIED, DENIED)


def test_permissions_are_checked_before_the_cache_is_looked_up(momento_local):
    outside_grant = token_provider(momento_local, cache_grant(READ_WRITE, cache=CHAT))
    every_cache = token_provider(momento_local, cache_grant(READ_WRITE, cache=None))

    assert get_set_delete(outside_grant, UNKNOWN, "key") == (DENIED, DENIED, DENIED)
    assert get_set_delete(every_cache, UNKNOWN, "key") == (NOT_FOUND, NOT_FOUND, NOT_FOUND)


def test_an_expired_token_is_an_authentication_error(momento_local):
    expired = token_provider(
        momento_local, cache_grant(READ_WRITE), valid_for_seconds=60, issued_at=int(time.time()) - 61
    )

    assert get_set_delete(expired, CHAT, "key") == (MomentoErrorCode.AUTHENTICATION_ERROR,) * 3


def test_a_key_prefix_token_vended_by_the_token_service_is_enforced(momento_credentials, cache_client):
    cache_client.set(CHAT, "room-1:topic", "welcome")
    with AuthClient(AuthConfigurations.Laptop.latest(), momento_credentials) as auth:
        vended = auth.generate_disposable_token(
            DisposableTokenScopes.cache_key_prefix_read_only(CHAT, "room-1:"), ExpiresIn.minutes(5)
        )
    assert isinstance(vended, GenerateDisposableToken.Success), vended
    provider = credential_provider_from_auth_token(vended.auth_token)

    assert get_set_delete(provider, CHAT, "room-1:topic") == (OK, DENIED, DENIED)
    assert get_set_delete(provider, CHAT, "room-2:topic") == (DENIED, DENIED, DENIED)


# -- faults, counts, configuration ---------------------------------------------------------------------


@pytest.mark.parametrize("rpc", ["Get", "Set", "Delete"])
def test_an_injected_fault_fails_one_call_and_every_call_is_counted(momento_local, momento_credentials, rpc):
    momento_local.inject_fault(rpc, grpc.StatusCode.RESOURCE_EXHAUSTED)
    key = unique()

    first, second = get_set_delete(momento_credentials, CHAT, key), get_set_delete(momento_credentials, CHAT, key)

    faulted = ["Get", "Set", "Delete"].index(rpc)
    assert first[faulted] is MomentoErrorCode.LIMIT_EXCEEDED_ERROR
    assert second == (OK, OK, OK)
    assert momento_local.call_count(rpc) == 2


def test_a_delayed_get_is_a_slow_success(momento_local, cache_client):
    momento_local.inject_fault("Get", delay_seconds=0.2)

    started = time.monotonic()
    response = cache_client.get(CHAT, unique())

    assert isinstance(response, CacheGet.Miss)
    assert time.monotonic() - started >= 0.2


def test_a_call_without_a_cache_header_is_invalid(momento_local, momento_api_key):
    with grpc.insecure_channel(momento_local.endpoint) as channel, pytest.raises(grpc.RpcError) as raised:
        cache_grpc.ScsStub(channel).Get(
            cache_pb._GetRequest(cache_key=b"key"), metadata=[("authorization", momento_api_key)], timeout=5
        )

    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_the_server_holds_the_caches_it_is_given_and_those_added_later():
    with MomentoLocal(caches=["docs"]) as server:
        provider = server.credential_provider()
        before = get_set_delete(provider, "SampleCache", "key")
        server.add_cache("SampleCache")
        after = get_set_delete(provider, "SampleCache", "key")

        assert server.caches == {"docs", "SampleCache"}
        assert get_set_delete(provider, "docs", "key") == (OK, OK, OK)
    assert before == (NOT_FOUND, NOT_FOUND, NOT_FOUND)
    assert after == (OK, OK, OK)


def test_sample_cache_is_the_default():
    assert MomentoLocal().caches == {"SampleCache"}
