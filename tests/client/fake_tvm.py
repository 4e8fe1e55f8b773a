"""A fake token vending machine on a real HTTP server, and a clock the test controls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN_PATH = "/token"
START = 1_700_000_000.0


@dataclass
class FakeClock:
    """Unix time that moves only when the test says so."""

    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class ScriptedResponses:
    """A handler answering from a script: one callable per request, the last one repeated."""

    script: list[Callable[[Request], Response]]
    delay: float = 0.0
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Response:
        with self.lock:
            index = min(self.calls, len(self.script) - 1)
            self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        return self.script[index](request)


def token_answer(token: str = "tok-1", *, expires_at: float | None = None, **extra: object) -> Callable:
    """A 200 JSON token answer; ``expires_at`` defaults to one hour after START."""

    def respond(_request: Request) -> Response:
        body = {"auth_token": token, "expires_at": START + 3600 if expires_at is None else expires_at}
        body.update(extra)
        return Response(json.dumps(body), status=200, content_type="application/json")

    return respond


def raw_answer(status: int, body: str, content_type: str = "text/plain", **headers: str) -> Callable:
    def respond(_request: Request) -> Response:
        return Response(body, status=status, content_type=content_type, headers=headers)

    return respond


def error_answer(status: int, code: str, message: str, **headers: str) -> Callable:
    body = json.dumps({"error": code, "message": message})
    return raw_answer(status, body, "application/json", **headers)


@dataclass
class TVM:
    """The fake vending machine: scripts answers on the server and counts the requests they get.

    Requests are counted by this test's handlers, not by the server log, which a slow handler left
    over from an earlier test could still append to.
    """

    server: HTTPServer
    handlers: list[ScriptedResponses] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url_for(TOKEN_PATH)

    def answer(self, *script: Callable, delay: float = 0.0, **match: Any) -> ScriptedResponses:
        """Answer POST /token from ``script``; ``match`` adds request matchers (json=, headers=)."""
        handler = ScriptedResponses(list(script), delay=delay)
        self.server.expect_request(TOKEN_PATH, method="POST", **match).respond_with_handler(handler)
        self.handlers.append(handler)
        return handler

    @property
    def requests(self) -> int:
        return sum(handler.calls for handler in self.handlers)
