"""Who the caller is: only what AWS verified, per user under a shared role, never a forged context."""

import pytest

from tests.events import load_event
from token_vending_machine.errors import Forbidden
from token_vending_machine.identity import (
    MAX_TOKEN_ID_LENGTH,
    Caller,
    IdentityKind,
    IdentitySource,
    verified_caller,
)

API_ID = "a1b2c3d4e5"


def context(name):
    return load_event(name)["requestContext"]


def test_cognito_identity_pool_users_are_told_apart_though_they_share_one_role():
    first = context("function-url-iam-cognito.json")
    second = context("function-url-iam-cognito.json")
    second["authorizer"]["iam"]["cognitoIdentity"]["identityId"] = "us-east-1:another-user"

    callers = {verified_caller(first), verified_caller(second)}

    assert {c.identity for c in callers} == {"us-east-1:0f5e4c3b-2a19-4d8e-9c7b-6a5f4e3d2c1b", "us-east-1:another-user"}


def test_rest_api_iam_callers_from_a_cognito_pool_are_their_identity_id():
    caller = verified_caller(context("rest-api-iam-cognito.json"))

    assert caller == Caller(IdentityKind.IAM, "us-east-1:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")


@pytest.mark.parametrize("session", ["session", "alice", "bob:topic", "x" * 64])
def test_an_assumed_role_is_the_role_whatever_session_name_the_caller_chose(session):
    ctx = context("function-url-iam-auth.json")
    ctx["authorizer"]["iam"]["userArn"] = f"arn:aws:sts::123456789012:assumed-role/worker/{session}"

    assert verified_caller(ctx).identity == "arn:aws:sts::123456789012:assumed-role/worker"


def test_iam_users_keep_their_arn():
    ctx = context("function-url-iam-auth.json")
    ctx["authorizer"]["iam"]["userArn"] = "arn:aws:iam::123456789012:user/alice"

    assert verified_caller(ctx).identity == "arn:aws:iam::123456789012:user/alice"


def test_long_identities_map_to_stable_distinct_token_ids_within_momentos_limit():
    long_a, long_b = "a" * 100, "a" * 99 + "b"

    ids = [Caller(IdentityKind.JWT, identity).token_id for identity in (long_a, long_a, long_b)]

    assert all(len(token_id) <= MAX_TOKEN_ID_LENGTH for token_id in ids)
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].startswith("a" * 22 + "~")
    assert Caller(IdentityKind.JWT, "short-sub").token_id == "short-sub"


@pytest.mark.parametrize(
    ("accepted", "name"),
    [
        (IdentitySource.NONE, "http-api-jwt-authorizer.json"),
        (IdentitySource.NONE, "function-url-iam-auth.json"),
        (IdentitySource.IAM, "http-api-jwt-authorizer.json"),
        (IdentitySource.JWT, "function-url-iam-auth.json"),
        (IdentitySource.JWT, "rest-api-iam-cognito.json"),
    ],
)
def test_an_identity_the_front_door_does_not_issue_is_refused(accepted, name):
    with pytest.raises(Forbidden):
        verified_caller(context(name), accepted=accepted)


def test_a_context_carrying_two_kinds_of_identity_is_refused():
    ctx = context("http-api-jwt-authorizer.json")
    ctx["authorizer"]["iam"] = context("function-url-iam-auth.json")["authorizer"]["iam"]

    with pytest.raises(Forbidden):
        verified_caller(ctx, accepted=IdentitySource.JWT)


def test_an_identity_from_another_api_is_refused():
    ctx = context("http-api-jwt-authorizer.json")
    ctx["apiId"] = "zzzzzzzzzz"

    with pytest.raises(Forbidden, match="API"):
        verified_caller(ctx, accepted=IdentitySource.JWT, api_id=API_ID)


def test_an_identity_from_the_deployments_own_api_is_believed():
    caller = verified_caller(context("http-api-jwt-authorizer.json"), accepted=IdentitySource.JWT, api_id=API_ID)

    assert caller == Caller(IdentityKind.JWT, "8d7f1c2e-alice")


def test_anonymous_requests_have_no_caller_whatever_the_source():
    assert verified_caller(context("function-url-post.json"), accepted=IdentitySource.JWT, api_id=API_ID) is None


@pytest.mark.parametrize(
    ("identity", "namespace"),
    [("alice", "alice"), ("us-east-1:abc", "us-east-1%3Aabc"), ("50%:x", "50%25%3Ax"), ("*", "*")],
)
def test_namespaces_never_contain_the_separator(identity, namespace):
    assert Caller(IdentityKind.IAM, identity).namespace == namespace
