"""The chat demo in a real browser: headless Chromium (Debian's, no download) runs the page that
`make run` serves, with @gomomento/sdk-web talking gRPC-web to the local Momento service and tokens
vended, and renewed, by the real function behind the local front door.

The browser is driven over the Chrome DevTools protocol: one websocket per tab, `Runtime.evaluate`.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import websocket

from local_stack import LocalStack
from local_stack.__main__ import banner
from tests.e2e.helpers import headless_chromium, needs_chromium
from token_vending_machine.names import Env

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "node_modules" / ".bin" / "node"
pytestmark = [
    needs_chromium,
    pytest.mark.skipif(not NODE.exists(), reason="node_modules is not installed (make test installs it)"),
]

CACHE = "SampleCache"
TOKEN_SECONDS = 20
ALLOWED_TOPICS = "chat-*"
WAIT_SECONDS = 10.0


class Tab:
    """One browser tab, reached over its DevTools websocket."""

    def __init__(self, websocket_url: str) -> None:
        # No Origin header: Chromium refuses DevTools websockets from origins it was not told to allow.
        self._socket = websocket.create_connection(websocket_url, timeout=WAIT_SECONDS, suppress_origin=True)
        self._next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        self._socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:  # no domain is enabled, so the only messages are answers
            message = json.loads(self._socket.recv())
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message["result"])

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def text(self, selector: str) -> str:
        return str(self.evaluate(f"document.querySelector({json.dumps(selector)})?.textContent ?? ''"))

    def messages(self) -> list[str]:
        return list(self.evaluate("[...document.querySelectorAll('#messages li')].map(li => li.textContent)"))

    def send(self, text: str) -> None:
        self.evaluate(
            f"document.querySelector('#message').value = {json.dumps(text)};document.querySelector('#send').click();"
        )

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                status, error = self.text("#status"), self.text("#error")
                pytest.fail(f"{what}: not within {timeout} s (status {status!r}, error {error!r})")
            time.sleep(0.1)

    def wait_until_subscribed(self) -> None:
        self.wait_for("subscribed", lambda: self.text("#status") == "subscribed")

    def close(self) -> None:
        self._socket.close()


class Chromium:
    """Headless Chromium with the DevTools protocol on a free port, in a throwaway profile."""

    def __init__(self, profile_dir: Path) -> None:
        self._process = subprocess.Popen(
            headless_chromium(
                profile_dir,
                # Tabs other than the front one keep their timers: the token refresh is one.
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                "--remote-debugging-port=0",
                "about:blank",
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._tabs: list[Tab] = []
        active_port_file = profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + WAIT_SECONDS
        while not active_port_file.exists() or not active_port_file.read_text().strip():
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.close()
                pytest.fail("Chromium did not open its DevTools port")
            time.sleep(0.05)
        self._devtools = f"http://127.0.0.1:{active_port_file.read_text().split()[0]}"

    def open(self, url: str) -> Tab:
        target = httpx.put(f"{self._devtools}/json/new?{quote(url, safe='')}", timeout=WAIT_SECONDS).json()
        tab = Tab(target["webSocketDebuggerUrl"])
        self._tabs.append(tab)
        return tab

    def close(self) -> None:
        for tab in self._tabs:
            with contextlib.suppress(Exception):
                tab.close()
        self._process.terminate()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page built as `make run` builds it (web/demo/build.mjs), into a temporary folder."""
    out = tmp_path_factory.mktemp("demo")
    subprocess.run([str(NODE), str(ROOT / "web" / "demo" / "build.mjs"), str(out)], cwd=ROOT, check=True, timeout=60)
    return out


