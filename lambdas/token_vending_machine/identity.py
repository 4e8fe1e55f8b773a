"""Who is calling: the identity AWS verified before the function ran, read from the event's request context.

Only the front door's authorizer puts an identity into an event, but anyone allowed to invoke the
function directly can write one. So the deployment says which kind of identity its front door
produces (``IDENTITY_SOURCE``) and which API it is (``FRONT_DOOR_API_ID``); an event that carries
another kind, or comes from another API, is refused rather than believed.

The identity becomes the token's id (what subscribers see as the publisher) and, with
``TOPICS_PER_IDENTITY``, the caller's topic namespace.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from token_vending_machine.errors import Forbidden

# Momento's JS SDK refuses longer token ids; the Python SDK does not check.
MAX_TOKEN_ID_LENGTH = 64
_TOKEN_ID_PREFIX_LENGTH = 22  # + "~" + 41 characters of the identity's SHA-256 = 64
# With TOPICS_PER_IDENTITY, a caller's topics are "<namespace>" or "<namespace>:<anything>".
NAMESPACE_SEPARATOR = ":"


class IdentityKind(StrEnum):
    """Where in the event a verified identity comes from."""

    JWT = "jwt"  # HTTP API JWT authorizer, REST API Cognito user pool authorizer: the token's `sub`
    IAM = "iam"  # SigV4 (Function URL AWS_IAM, API Gateway IAM): Cognito identity id, else the IAM principal
    LAMBDA = "lambda"  # REST API Lambda authorizer: its principalId


class IdentitySource(StrEnum):
    """The ``IDENTITY_SOURCE`` setting: the one kind of identity the deployment's front door produces."""

    ANY = "any"  # believe whichever identity the event carries (front doors the stack did not build)
    NONE = "none"  # the front door verifies nobody: an event that carries an identity is forged
    JWT = IdentityKind.JWT.value
    IAM = IdentityKind.IAM.value
    LAMBDA = IdentityKind.LAMBDA.value


class Caller(NamedTuple):
    """A verified caller. ``identity`` is what AWS verified; the rest derives from it."""

    kind: IdentityKind
    identity: str

    @property
    def token_id(self) -> str:
        """The identity itself when it fits Momento's 64 characters, else a readable prefix and its hash."""
        if len(self.identity) <= MAX_TOKEN_ID_LENGTH:
            return self.identity
        digest = base64.urlsafe_b64encode(hashlib.sha256(self.identity.encode()).digest()).decode()
        return f"{self.identity[:_TOKEN_ID_PREFIX_LENGTH]}~{digest[:41]}"

    @property
    def namespace(self) -> str:
        """The caller's topic namespace: the identity with ``%`` and ``:`` percent-encoded.

        Encoded, no namespace contains the separator, so no caller's topics ("us-east-1" +
        ":...") can reach into another's ("us-east-1:abc"), whatever characters identities hold.
        """
        return self.identity.replace("%", "%25").replace(NAMESPACE_SEPARATOR, "%3A")


def verified_caller(
    request_context: Mapping[str, Any], *, accepted: IdentitySource = IdentitySource.ANY, api_id: str | None = None
) -> Caller | None:
    """The caller the front door verified, or None for an anonymous request.

    Raises Forbidden when the event carries an identity the deployment's front door cannot have
    produced: one of another kind, or one from an API other than ``api_id``.
    """
    found = _identities(request_context)
    if not found:
        return None
    caller = found[0]
    if accepted is not IdentitySource.ANY and (len(found) > 1 or caller.kind.value != accepted.value):
        raise Forbidden("This request carries a caller identity that this deployment's front door does not issue.")
    if api_id is not None and request_context.get("apiId") != api_id:
        raise Forbidden("This request did not come through this deployment's API.")
    return caller


def _identities(context: Mapping[str, Any]) -> list[Caller]:
    """Every identity the context carries, most specific first."""
    authorizer = _dig(context, "authorizer")
    candidates = [
        (IdentityKind.JWT, _text(_dig(authorizer, "jwt", "claims", "sub"))),  # HTTP API JWT authorizer
        (
            IdentityKind.IAM,
            _iam_identity(_dig(authorizer, "iam", "cognitoIdentity", "identityId"), _dig(authorizer, "iam", "userArn")),
        ),
        (IdentityKind.JWT, _text(_dig(authorizer, "claims", "sub"))),  # REST API Cognito user pool authorizer
        (IdentityKind.LAMBDA, _text(_dig(authorizer, "principalId"))),  # REST API Lambda authorizer
        (
            IdentityKind.IAM,
            _iam_identity(_dig(context, "identity", "cognitoIdentityId"), _dig(context, "identity", "userArn")),
        ),
    ]
    return [Caller(kind, identity) for kind, identity in candidates if identity is not None]


def _iam_identity(cognito_identity_id: Any, user_arn: Any) -> str | None:
    """A Cognito identity pool user by their identity id (all of them share the pool role's ARN), else the
    IAM principal, an assumed role being the role: its session name is the caller's own choice."""
    cognito_id = _text(cognito_identity_id)
    if cognito_id is not None:
        return cognito_id
    arn = _text(user_arn)
    return None if arn is None else principal_of(arn)


def principal_of(arn: str) -> str:
    """``arn:aws:sts::1:assumed-role/Role/session`` -> ``arn:aws:sts::1:assumed-role/Role``; others unchanged."""
    prefix, marker, rest = arn.partition(":assumed-role/")
    if not marker:
        return arn
    return f"{prefix}{marker}{rest.split('/', 1)[0]}"


def _dig(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, dict):  # events are parsed JSON: plain dicts
            return None
        data = data.get(part)
    return data


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
