"""Shared fixtures: one local Momento service (real gRPC on 127.0.0.1) for the whole test session."""

from __future__ import annotations

import re
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


# --- Redaction over the whole suite ------------------------------------------------------------------
# Every key and token here is a JWT ("eyJ...") and a vended auth_token is base64 of a JSON object that
# starts with "endpoint" or "api_key". No test's captured logs or output may contain one.
_SENSITIVE = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}|eyJlbmRwb2ludCI6|eyJhcGlfa2V5Ijo")
_leaks: dict[str, None] = {}  # ordered, without repeats (a report repeats earlier phases' sections)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for section, text in report.sections:
        if _SENSITIVE.search(text):
            _leaks[f"{report.nodeid} ({section})"] = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _leaks:
        print("\nA key or token appeared in the captured output or logs of:\n  " + "\n  ".join(_leaks))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