@pytest.fixture(scope="module")
def stack(demo_dir: Path) -> Iterator[LocalStack]:
    """`make run` with 20-second tokens and a policy that allows only topics named chat-*."""
    with LocalStack(
        port=0,
        quiet=True,
        token_expiry_seconds=TOKEN_SECONDS,
        settings={Env.ALLOWED_TOPICS: ALLOWED_TOPICS},
        demo_dir=demo_dir,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    chromium = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield chromium
    finally:
        chromium.close()


def room(stack: LocalStack, topic: str, *, permission: str | None = None) -> str:
    query = f"?cache={CACHE}&topic={topic}" + (f"&permission={permission}" if permission else "")
    return f"{stack.demo_url}{query}"


def fresh_topic() -> str:
    return f"chat-{secrets.token_hex(4)}"


def test_make_run_prints_the_demo_and_tells_the_page_its_endpoints(stack: LocalStack) -> None:
    assert f"\nDemo: {stack.demo_url} " in banner(stack)
    assert stack.momento_web_endpoint is not None
    assert stack.momento_web_endpoint in banner(stack)

    config = httpx.get(f"{stack.demo_url}config.json", timeout=WAIT_SECONDS).json()

    assert config == {"tokenUrl": "/", "webEndpoint": stack.momento_web_endpoint}


def test_the_demo_answers_its_own_paths_and_the_function_every_other(stack: LocalStack) -> None:
    demo = stack.demo_url
    assert demo is not None
    with httpx.Client(timeout=WAIT_SECONDS) as http:
        page = http.get(demo)
        redirect = http.get(demo.rstrip("/") + "?topic=chat-x")
        escape = http.get(demo + "%2e%2e/%2e%2e/pyproject.toml")
        post = http.post(demo, json={})
        vend = http.post(stack.url, json={"cacheName": CACHE, "topicName": "chat-x"})

    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert 'id="status"' in page.text
    assert (redirect.status_code, redirect.headers["location"]) == (302, "/demo/?topic=chat-x")
    assert escape.status_code == 404
    assert post.status_code == 405
    assert vend.status_code == 200


def test_two_tabs_chat(stack: LocalStack, browser: Chromium) -> None:
    topic = fresh_topic()
    alice, bob = browser.open(room(stack, topic)), browser.open(room(stack, topic))
    alice.wait_until_subscribed()
    bob.wait_until_subscribed()

    alice.send("hello from Alice")
    bob.wait_for("Alice's message in Bob's tab", lambda: bob.messages() == ["hello from Alice"])
    bob.send("hi Alice <b>it's Bob</b>")

    expected = ["hello from Alice", "hi Alice <b>it's Bob</b>"]
    alice.wait_for("Bob's message in Alice's tab", lambda: alice.messages() == expected)
    assert bob.text("#error") == ""


def test_a_read_only_viewer_sees_the_chat_and_its_own_send_is_refused(stack: LocalStack, browser: Chromium) -> None:
    """A subscribe-only token: the local gRPC-web layer's PERMISSION_DENIED reaches sdk-web as its PERMISSION_ERROR."""
    topic = fresh_topic()
    writer, viewer = browser.open(room(stack, topic)), browser.open(room(stack, topic, permission="subscribe"))
    writer.wait_until_subscribed()
    viewer.wait_until_subscribed()
    assert "read-only" in viewer.text("#where")

    writer.send("hello, viewer")
    viewer.wait_for("the writer's message in the viewer's tab", lambda: viewer.messages() == ["hello, viewer"])
    viewer.send("may I?")

    viewer.wait_for("the refusal", lambda: viewer.text("#error") == "publish refused: PERMISSION_ERROR")
    assert viewer.text("#status") == "subscribed"
    assert viewer.messages() == ["hello, viewer"]
    assert writer.messages() == ["hello, viewer"]
    assert writer.text("#error") == ""


def test_a_topic_the_policy_refuses_shows_the_reason(stack: LocalStack, browser: Chromium) -> None:
    refused = httpx.post(stack.url, json={"cacheName": CACHE, "topicName": "off-limits"}, timeout=WAIT_SECONDS)
    assert refused.status_code == 403
    reason = refused.json()["message"]

    tab = browser.open(room(stack, "off-limits"))

    tab.wait_for("the refusal", lambda: tab.text("#status") == f"refused: {reason}")
    assert tab.evaluate("document.querySelector('#send').disabled") is True


@pytest.mark.slow
def test_the_subscription_survives_token_refreshes(stack: LocalStack, browser: Chromium) -> None:
    topic = fresh_topic()
    tab = browser.open(room(stack, topic))
    tab.wait_until_subscribed()
    first_token_expired = time.monotonic() + TOKEN_SECONDS + 1

    # Short tokens are renewed at half their life: the page has resubscribed before the first one expired.
    tab.wait_for("the first token's expiry", lambda: time.monotonic() > first_token_expired, timeout=TOKEN_SECONDS + 2)
    assert int(tab.evaluate("document.querySelector('#token').dataset.resubscriptions ?? '0'")) >= 1
    tab.send("still here")

    tab.wait_for("the message after the refresh", lambda: tab.messages() == ["still here"])
    assert tab.text("#status") == "subscribed"
    momento = stack.momento_local
    assert momento is not None
    tab.wait_for("the old subscriptions dropped", lambda: momento.subscriber_count(CACHE, topic) == 1)
