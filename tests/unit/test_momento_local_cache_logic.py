"""The local cache service's store, cache permission checks and token-request validation, without sockets."""

from __future__ import annotations

import pytest
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes
from momento.auth.access_control.permission_scope import AllCaches
from momento.internal._utilities._permissions import permissions_from_disposable_token_scope
from momento_wire_types import permissionmessages_pb2 as permissions_pb

from momento_local.cache import DEFAULT_CACHES, CacheStore
from momento_local.tokens import CacheAction, TokenSigner, allows_cache_action, validate_disposable_request

SECRET = b"unit-test-secret-of-thirty-two-b"
READ, WRITE = CacheAction.READ, CacheAction.WRITE
Grant = permissions_pb.PermissionsType
READ_WRITE = permissions_pb.CacheReadWrite
READ_ONLY = permissions_pb.CacheReadOnly
WRITE_ONLY = permissions_pb.CacheWriteOnly


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache_grant(role, *, cache: str | None = "cache", key: bytes | None = None, key_prefix: bytes | None = None):
    fields: dict = {"role": role}
    fields.update({"cache_selector": Grant.CacheSelector(cache_name=cache)} if cache else {"all_caches": Grant.All()})
    if key is not None:
        fields["item_selector"] = Grant.CacheItemSelector(key=key)
    elif key_prefix is not None:
        fields["item_selector"] = Grant.CacheItemSelector(key_prefix=key_prefix)
    return Grant(cache_permissions=Grant.CachePermissions(**fields))


def permissions(*grants) -> permissions_pb.Permissions:
    return permissions_pb.Permissions(explicit=permissions_pb.ExplicitPermissions(permissions=list(grants)))


@pytest.fixture
def issuer() -> TokenSigner:
    return TokenSigner(SECRET)


def disposable(issuer: TokenSigner, *grants):
    token, _ = issuer.mint_disposable_token(permissions(*grants), valid_for_seconds=60)
    return issuer.decode(token)


# -- the store -----------------------------------------------------------------------------------------


def test_an_item_lives_until_its_ttl_and_is_a_miss_after():
    clock = FakeClock()
    store = CacheStore(["cache"], clock=clock)

    store.set("cache", b"key", b"value", ttl_seconds=2.0)
    clock.now += 1.999
    alive = store.get("cache", b"key")
    clock.now += 0.001

    assert alive == b"value"
    assert store.get("cache", b"key") is None


def test_a_set_replaces_the_value_and_its_ttl():
    clock = FakeClock()
    store = CacheStore(["cache"], clock=clock)
    store.set("cache", b"key", b"old", ttl_seconds=1.0)

    store.set("cache", b"key", b"new", ttl_seconds=10.0)
    clock.now += 5

    assert store.get("cache", b"key") == b"new"


def test_delete_removes_an_item_and_ignores_a_missing_one():
    store = CacheStore(["cache"])
    store.set("cache", b"key", b"value", ttl_seconds=60)

    store.delete("cache", b"key")
    store.delete("cache", b"never-set")

    assert store.get("cache", b"key") is None


def test_caches_are_separate():
    store = CacheStore(["a", "b"])

    store.set("a", b"key", b"in a", ttl_seconds=60)

    assert store.get("b", b"key") is None


def test_caches_can_be_added_and_adding_an_existing_one_keeps_its_items():
    store = CacheStore()
    store.set("SampleCache", b"key", b"value", ttl_seconds=60)

    store.add_cache("chat")
    store.add_cache("SampleCache")

    assert store.cache_names == {"SampleCache", "chat"} == DEFAULT_CACHES | {"chat"}
    assert store.has_cache("chat") and not store.has_cache("other")
    assert store.get("SampleCache", b"key") == b"value"


@pytest.mark.parametrize(("names", "error"), [("chat", TypeError), ([""], ValueError)], ids=["one-string", "empty"])
def test_bad_cache_names_are_refused(names, error):
    with pytest.raises(error):
        CacheStore(names)


# -- cache permissions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "may_read", "may_write"),
    [(READ_WRITE, True, True), (READ_ONLY, True, False), (WRITE_ONLY, False, True), (0, False, False)],
    ids=["read-write", "read-only", "write-only", "permit-none"],
)
def test_the_role_decides_read_and_write(issuer, role, may_read, may_write):
    token = disposable(issuer, cache_grant(role))

    assert allows_cache_action(token, "cache", b"key", READ) is may_read
    assert allows_cache_action(token, "cache", b"key", WRITE) is may_write


