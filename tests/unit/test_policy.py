import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from token_vending_machine.errors import Forbidden
from token_vending_machine.identity import Caller, IdentityKind
from token_vending_machine.models import Permission, TokenRequest, TokenScope
from token_vending_machine.names import Env
from token_vending_machine.policy import Policy
from token_vending_machine.settings import load_settings


def policy(**env: str) -> Policy:
    settings = load_settings({Env.SECRET_NAME: "s", **env})
    return Policy(settings.policy_rules(), topics_per_identity=settings.topics_per_identity)


def jwt(sub: str) -> Caller:
    return Caller(IdentityKind.JWT, sub)


def request(cache: str = "chat", topic: str = "room-1", permission: str = "publish_subscribe") -> TokenScope:
    return TokenRequest(cacheName=cache, topicName=topic, permission=Permission(permission)).scope


def test_the_default_policy_is_the_originals_anything_goes():
    policy().check(request("any-cache", "any-topic"), None)


@pytest.mark.parametrize(
    ("env", "req", "reason"),
    [
        ({Env.ALLOWED_CACHES: "chat,lobby"}, request(cache="billing"), "cache 'billing'"),
        ({Env.ALLOWED_TOPICS: "room-*,announcements"}, request(topic="admin"), "topic 'admin'"),
        ({Env.ALLOWED_PERMISSIONS: "subscribe"}, request(permission="publish_subscribe"), "'publishsubscribe'"),
        ({Env.ALLOWED_PERMISSIONS: "subscribe"}, request(permission="publish"), "'publishonly'"),
    ],
)
def test_refusals_say_why(env, req, reason):
    with pytest.raises(Forbidden) as caught:
        policy(**env).check(req, None)

    assert reason in caught.value.message


@pytest.mark.parametrize(
    ("env", "req"),
    [
        ({Env.ALLOWED_CACHES: "chat,lobby"}, request(cache="lobby")),
        ({Env.ALLOWED_CACHES: "game-*"}, request(cache="game-eu")),
        ({Env.ALLOWED_TOPICS: "room-*,announcements"}, request(topic="room-42")),
        ({Env.ALLOWED_TOPICS: "room-*,announcements"}, request(topic="announcements")),
        ({Env.ALLOWED_PERMISSIONS: "subscribe"}, request(permission="subscribe")),
    ],
)
def test_what_policy_allows_passes(env, req):
    policy(**env).check(req, None)


def test_topic_patterns_are_case_sensitive_globs():
    with pytest.raises(Forbidden):
        policy(**{Env.ALLOWED_TOPICS: "room-*"}).check(request(topic="ROOM-1"), None)


def test_per_identity_topics_belong_to_their_caller():
    rule = policy(**{Env.TOPICS_PER_IDENTITY: "true"})

    rule.check(request(topic="alice"), jwt("alice"))
    rule.check(request(topic="alice:inbox"), jwt("alice"))
    for topic, identity in [("bob:inbox", "alice"), ("alice2:inbox", "alice"), ("alice", None)]:
        with pytest.raises(Forbidden):
            rule.check(request(topic=topic), None if identity is None else jwt(identity))


def owned_topics(caller):
    return [caller.namespace, caller.namespace + ":inbox", caller.namespace + ":a:b"]


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        ("us-east-1", "us-east-1:abc"),  # Cognito identity ids contain the separator
        ("alice", "alice:bob"),
        ("a%3Ab", "a:b"),
        ("*", "alice"),  # glob characters in an identity mean themselves
        ("al?ce", "alice"),
        ("[a]lice", "alice"),
    ],
)
def test_no_identity_reaches_another_identitys_topics(mine, theirs):
    rule = policy(**{Env.TOPICS_PER_IDENTITY: "true", Env.ALLOWED_TOPICS: "*:*,*"})
    for topic in owned_topics(jwt(theirs)):
        rule.check(request(topic=topic), jwt(theirs))
        with pytest.raises(Forbidden):
            rule.check(request(topic=topic), jwt(mine))


@settings(max_examples=300)
@given(identities=st.lists(st.text(alphabet="ab:%*", min_size=1, max_size=6), min_size=2, max_size=2, unique=True))
def test_no_two_identities_share_a_topic(identities):
    rule = policy(**{Env.TOPICS_PER_IDENTITY: "true"})
    mine, theirs = (jwt(identity) for identity in identities)
    for topic in owned_topics(theirs):
        with pytest.raises(Forbidden):
            rule.check(request(topic=topic), mine)


def test_an_identity_with_a_colon_has_its_topics_under_its_encoded_namespace():
    rule = policy(**{Env.TOPICS_PER_IDENTITY: "true"})

    rule.check(request(topic="us-east-1%3Aabc:inbox"), jwt("us-east-1:abc"))
