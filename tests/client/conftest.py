"""Fixtures for the client tests: a real HTTP server on 127.0.0.1 and a clock the test controls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from tests.client.fake_tvm import TVM, FakeClock


@pytest.fixture(scope="session")
def http_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tvm(http_server: HTTPServer) -> Iterator[TVM]:
    yield TVM(http_server)
    http_server.clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
