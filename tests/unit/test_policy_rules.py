"""The POLICY document: rules per cache, topic or key pattern and role, with {identity} for the caller."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from token_vending_machine.errors import ConfigurationError, Forbidden
from token_vending_machine.identity import Caller, IdentityKind
from token_vending_machine.models import CacheGrant, CacheRole, TopicGrant, TopicRole
from token_vending_machine.names import Env
from token_vending_machine.policy import Policy
from token_vending_machine.settings import load_settings

ALICE, BOB = Caller(IdentityKind.JWT, "alice"), Caller(IdentityKind.JWT, "bob")
# The README's three worked examples.
PUBLIC_CHAT = {
    "rules": [
        {"cache": "chat", "topic": "room-*", "roles": ["publishsubscribe"]},
        {"cache": "chat", "topic": "announcements", "roles": ["subscribeonly"]},
        {"cache": "chat", "key": "room-*", "roles": ["readonly"]},
    ]
}
PER_USER_DOCUMENTS = {
    "rules": [
        {"cache": "docs", "key": "{identity}:*", "roles": ["readwrite"]},
        {"cache": "docs", "topic": "lobby", "roles": ["subscribeonly"]},
    ]
}
DASHBOARDS = {
    "rules": [
        {"cache": "metrics-*", "key": "*", "roles": ["readonly"]},
        {"cache": "metrics-*", "topic": "*", "roles": ["subscribeonly"]},
    ]
}


def policy(document: dict) -> Policy:
    settings = load_settings({Env.SECRET_NAME: "s", Env.POLICY: json.dumps(document)})
    return Policy(settings.policy_rules(), topics_per_identity=settings.topics_per_identity)


def topic(cache: str, name: str, role: str = "publishsubscribe") -> TopicGrant:
    return TopicGrant(cache, name, TopicRole(role))


def items(cache: str, role: str, *, key: str | None = None, key_prefix: str | None = None) -> CacheGrant:
    return CacheGrant(cache, CacheRole(role), key=key, key_prefix=key_prefix)


@pytest.mark.parametrize(
    ("document", "scope", "caller"),
    [
        (PUBLIC_CHAT, (topic("chat", "room-1"), items("chat", "readonly", key_prefix="room-1:")), None),
        (PUBLIC_CHAT, (topic("chat", "announcements", "subscribeonly"),), None),
        (PUBLIC_CHAT, (topic("chat", "room-1", "subscribeonly"),), None),  # narrower roles are implied
        (PER_USER_DOCUMENTS, (items("docs", "readwrite", key="alice:draft"),), ALICE),
        (PER_USER_DOCUMENTS, (items("docs", "readonly", key_prefix="alice:"),), ALICE),
        (
            PER_USER_DOCUMENTS,
            (items("docs", "writeonly", key_prefix="alice:notes/"), topic("docs", "lobby", "subscribeonly")),
            ALICE,
        ),
        (DASHBOARDS, (items("metrics-eu", "readonly"), topic("metrics-eu", "cpu", "subscribeonly")), None),
    ],
)
def test_what_the_rules_grant_is_vended(document, scope, caller):
    policy(document).check(scope, caller)


@pytest.mark.parametrize(
    ("document", "scope", "caller", "reason"),
    [
        (PUBLIC_CHAT, (topic("chat", "announcements"),), None, "Role 'publishsubscribe'"),
        (PUBLIC_CHAT, (topic("chat", "room-1"), items("chat", "readwrite", key="room-1:x")), None, "permissions[1]"),
        (PUBLIC_CHAT, (items("chat", "readonly"),), None, "every key"),  # the whole cache: the rule says room-*
        (PUBLIC_CHAT, (items("chat", "readonly", key_prefix="room"),), None, "keys starting 'room'"),
        (PUBLIC_CHAT, (topic("billing", "room-1"),), None, "cache 'billing'"),
        (PER_USER_DOCUMENTS, (items("docs", "readwrite", key="bob:draft"),), ALICE, "key 'bob:draft'"),
        (PER_USER_DOCUMENTS, (items("docs", "readwrite", key_prefix="al"),), ALICE, "keys starting 'al'"),
        (PER_USER_DOCUMENTS, (items("docs", "readwrite", key="alice:draft"),), None, "key 'alice:draft'"),
        (PER_USER_DOCUMENTS, (topic("docs", "lobby"),), ALICE, "Role 'publishsubscribe'"),
        (DASHBOARDS, (items("metrics-eu", "writeonly"),), None, "Role 'writeonly'"),
    ],
)
def test_what_no_rule_grants_is_a_403_naming_the_entry(document, scope, caller, reason):
    with pytest.raises(Forbidden) as caught:
        policy(document).check(scope, caller)

    assert reason in caught.value.message


def test_identity_characters_are_literal_in_patterns():
    rules = policy(PER_USER_DOCUMENTS)
    star = Caller(IdentityKind.JWT, "*")

    rules.check((items("docs", "readwrite", key="*:x"),), star)
    with pytest.raises(Forbidden):
        rules.check((items("docs", "readwrite", key="alice:x"),), star)
    with pytest.raises(Forbidden):
        rules.check((items("docs", "readwrite", key_prefix="*"),), star)


def test_a_prefix_is_granted_only_where_every_key_under_it_matches():
    rules = policy({"rules": [{"cache": "c", "key": "a?c*", "roles": ["readonly"]}]})

    rules.check((items("c", "readonly", key="abcd"),), None)
    with pytest.raises(Forbidden):  # "abc" would match, but a prefix under a pattern with "?" is not provable
        rules.check((items("c", "readonly", key_prefix="abc"),), None)


@settings(max_examples=200)
@given(
    identities=st.lists(st.text(alphabet="ab:%*?[", min_size=1, max_size=5), min_size=2, max_size=2, unique=True),
    suffix=st.text(alphabet="ab:", max_size=4),
)
def test_no_caller_reaches_another_callers_keys(identities, suffix):
    rules = policy(PER_USER_DOCUMENTS)
    mine, theirs = (Caller(IdentityKind.JWT, identity) for identity in identities)
    key = f"{theirs.namespace}:{suffix}"

    rules.check((items("docs", "readwrite", key=key),), theirs)
    with pytest.raises(Forbidden):
        rules.check((items("docs", "readwrite", key=key),), mine)


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"rules": []}, "POLICY.rules"),
        ({"rules": [{"cache": "c", "roles": ["readonly"]}]}, "POLICY.rules.0"),
        ({"rules": [{"cache": "c", "topic": "t", "key": "k", "roles": ["readonly"]}]}, "POLICY.rules.0"),
        ({"rules": [{"cache": "c", "topic": "t", "roles": ["readonly"]}]}, "POLICY.rules.0"),
        ({"rules": [{"cache": "c", "topic": "t", "roles": ["admin"]}]}, "POLICY.rules.0.roles.0"),
        ({"rules": [{"cache": "c", "key": "{user}:*", "roles": ["readonly"]}]}, "POLICY.rules.0"),
        ({"rules": [{"cache": "{identity}", "key": "*", "roles": ["readonly"]}]}, "POLICY.rules.0"),
        ({"rules": [{"cache": "c", "topic": "t", "roles": ["subscribeonly"], "typo": 1}]}, "POLICY.rules.0.typo"),
    ],
)
def test_a_bad_policy_fails_the_cold_start_naming_the_rule(document, where):
    with pytest.raises(ConfigurationError) as caught:
        load_settings({Env.SECRET_NAME: "s", Env.POLICY: json.dumps(document)})

    assert where in caught.value.message


def test_a_policy_and_the_original_settings_are_one_or_the_other():
    with pytest.raises(ConfigurationError, match="POLICY replaces ALLOWED_TOPICS"):
        load_settings({Env.SECRET_NAME: "s", Env.POLICY: json.dumps(DASHBOARDS), Env.ALLOWED_TOPICS: "room-*"})


def test_without_a_policy_caches_are_closed_and_topics_open_as_the_original():
    settings = load_settings({Env.SECRET_NAME: "s"})
    rules = Policy(settings.policy_rules())

    rules.check((topic("any", "thing"),), None)
    with pytest.raises(Forbidden, match="Cache permissions for cache 'any'"):
        rules.check((items("any", "readonly"),), None)
