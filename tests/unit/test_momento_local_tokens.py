"""The local Momento service's JWTs, permission checks and fault bookkeeping, without sockets."""

from __future__ import annotations

import base64
import json
import threading
import time

import grpc
import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from momento_wire_types import permissionmessages_pb2 as permissions_pb

from momento_local.faults import FaultInjector
from momento_local.tokens import (
    MAX_VALID_FOR_SECONDS,
    ExpiredTokenError,
    InvalidTokenError,
    TokenSigner,
    TopicAction,
    allows_topic_action,
    decode_jwt,
    encode_jwt,
    validate_disposable_request,
)

SECRET = b"unit-test-secret-of-thirty-two-b"
PUBLISH, SUBSCRIBE = TopicAction.PUBLISH, TopicAction.SUBSCRIBE
Grant = permissions_pb.PermissionsType
ALL = Grant.All()


def topic_grant(role, *, cache: str | None = "cache", topic: str | None = "topic", prefix: str | None = None):
    kwargs = {"role": role}
    kwargs.update({"cache_selector": Grant.CacheSelector(cache_name=cache)} if cache else {"all_caches": ALL})
    if prefix is not None:
        kwargs["topic_selector"] = Grant.TopicSelector(topic_name_prefix=prefix)
    elif topic is not None:
        kwargs["topic_selector"] = Grant.TopicSelector(topic_name=topic)
    else:
        kwargs["all_topics"] = ALL
    return Grant(topic_permissions=Grant.TopicPermissions(**kwargs))


def permissions(*grants) -> permissions_pb.Permissions:
    return permissions_pb.Permissions(explicit=permissions_pb.ExplicitPermissions(permissions=list(grants)))


def disposable(issuer: TokenSigner, *grants, valid_for_seconds: int = 60):
    token, _ = issuer.mint_disposable_token(permissions(*grants), valid_for_seconds=valid_for_seconds)
    return issuer.decode(token)


@pytest.fixture
def issuer() -> TokenSigner:
    return TokenSigner(SECRET)


# -- HS256 --------------------------------------------------------------------------------------


def test_our_jwts_verify_with_pyjwt_and_pyjwt_ones_verify_with_ours():
    claims = {"sub": "me", "ver": 1, "exp": int(time.time()) + 60}

    assert jwt.decode(encode_jwt(claims, SECRET), SECRET, algorithms=["HS256"]) == claims
    assert decode_jwt(jwt.encode(claims, SECRET, algorithm="HS256"), SECRET) == claims


@given(st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=20), st.booleans())))
def test_any_claims_round_trip(claims):
    assert decode_jwt(encode_jwt(claims, SECRET), SECRET, verify_expiry=False) == claims


def test_a_token_signed_with_another_secret_is_refused():
    with pytest.raises(InvalidTokenError, match="signature"):
        decode_jwt(encode_jwt({"sub": "x"}, b"other"), SECRET)


def test_a_tampered_payload_is_refused():
    header, _, signature = encode_jwt({"sub": "x"}, SECRET).split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"sub": "admin"}).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidTokenError):
        decode_jwt(f"{header}.{forged}.{signature}", SECRET)


def test_alg_none_is_refused():
    unsigned = jwt.encode({"sub": "x"}, key=None, algorithm="none")
    with pytest.raises(InvalidTokenError, match="algorithm"):
        decode_jwt(unsigned, SECRET)


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "a.b", "!!.??.**"])
def test_garbage_is_refused(garbage):
    with pytest.raises(InvalidTokenError):
        decode_jwt(garbage, SECRET)


def test_expiry_is_checked_unless_asked_not_to():
    token = encode_jwt({"exp": int(time.time()) - 1}, SECRET)

    with pytest.raises(ExpiredTokenError):
        decode_jwt(token, SECRET)
    assert decode_jwt(token, SECRET, verify_expiry=False)["exp"] < time.time()


# -- keys and disposable tokens -------------------------------------------------------------------


