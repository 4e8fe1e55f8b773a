"""Our grants in Momento's terms, never wider than asked.

Two ways to the wire (``momento-facts.md``, scopes section, momento 1.29.1):
- ``sdk_scope``: the SDK's own scope classes, where they carry the grants exactly: topic grants and
  whole-cache grants in ``Permissions([...])``, or cache grants alone (keys and key prefixes included)
  in ``DisposableTokenCachePermissions([...])``.
- ``wire_permissions``: the protobuf built here, for what the SDK cannot say: topic grants together
  with key or key-prefix cache grants. Inside ``Permissions([...])`` the SDK would drop the item
  selector and grant the whole cache; ``DisposableTokenCachePermissions`` refuses topics.
  ``WireTokenClient`` sends it on Momento's token service the way the SDK's token client does (same
  request message, same headers), and the issuer keeps its deadline, retries and error mapping.
"""

from __future__ import annotations

import sys

import grpc
from momento import CredentialProvider
from momento import __version__ as momento_version
from momento.auth.access_control.disposable_token_scope import (
    AllCacheItems,
    CacheItemKey,
    CacheItemKeyPrefix,
    CacheItemSelector,
    DisposableTokenCachePermission,
    DisposableTokenCachePermissions,
    DisposableTokenScope,
)
from momento.auth.access_control.permission_scope import (
    CachePermission,
    CacheSelector,
    Permissions,
    TopicPermission,
    TopicSelector,
)
from momento.auth.access_control.permission_scope import CacheRole as SdkCacheRole
from momento.auth.access_control.permission_scope import TopicRole as SdkTopicRole
from momento.errors import MomentoErrorCode
from momento.responses.auth.generate_disposable_token import GenerateDisposableToken
from momento_wire_types import permissionmessages_pb2 as permissions_pb
from momento_wire_types import token_pb2 as token_pb
from momento_wire_types import token_pb2_grpc as token_grpc

from token_vending_machine.errors import DependencyUnavailable
from token_vending_machine.models import CacheGrant, CacheRole, Grant, TokenScope, TopicGrant, TopicRole, VendedToken

# Our roles are named as the SDK's (``SdkTopicRole[role.name]``); on the wire they are these.
_WIRE_ROLES: dict[TopicRole | CacheRole, str] = {
    TopicRole.PUBLISH_SUBSCRIBE: "TopicReadWrite",
    TopicRole.SUBSCRIBE_ONLY: "TopicReadOnly",
    TopicRole.PUBLISH_ONLY: "TopicWriteOnly",
    CacheRole.READ_WRITE: "CacheReadWrite",
    CacheRole.READ_ONLY: "CacheReadOnly",
    CacheRole.WRITE_ONLY: "CacheWriteOnly",
}


def _item_scoped(grant: Grant) -> bool:
    return isinstance(grant, CacheGrant) and (grant.key is not None or grant.key_prefix is not None)


def sdk_scope(scope: TokenScope) -> DisposableTokenScope | None:
    """The SDK's scope for exactly these grants, or None where the SDK would send a wider one."""
    if not any(_item_scoped(grant) for grant in scope):
        return DisposableTokenScope(Permissions([_sdk_permission(grant) for grant in scope]))
    cache_grants = [grant for grant in scope if isinstance(grant, CacheGrant)]
    if len(cache_grants) == len(scope):
        return DisposableTokenScope(DisposableTokenCachePermissions([_sdk_item_permission(g) for g in cache_grants]))
    return None


def _sdk_permission(grant: Grant) -> TopicPermission | CachePermission:
    if isinstance(grant, TopicGrant):
        return TopicPermission(SdkTopicRole[grant.role.name], CacheSelector(grant.cache), TopicSelector(grant.topic))
    return CachePermission(CacheSelector(grant.cache), SdkCacheRole[grant.role.name])


def _sdk_item_permission(grant: CacheGrant) -> DisposableTokenCachePermission:
    item: CacheItemKey | CacheItemKeyPrefix | AllCacheItems
    if grant.key is not None:
        item = CacheItemKey(grant.key)
    elif grant.key_prefix is not None:
        item = CacheItemKeyPrefix(grant.key_prefix)
    else:
        item = AllCacheItems()
    return DisposableTokenCachePermission(
        CacheSelector(grant.cache), SdkCacheRole[grant.role.name], CacheItemSelector(item)
    )


def wire_permissions(scope: TokenScope) -> permissions_pb.Permissions:
    """The exact protobuf for these grants, entry by entry."""
    return permissions_pb.Permissions(
        explicit=permissions_pb.ExplicitPermissions(permissions=[_wire_permission(grant) for grant in scope])
    )