@pytest.mark.parametrize(
    ("grant", "cache", "key", "allowed"),
    [
        (cache_grant(READ_WRITE), "cache", b"any", True),
        (cache_grant(READ_WRITE), "other", b"any", False),
        (cache_grant(READ_WRITE, cache=None), "other", b"any", True),
        (cache_grant(READ_WRITE, key=b"user-42"), "cache", b"user-42", True),
        (cache_grant(READ_WRITE, key=b"user-42"), "cache", b"user-420", False),
        (cache_grant(READ_WRITE, key=b"user-42"), "cache", b"user-4", False),
        (cache_grant(READ_WRITE, key_prefix=b"room-1:"), "cache", b"room-1:history", True),
        (cache_grant(READ_WRITE, key_prefix=b"room-1:"), "cache", b"room-1:", True),
        (cache_grant(READ_WRITE, key_prefix=b"room-1:"), "cache", b"room-2:history", False),
        (cache_grant(READ_WRITE, key_prefix=b"room-1:"), "other", b"room-1:history", False),
        (cache_grant(READ_WRITE, cache=None, key_prefix=b"room-1:"), "other", b"room-1:history", True),
    ],
)
def test_cache_and_item_selectors(issuer, grant, cache, key, allowed):
    assert allows_cache_action(disposable(issuer, grant), cache, key, READ) is allowed


def test_all_items_and_no_item_selector_both_cover_the_whole_cache(issuer):
    all_items = Grant(
        cache_permissions=Grant.CachePermissions(
            role=READ_ONLY, cache_selector=Grant.CacheSelector(cache_name="cache"), all_items=Grant.All()
        )
    )

    assert allows_cache_action(disposable(issuer, all_items), "cache", b"any", READ)
    assert allows_cache_action(disposable(issuer, cache_grant(READ_ONLY)), "cache", b"any", READ)


def test_topic_permissions_do_not_grant_cache_items(issuer):
    topic_grant = Grant(
        topic_permissions=Grant.TopicPermissions(
            role=permissions_pb.TopicReadWrite, all_caches=Grant.All(), all_topics=Grant.All()
        )
    )

    assert not allows_cache_action(disposable(issuer, topic_grant), "cache", b"key", READ)


def test_any_matching_statement_is_enough(issuer):
    token = disposable(issuer, cache_grant(READ_ONLY, key_prefix=b"doc-"), cache_grant(WRITE_ONLY, key=b"doc-1"))

    assert allows_cache_action(token, "cache", b"doc-1", WRITE)
    assert allows_cache_action(token, "cache", b"doc-2", READ)
    assert not allows_cache_action(token, "cache", b"doc-2", WRITE)


def test_an_api_key_may_do_everything(issuer):
    key = issuer.decode(issuer.create_api_key())

    assert allows_cache_action(key, "any", b"thing", WRITE)


# -- GenerateDisposableToken requests with cache permissions ----------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [
        DisposableTokenScopes.cache_key_prefix_read_only("chat", "room-1:"),
        DisposableTokenScopes.cache_key_read_write("profiles", "user-42"),
        DisposableTokenScopes.cache_key_write_only(AllCaches(), "k"),
    ],
    ids=["key-prefix", "key", "all-caches"],
)
def test_what_the_sdk_sends_for_item_scoped_cache_permissions_is_accepted(scope):
    granted = permissions_from_disposable_token_scope(scope)

    assert granted.explicit.permissions[0].cache_permissions.WhichOneof("cache_item") == "item_selector"
    assert validate_disposable_request(60, granted) is None


def test_cache_and_topic_permissions_mix():
    topic_grant = Grant(
        topic_permissions=Grant.TopicPermissions(
            role=permissions_pb.TopicReadOnly,
            cache_selector=Grant.CacheSelector(cache_name="chat"),
            topic_selector=Grant.TopicSelector(topic_name="lobby"),
        )
    )
    granted = permissions(topic_grant, cache_grant(READ_ONLY, key_prefix=b"room-1:"), cache_grant(READ_WRITE))

    assert validate_disposable_request(60, granted) is None


@pytest.mark.parametrize(
    ("granted", "problem"),
    [
        (permissions(Grant(cache_permissions=Grant.CachePermissions(role=READ_WRITE))), "select a cache"),
        (
            permissions(
                Grant(
                    cache_permissions=Grant.CachePermissions(
                        role=READ_WRITE, all_caches=Grant.All(), item_selector=Grant.CacheItemSelector()
                    )
                )
            ),
            "key or a key prefix",
        ),
        (permissions(*[cache_grant(READ_ONLY, key=f"k{i}".encode()) for i in range(21)]), "at most 20"),
    ],
    ids=["no-cache", "empty-item-selector", "21-statements"],
)
def test_malformed_or_too_many_cache_permissions_are_refused(granted, problem):
    assert problem in validate_disposable_request(60, granted)


def test_twenty_cache_statements_are_accepted():
    granted = permissions(*[cache_grant(READ_ONLY, key=f"k{i}".encode()) for i in range(20)])

    assert validate_disposable_request(60, granted) is None
