"""Who may have which token: the operator's rules, checked grant by grant against the verified caller.

A policy is a list of rules. A topic rule grants roles on the topics of some caches; a cache rule
grants roles on the items of some caches whose keys match a pattern. Patterns are names or
case-sensitive globs (``*`` any text, ``?`` one character, ``[...]`` a set), and ``{identity}``
stands for the verified caller's namespace (``Caller.namespace``): a rule that names it grants
nothing to anonymous callers. A role implies the narrower ones (``readwrite`` allows ``readonly``
and ``writeonly``; ``publishsubscribe`` allows ``subscribeonly`` and ``publishonly``).

A cache grant on one key needs a rule whose key pattern matches the key; on a key prefix, a rule
whose pattern is ``*`` or ``<literal>*`` with the literal a prefix of it (so every key the grant
covers matches); on the whole cache, a rule whose key pattern is ``*``.

Without a POLICY document, the original's settings become the rules: one topic rule per allowed
cache and topic, with the allowed permissions, and no cache rules (the original vends topics only).
TOPICS_PER_IDENTITY keeps its meaning: every topic must also be "<namespace>" or "<namespace>:...".
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from token_vending_machine.errors import Forbidden
from token_vending_machine.identity import NAMESPACE_SEPARATOR, Caller
from token_vending_machine.models import (
    TOPIC_ROLE_OF_PERMISSION,
    CacheGrant,
    CacheRole,
    Grant,
    Permission,
    TokenScope,
    TopicGrant,
    TopicRole,
)

IDENTITY = "{identity}"
_GLOB = re.compile(r"[*?\[]")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_NARROWER: dict[str, frozenset[str]] = {
    CacheRole.READ_WRITE: frozenset(CacheRole),
    CacheRole.READ_ONLY: frozenset({CacheRole.READ_ONLY}),
    CacheRole.WRITE_ONLY: frozenset({CacheRole.WRITE_ONLY}),
    TopicRole.PUBLISH_SUBSCRIBE: frozenset(TopicRole),
    TopicRole.SUBSCRIBE_ONLY: frozenset({TopicRole.SUBSCRIBE_ONLY}),
    TopicRole.PUBLISH_ONLY: frozenset({TopicRole.PUBLISH_ONLY}),
}


def _check_pattern(value: str) -> str:
    unknown = [p for p in _PLACEHOLDER.findall(value) if p != IDENTITY]
    if unknown:
        raise ValueError(f"unknown placeholder {unknown[0]}; only {IDENTITY} is known")
    return value


Pattern = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$"),
    Field(strict=True),
]


class Rule(BaseModel):
    """``{"cache": "chat", "topic": "room-*", "roles": ["subscribeonly"]}`` or
    ``{"cache": "docs", "key": "{identity}:*", "roles": ["readwrite"]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cache: Pattern
    topic: Pattern | None = None
    key: Pattern | None = None
    roles: tuple[TopicRole | CacheRole, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        if (self.topic is None) == (self.key is None):
            raise ValueError('a rule has "topic" (a topic rule) or "key" (a cache rule), not both or neither')
        wanted, kind = (TopicRole, "topic") if self.topic is not None else (CacheRole, "cache")
        if any(not isinstance(role, wanted) for role in self.roles):
            raise ValueError(f"a {kind} rule's roles are {', '.join(wanted)}")
        for pattern in (self.cache, self.topic, self.key):
            if pattern is not None:
                _check_pattern(pattern)
        if IDENTITY in self.cache:
            raise ValueError(f"{IDENTITY} may stand in topic and key patterns, not in cache patterns")
        return self

    def allows(self, grant: Grant, caller: Caller | None) -> bool:
        if not fnmatchcase(grant.cache, self.cache):
            return False
        if not any(grant.role in _NARROWER[role] for role in self.roles):
            return False
        if isinstance(grant, TopicGrant):
            return self.topic is not None and _matches(grant.topic, self.topic, caller)
        return self.key is not None and _covers(self.key, grant, caller)


class PolicyDocument(BaseModel):
    """The POLICY setting: ``{"rules": [...]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[Rule, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_json_text(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


def legacy_rules(
    allowed_caches: tuple[str, ...], allowed_topics: tuple[str, ...], allowed_permissions: tuple[Permission, ...]
) -> tuple[Rule, ...]:
    """The original's settings as rules: every allowed cache and topic, with the allowed permissions."""
    roles = tuple(dict.fromkeys(TOPIC_ROLE_OF_PERMISSION[p] for p in allowed_permissions))
    return tuple(Rule(cache=c, topic=t, roles=roles) for c in allowed_caches for t in allowed_topics)


class Policy:
    def __init__(self, rules: tuple[Rule, ...], *, topics_per_identity: bool = False) -> None:
        self._rules = rules
        self._topics_per_identity = topics_per_identity

    def check(self, scope: TokenScope, caller: Caller | None) -> None:
        """Raise Forbidden naming the first grant no rule allows this caller."""
        for index, grant in enumerate(scope):
            where = f"permissions[{index}]: " if len(scope) > 1 else ""
            if self._topics_per_identity and isinstance(grant, TopicGrant):
                _check_own_topic(grant, caller, where)
            if not any(rule.allows(grant, caller) for rule in self._rules):
                raise Forbidden(f"{where}{self._refusal(grant, caller)}")

    def _refusal(self, grant: Grant, caller: Caller | None) -> str:
        """Why no rule allows the grant: its cache, its topic or key, or its role."""
        same_cache = [r for r in self._rules if fnmatchcase(grant.cache, r.cache)]
        if isinstance(grant, TopicGrant):
            if not any(r.topic is not None for r in same_cache):
                return f"Tokens for cache {grant.cache!r} are not vended here."
            if not any(r.topic is not None and _matches(grant.topic, r.topic, caller) for r in same_cache):
                return f"Tokens for topic {grant.topic!r} in cache {grant.cache!r} are not vended here."
            return f"Role {grant.role.value!r} on topic {grant.topic!r} in cache {grant.cache!r} is not granted here."
        what = _describe_items(grant)
        if not any(r.key is not None for r in same_cache):
            return f"Cache permissions for cache {grant.cache!r} are not vended here."
        if not any(r.key is not None and _covers(r.key, grant, caller) for r in same_cache):
            return f"Tokens for {what} in cache {grant.cache!r} are not vended here."
        return f"Role {grant.role.value!r} on {what} in cache {grant.cache!r} is not granted here."


def _check_own_topic(grant: TopicGrant, caller: Caller | None, where: str) -> None:
    if caller is None:
        raise Forbidden(f"{where}This deployment vends per-caller topics only to authenticated callers.")
    # Compared as text, never as a pattern: glob characters in an identity mean themselves.
    namespace = caller.namespace
    if grant.topic != namespace and not grant.topic.startswith(namespace + NAMESPACE_SEPARATOR):
        raise Forbidden(
            f"{where}Your topics are named {namespace!r} or start with {namespace + NAMESPACE_SEPARATOR!r}."
        )


def _describe_items(grant: CacheGrant) -> str:
    if grant.key is not None:
        return f"key {grant.key!r}"
    if grant.key_prefix is not None:
        return f"keys starting {grant.key_prefix!r}"
    return "every key"


def _glob_literal(text: str) -> str:
    """``text`` as a glob that matches only itself."""
    return _GLOB.sub(lambda m: f"[{m.group()}]", text)


def _with_identity(pattern: str, caller: Caller | None) -> str | None:
    """The pattern with {identity} filled in (as a literal), or None if it needs a caller and has none."""
    if IDENTITY not in pattern:
        return pattern
    if caller is None:
        return None
    return pattern.replace(IDENTITY, _glob_literal(caller.namespace))


def _matches(name: str, pattern: str, caller: Caller | None) -> bool:
    filled = _with_identity(pattern, caller)
    return filled is not None and fnmatchcase(name, filled)


def _covers(pattern: str, grant: CacheGrant, caller: Caller | None) -> bool:
    """Whether every key the grant reaches matches the rule's key pattern."""
    if grant.key is not None:
        return _matches(grant.key, pattern, caller)
    if pattern == "*":
        return True
    if grant.key_prefix is None or not pattern.endswith("*"):
        return False
    literal = pattern[:-1]
    if _GLOB.search(literal.replace(IDENTITY, "")):
        return False  # only "<literal>*" patterns can be shown to cover a prefix
    if IDENTITY in literal:
        if caller is None:
            return False
        literal = literal.replace(IDENTITY, caller.namespace)
    return grant.key_prefix.startswith(literal)