def test_an_api_key_looks_like_a_momento_v2_key(issuer):
    key = issuer.create_api_key()

    claims = jwt.decode(key, SECRET, algorithms=["HS256"])
    assert claims["t"] == "g"
    assert "exp" not in claims
    assert issuer.decode(key).is_api_key


def test_a_disposable_token_carries_its_permissions_id_and_expiry(issuer):
    granted = permissions(topic_grant(permissions_pb.TopicReadWrite))

    token, expires_at = issuer.mint_disposable_token(granted, valid_for_seconds=600, token_id="user-1")

    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["t"] == "d"
    assert claims["ver"] == 1
    assert claims["sub"] == claims["tid"] == "user-1"
    assert claims["exp"] == expires_at == claims["iat"] + 600
    assert permissions_pb.Permissions.FromString(base64.b64decode(claims["p"])) == granted
    decoded = issuer.decode(token)
    assert (decoded.token_id, decoded.expires_at, decoded.permissions) == ("user-1", expires_at, granted)


def test_without_a_token_id_the_subject_is_a_default_and_there_is_no_tid(issuer):
    decoded = disposable(issuer, topic_grant(permissions_pb.TopicReadWrite))

    assert decoded.subject == "momento-local"
    assert decoded.token_id is None
    assert "tid" not in decoded.claims


def test_decode_accepts_the_sdk_auth_token_wrapper(issuer):
    token, _ = issuer.mint_disposable_token(permissions(topic_grant(1)), valid_for_seconds=60)
    wrapped = base64.b64encode(json.dumps({"endpoint": "127.0.0.1:1", "api_key": token}).encode()).decode()

    assert issuer.decode(wrapped).claims == issuer.decode(token).claims


def test_a_token_of_unknown_type_is_refused(issuer):
    with pytest.raises(InvalidTokenError, match="type"):
        issuer.decode(encode_jwt({"t": "x"}, SECRET))


# -- what GenerateDisposableToken accepts ----------------------------------------------------------

ONE_GRANT = permissions(topic_grant(permissions_pb.TopicReadWrite))


@pytest.mark.parametrize("seconds", [1, 3600, MAX_VALID_FOR_SECONDS])
def test_expiry_from_one_second_to_25_hours_is_accepted(seconds):
    assert validate_disposable_request(seconds, ONE_GRANT) is None


@pytest.mark.parametrize("seconds", [0, MAX_VALID_FOR_SECONDS + 1])
def test_expiry_outside_one_second_to_25_hours_is_refused(seconds):
    assert "expiry" in validate_disposable_request(seconds, ONE_GRANT)


@pytest.mark.parametrize(
    ("granted", "problem"),
    [
        (permissions_pb.Permissions(), "required"),
        (permissions(), "at least one"),
        (permissions(*[topic_grant(1, topic=f"t{i}") for i in range(21)]), "at most 20"),
        (permissions_pb.Permissions(super_user=permissions_pb.SuperUser), "super user"),
    ],
)
def test_bad_permissions_are_refused(granted, problem):
    assert problem in validate_disposable_request(60, granted)


def test_twenty_statements_are_accepted():
    assert validate_disposable_request(60, permissions(*[topic_grant(1, topic=f"t{i}") for i in range(20)])) is None


# -- topic permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "may_publish", "may_subscribe"),
    [
        (permissions_pb.TopicReadWrite, True, True),
        (permissions_pb.TopicReadOnly, False, True),
        (permissions_pb.TopicWriteOnly, True, False),
        (permissions_pb.TopicPermitNone, False, False),
    ],
)
def test_the_role_decides_publish_and_subscribe(issuer, role, may_publish, may_subscribe):
    token = disposable(issuer, topic_grant(role))

    assert allows_topic_action(token, "cache", "topic", PUBLISH) is may_publish
    assert allows_topic_action(token, "cache", "topic", SUBSCRIBE) is may_subscribe


