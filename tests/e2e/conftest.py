"""End-to-end fixtures: the local stack on free ports, reached over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local_stack import LocalStack


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The stack as `make run` starts it (Function URL events, its own local Momento), on free ports."""
    with LocalStack(port=0, quiet=True) as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client
