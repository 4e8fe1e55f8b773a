"""The vended token as a value object."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class VendedToken:
    """A Momento token and the moment it stops working.

    ``auth_token`` is the string the vending machine returned (for Momento: base64 of JSON
    ``{"endpoint", "api_key"}``); ``expires_at`` is in Unix seconds. ``repr`` and ``str`` never show
    the token, so a token can be logged by accident without leaking.
    """

    auth_token: str = field(repr=False)
    expires_at: float

    @property
    def expires_at_datetime(self) -> datetime:
        """``expires_at`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.expires_at, tz=UTC)

    def seconds_remaining(self, now: float) -> float:
        """Seconds of validity left at Unix time ``now`` (negative once expired)."""
        return self.expires_at - now

    def __repr__(self) -> str:
        return (
            f"VendedToken(auth_token=<redacted, {len(self.auth_token)} chars>, "
            f"expires_at={self.expires_at_datetime.isoformat()})"
        )
