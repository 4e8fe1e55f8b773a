"""Committed Lambda events and a Lambda context, shared by the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent.parent / "lambdas" / "test-events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text())


def event_names(prefix: str = "") -> list[str]:
    return sorted(path.name for path in EVENTS_DIR.glob(f"{prefix}*.json"))


@dataclass
class FakeLambdaContext:
    function_name: str = "token-vending-machine"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:token-vending-machine"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 10_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def response_headers(response: dict[str, Any]) -> dict[str, str]:
    """Headers of a Lambda proxy response, whether payload 2.0 (``headers``) or 1.0 (``multiValueHeaders``)."""
    headers = {name: ", ".join(values) for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    return headers
