"""Who may have which token: the deployment's allowed caches, topics and permissions, and per-identity topics.

With TOPICS_PER_IDENTITY, a caller's topics are "<namespace>" or "<namespace>:<anything>", the namespace
being the verified identity with ``%`` and ``:`` percent-encoded (``Caller.namespace``).

Cache and topic rules are names or case-sensitive glob patterns (``*`` allows any).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from token_vending_machine.errors import Forbidden
from token_vending_machine.identity import NAMESPACE_SEPARATOR, Caller
from token_vending_machine.models import TokenRequest
from token_vending_machine.settings import Settings


class Policy:
    def __init__(self, settings: Settings) -> None:
        self._caches = settings.allowed_caches
        self._topics = settings.allowed_topics
        self._permissions = settings.allowed_permissions
        self._topics_per_identity = settings.topics_per_identity

    def check(self, request: TokenRequest, caller: Caller | None) -> None:
        """Raise Forbidden, with the reason, unless policy grants this request to this caller."""
        if not _matches(request.cache_name, self._caches):
            raise Forbidden(f"Tokens for cache {request.cache_name!r} are not vended here.")
        if not _matches(request.topic_name, self._topics):
            raise Forbidden(f"Tokens for topic {request.topic_name!r} are not vended here.")
        if request.permission not in self._permissions:
            raise Forbidden(f"Permission {request.permission.value!r} is not granted here.")
        if self._topics_per_identity:
            if caller is None:
                raise Forbidden("This deployment vends per-caller topics only to authenticated callers.")
            # Compared as text, never as a pattern: glob characters in an identity mean themselves.
            namespace = caller.namespace
            if request.topic_name != namespace and not request.topic_name.startswith(namespace + NAMESPACE_SEPARATOR):
                raise Forbidden(
                    f"Your topics are named {namespace!r} or start with {namespace + NAMESPACE_SEPARATOR!r}."
                )


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(pattern == "*" or fnmatchcase(name, pattern) for pattern in patterns)
