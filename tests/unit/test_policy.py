import pytest

from token_vending_machine.errors import Forbidden
from token_vending_machine.models import Permission, TokenRequest
from token_vending_machine.names import Env
from token_vending_machine.policy import Policy
from token_vending_machine.settings import load_settings


def policy(**env: str) -> Policy:
    return Policy(load_settings({Env.SECRET_NAME: "s", **env}))


def request(cache: str = "chat", topic: str = "room-1", permission: str = "publish_subscribe") -> TokenRequest:
    return TokenRequest(cacheName=cache, topicName=topic, permission=Permission(permission))


def test_the_default_policy_is_the_originals_anything_goes():
    policy().check(request("any-cache", "any-topic"), identity=None)


@pytest.mark.parametrize(
    ("env", "req", "reason"),
    [
        ({Env.ALLOWED_CACHES: "chat,lobby"}, request(cache="billing"), "cache 'billing'"),
        ({Env.ALLOWED_TOPICS: "room-*,announcements"}, request(topic="admin"), "topic 'admin'"),
        ({Env.ALLOWED_PERMISSIONS: "subscribe"}, request(permission="publish_subscribe"), "'publish_subscribe'"),
        ({Env.ALLOWED_PERMISSIONS: "subscribe"}, request(permission="publish"), "'publish'"),
    ],
)
def test_refusals_say_why(env, req, reason):
    with pytest.raises(Forbidden) as caught:
        policy(**env).check(req, identity=None)

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
    policy(**env).check(req, identity=None)


def test_topic_patterns_are_case_sensitive_globs():
    with pytest.raises(Forbidden):
        policy(**{Env.ALLOWED_TOPICS: "room-*"}).check(request(topic="ROOM-1"), identity=None)


def test_per_identity_topics_belong_to_their_caller():
    rule = policy(**{Env.TOPICS_PER_IDENTITY: "true"})

    rule.check(request(topic="alice"), identity="alice")
    rule.check(request(topic="alice:inbox"), identity="alice")
    for topic, identity in [("bob:inbox", "alice"), ("alice2:inbox", "alice"), ("alice", None)]:
        with pytest.raises(Forbidden):
            rule.check(request(topic=topic), identity=identity)