@pytest.mark.parametrize(
    ("grant", "cache", "topic", "allowed"),
    [
        (topic_grant(1), "cache", "topic", True),
        (topic_grant(1), "cache", "other", False),
        (topic_grant(1), "other", "topic", False),
        (topic_grant(1, cache=None), "any-cache", "topic", True),
        (topic_grant(1, topic=None), "cache", "any-topic", True),
        (topic_grant(1, topic=None), "other", "any-topic", False),
        (topic_grant(1, cache=None, topic=None), "any", "thing", True),
        (topic_grant(1, prefix="chat-"), "cache", "chat-room-1", True),
        (topic_grant(1, prefix="chat-"), "cache", "news", False),
    ],
)
def test_cache_and_topic_selectors(issuer, grant, cache, topic, allowed):
    assert allows_topic_action(disposable(issuer, grant), cache, topic, SUBSCRIBE) is allowed


def test_cache_permissions_do_not_grant_topics(issuer):
    cache_grant = Grant(
        cache_permissions=Grant.CachePermissions(
            role=permissions_pb.CacheReadWrite, cache_selector=Grant.CacheSelector(cache_name="cache"), all_items=ALL
        )
    )
    assert not allows_topic_action(disposable(issuer, cache_grant), "cache", "topic", PUBLISH)


def test_any_matching_statement_is_enough(issuer):
    token = disposable(issuer, topic_grant(permissions_pb.TopicReadOnly), topic_grant(2, topic="b"), topic_grant(3))

    assert allows_topic_action(token, "cache", "topic", PUBLISH)
    assert allows_topic_action(token, "cache", "b", SUBSCRIBE)
    assert not allows_topic_action(token, "cache", "b", PUBLISH)


def test_an_api_key_may_do_everything(issuer):
    key = issuer.decode(issuer.create_api_key())

    assert allows_topic_action(key, "any", "thing", PUBLISH)
    assert allows_topic_action(key, "any", "thing", SUBSCRIBE)


# -- faults -----------------------------------------------------------------------------------------


def test_a_fault_applies_the_given_number_of_times_then_calls_pass():
    faults = FaultInjector()
    faults.inject("Publish", grpc.StatusCode.UNAVAILABLE, times=2)

    taken = [faults.record_call("Publish") for _ in range(3)]

    assert [fault.status if fault else None for fault in taken] == [grpc.StatusCode.UNAVAILABLE] * 2 + [None]
    assert faults.call_count("Publish") == 3
    assert faults.call_count("Subscribe") == 0


def test_faults_apply_in_order_only_to_their_rpc_and_clear():
    faults = FaultInjector()
    faults.inject("Publish", grpc.StatusCode.INTERNAL)
    faults.inject("Publish", grpc.StatusCode.UNAVAILABLE, times=None)

    assert faults.record_call("Subscribe") is None
    assert faults.record_call("Publish").status is grpc.StatusCode.INTERNAL
    assert all(faults.record_call("Publish").status is grpc.StatusCode.UNAVAILABLE for _ in range(5))
    faults.clear()
    assert faults.record_call("Publish") is None


def test_call_counts_reset():
    faults = FaultInjector()
    faults.record_call("GenerateDisposableToken")

    faults.reset_call_counts()

    assert faults.call_count("GenerateDisposableToken") == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rpc": "Increment", "status": grpc.StatusCode.INTERNAL},
        {"rpc": "Publish"},
        {"rpc": "Publish", "delay_seconds": 1, "times": 0},
    ],
)
def test_nonsense_faults_are_refused(kwargs):
    with pytest.raises(ValueError):
        FaultInjector().inject(**kwargs)


def test_a_delay_is_cut_short_when_waiters_are_released():
    faults = FaultInjector()
    threading.Timer(0.05, faults.release_waiters).start()

    started = time.monotonic()
    assert faults.wait(30) is True
    assert time.monotonic() - started < 5
