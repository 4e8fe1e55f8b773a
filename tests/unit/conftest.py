"""Unit tests open no sockets: a test that needs one belongs in tests/integration.

pytest-socket blocks Python's `socket` module for every test under this folder (AF_UNIX stays allowed:
asyncio's event loop wakes itself through a Unix socket pair). gRPC's C core opens its own sockets,
so a unit test must not use the session's local Momento service either.
"""

from __future__ import annotations

import pytest
from pytest_socket import disable_socket


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before each unit test's fixtures are set up; pytest-socket restores sockets at teardown."""
    disable_socket(allow_unix_socket=True)
