"""Never wider than asked: every scope the function can build, turned into the protobuf that goes on the
wire (through the SDK's own conversion where the SDK path is taken, else ours), read back entry by entry."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from momento.auth.access_control.disposable_token_scope import (
    CacheItemKeyPrefix,
    CacheItemSelector,
    DisposableTokenCachePermission,
    DisposableTokenScope,
)
from momento.auth.access_control.permission_scope import CacheRole as SdkCacheRole
from momento.auth.access_control.permission_scope import CacheSelector, Permissions

# The conversion the SDK's token client calls (private: read here, never used by the function).
from momento.internal._utilities._permissions import permissions_from_disposable_token_scope
from momento_wire_types import permissionmessages_pb2 as permissions_pb

from token_vending_machine.adapters.momento_scopes import sdk_scope, wire_permissions
from token_vending_machine.models import MAX_GRANTS, CacheGrant, CacheRole, Grant, TokenScope, TopicGrant, TopicRole

TOPIC_ROLES = {
    permissions_pb.TopicReadWrite: TopicRole.PUBLISH_SUBSCRIBE,
    permissions_pb.TopicReadOnly: TopicRole.SUBSCRIBE_ONLY,
    permissions_pb.TopicWriteOnly: TopicRole.PUBLISH_ONLY,
}
CACHE_ROLES = {
    permissions_pb.CacheReadWrite: CacheRole.READ_WRITE,
    permissions_pb.CacheReadOnly: CacheRole.READ_ONLY,
    permissions_pb.CacheWriteOnly: CacheRole.WRITE_ONLY,
}


def read_back(permissions: permissions_pb.Permissions) -> TokenScope:
    """The grants a Permissions message carries; anything broader than one named cache/topic/item fails."""
    grants: list[Grant] = []
    for entry in permissions.explicit.permissions:
        if entry.WhichOneof("kind") == "topic_permissions":
            topic = entry.topic_permissions
            assert topic.WhichOneof("cache") == "cache_selector" and topic.WhichOneof("topic") == "topic_selector"
            grants.append(
                TopicGrant(topic.cache_selector.cache_name, topic.topic_selector.topic_name, TOPIC_ROLES[topic.role])
            )
            continue
        cache = entry.cache_permissions
        assert cache.WhichOneof("cache") == "cache_selector"
        item = cache.item_selector if cache.WhichOneof("cache_item") == "item_selector" else None
        key = item.key.decode() if item is not None and item.WhichOneof("kind") == "key" else None
        prefix = item.key_prefix.decode() if item is not None and item.WhichOneof("kind") == "key_prefix" else None
        assert item is None or key is not None or prefix is not None, "an empty item selector"
        grants.append(CacheGrant(cache.cache_selector.cache_name, CACHE_ROLES[cache.role], key=key, key_prefix=prefix))
    return tuple(grants)


def on_the_wire(scope: TokenScope) -> permissions_pb.Permissions:
    """What the issuer sends for this scope, by whichever path it takes."""
    exact = sdk_scope(scope)
    return wire_permissions(scope) if exact is None else permissions_from_disposable_token_scope(exact)


names = st.text(alphabet="abcxyz-:_1", min_size=1, max_size=8)
topic_grants = st.builds(TopicGrant, names, names, st.sampled_from(list(TopicRole)))
cache_grants = st.builds(
    CacheGrant, names, st.sampled_from(list(CacheRole)), key=st.none() | names, key_prefix=st.none()
) | st.builds(CacheGrant, names, st.sampled_from(list(CacheRole)), key=st.none(), key_prefix=names)
scopes = st.lists(topic_grants | cache_grants, min_size=1, max_size=MAX_GRANTS, unique=True).map(tuple)


@settings(max_examples=400)
@given(scope=scopes)
def test_every_scope_reaches_the_wire_exactly_entry_by_entry(scope):
    assert read_back(on_the_wire(scope)) == scope


def test_each_shape_takes_the_path_that_keeps_it_exact():
    topic = TopicGrant("chat", "room-1", TopicRole.PUBLISH_SUBSCRIBE)
    whole = CacheGrant("scratch", CacheRole.READ_WRITE)
    prefix = CacheGrant("chat", CacheRole.READ_ONLY, key_prefix="room-1:")

    assert isinstance(sdk_scope((topic,)).disposable_token_scope, Permissions)
    assert isinstance(sdk_scope((topic, whole)).disposable_token_scope, Permissions)
    assert sdk_scope((prefix, whole)) is not None  # cache grants alone: the SDK's disposable cache permissions
    assert sdk_scope((topic, prefix)) is None  # the SDK cannot say it: the wire path


def test_the_sdk_trap_is_real_a_key_prefix_inside_permissions_becomes_the_whole_cache():
    """Why the wire path exists (momento 1.29.1): this is what a naive mapping would send."""
    trap = DisposableTokenCachePermission(
        CacheSelector("chat"), SdkCacheRole.READ_ONLY, CacheItemSelector(CacheItemKeyPrefix("room-1:"))
    )

    sent = permissions_from_disposable_token_scope(DisposableTokenScope(Permissions([trap])))

    assert read_back(sent) == (CacheGrant("chat", CacheRole.READ_ONLY),)  # the whole cache: wider than asked