def _wire_permission(grant: Grant) -> permissions_pb.PermissionsType:
    cache = permissions_pb.PermissionsType.CacheSelector(cache_name=grant.cache)
    if isinstance(grant, TopicGrant):
        return permissions_pb.PermissionsType(
            topic_permissions=permissions_pb.PermissionsType.TopicPermissions(
                role=_WIRE_ROLES[grant.role],
                cache_selector=cache,
                topic_selector=permissions_pb.PermissionsType.TopicSelector(topic_name=grant.topic),
            )
        )
    cache_permissions = permissions_pb.PermissionsType.CachePermissions(
        role=_WIRE_ROLES[grant.role], cache_selector=cache
    )
    if grant.key is not None:
        cache_permissions.item_selector.key = grant.key.encode()
    elif grant.key_prefix is not None:
        cache_permissions.item_selector.key_prefix = grant.key_prefix.encode()
    else:
        cache_permissions.all_items.SetInParent()
    return permissions_pb.PermissionsType(cache_permissions=cache_permissions)


# gRPC status -> the SDK's error codes, as the SDK's own token client converts them.
_SDK_ERROR_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT: MomentoErrorCode.INVALID_ARGUMENT_ERROR,
    grpc.StatusCode.OUT_OF_RANGE: MomentoErrorCode.BAD_REQUEST_ERROR,
    grpc.StatusCode.UNIMPLEMENTED: MomentoErrorCode.BAD_REQUEST_ERROR,
    grpc.StatusCode.FAILED_PRECONDITION: MomentoErrorCode.FAILED_PRECONDITION_ERROR,
    grpc.StatusCode.CANCELLED: MomentoErrorCode.CANCELLED_ERROR,
    grpc.StatusCode.DEADLINE_EXCEEDED: MomentoErrorCode.TIMEOUT_ERROR,
    grpc.StatusCode.PERMISSION_DENIED: MomentoErrorCode.PERMISSION_ERROR,
    grpc.StatusCode.UNAUTHENTICATED: MomentoErrorCode.AUTHENTICATION_ERROR,
    grpc.StatusCode.RESOURCE_EXHAUSTED: MomentoErrorCode.LIMIT_EXCEEDED_ERROR,
    grpc.StatusCode.NOT_FOUND: MomentoErrorCode.NOT_FOUND_ERROR,
    grpc.StatusCode.ALREADY_EXISTS: MomentoErrorCode.ALREADY_EXISTS_ERROR,
    grpc.StatusCode.UNKNOWN: MomentoErrorCode.UNKNOWN_SERVICE_ERROR,
    grpc.StatusCode.ABORTED: MomentoErrorCode.INTERNAL_SERVER_ERROR,
    grpc.StatusCode.INTERNAL: MomentoErrorCode.INTERNAL_SERVER_ERROR,
    grpc.StatusCode.UNAVAILABLE: MomentoErrorCode.SERVER_UNAVAILABLE,
    grpc.StatusCode.DATA_LOSS: MomentoErrorCode.INTERNAL_SERVER_ERROR,
}


class WireTokenClient:
    """Momento's token service over a channel of its own: the request the SDK's token client sends,
    with the permissions built by ``wire_permissions``."""

    def __init__(self, credentials: CredentialProvider) -> None:
        endpoint, port = credentials.token_endpoint, credentials.port
        if port == 443:
            self._channel = grpc.aio.secure_channel(endpoint, grpc.ssl_channel_credentials())
        else:
            self._channel = grpc.aio.insecure_channel(f"{endpoint}:{port}")
        self._stub = token_grpc.TokenStub(self._channel)  # type: ignore[no-untyped-call]  # generated code
        self._auth_token = credentials.auth_token
        self._metadata = (
            ("authorization", credentials.auth_token),
            ("agent", f"python:token:{momento_version}"),
            ("runtime-version", f"python {sys.version_info.major}.{sys.version_info.minor}"),
        )

    async def generate(
        self, scope: TokenScope, *, valid_for_seconds: int, token_id: str | None
    ) -> VendedToken | MomentoErrorCode:
        request = token_pb._GenerateDisposableTokenRequest(
            auth_token=self._auth_token,
            expires=token_pb._GenerateDisposableTokenRequest.Expires(valid_for_seconds=valid_for_seconds),
            permissions=wire_permissions(scope),
            token_id=token_id,
        )
        try:
            response = await self._stub.GenerateDisposableToken(request, metadata=self._metadata)
        except grpc.aio.AioRpcError as exc:
            return _SDK_ERROR_CODES.get(exc.code(), MomentoErrorCode.UNKNOWN_ERROR)
        if response.valid_until <= 0:
            raise DependencyUnavailable("Momento returned a token without a valid expiry.")
        success = GenerateDisposableToken.Success.from_grpc_response(response)
        return VendedToken(auth_token=success.auth_token, expires_at=int(response.valid_until))

    async def close(self) -> None:
        await self._channel.close()
