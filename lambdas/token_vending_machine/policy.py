"""Who may have which token: the deployment's allowed caches, topics and permissions, and per-identity topics.

Cache and topic rules are names or case-sensitive glob patterns (``*`` allows any).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from token_vending_machine.errors import Forbidden
from token_vending_machine.models import TokenRequest
from token_vending_machine.settings import Settings

# With TOPICS_PER_IDENTITY, a caller's topics are named "<identity>" or "<identity>:<anything>".
IDENTITY_SEPARATOR = ":"


class Policy:
    def __init__(self, settings: Settings) -> None:
        self._caches = settings.allowed_caches
        self._topics = settings.allowed_topics
        self._permissions = settings.allowed_permissions
        self._topics_per_identity = settings.topics_per_identity

    def check(self, request: TokenRequest, identity: str | None) -> None:
        """Raise Forbidden, with the reason, unless policy grants this request to this caller."""
        if not _matches(request.cache_name, self._caches):
            raise Forbidden(f"Tokens for cache {request.cache_name!r} are not vended here.")
        if not _matches(request.topic_name, self._topics):
            raise Forbidden(f"Tokens for topic {request.topic_name!r} are not vended here.")
        if request.permission not in self._permissions:
            raise Forbidden(f"Permission {request.permission.value!r} is not granted here.")
        if self._topics_per_identity:
            if identity is None:
                raise Forbidden("This deployment vends per-caller topics only to authenticated callers.")
            if request.topic_name != identity and not request.topic_name.startswith(identity + IDENTITY_SEPARATOR):
                raise Forbidden(f"Your topics are named {identity!r} or start with {identity + IDENTITY_SEPARATOR!r}.")


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(pattern == "*" or fnmatchcase(name, pattern) for pattern in patterns)
