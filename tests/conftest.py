"""Shared fixtures: one local Momento service (real gRPC on 127.0.0.1) for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from momento import CredentialProvider

from momento_local import MomentoLocal


@pytest.fixture(scope="session")
def momento_local() -> Iterator[MomentoLocal]:
    """A started local Momento service; tests that inject faults must clear them."""
    with MomentoLocal(host="127.0.0.1", port=0, heartbeat_interval_seconds=0.5) as server:
        yield server


@pytest.fixture(scope="session")
def momento_api_key(momento_local: MomentoLocal) -> str:
    """An API key the local service accepts (a v2-shaped JWT with full access)."""
    return momento_local.create_api_key()


@pytest.fixture(scope="session")
def momento_credentials(momento_local: MomentoLocal, momento_api_key: str) -> CredentialProvider:
    """Real-SDK credentials for the local service: `momento_api_key` over an insecure channel to host:port."""
    return momento_local.credential_provider(momento_api_key)


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """pytest-httpserver on 127.0.0.1 (not "localhost", which may resolve elsewhere), on a free port."""
    return ("127.0.0.1", 0)
