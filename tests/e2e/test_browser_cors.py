"""A real browser: headless Chromium loads a page from one localhost origin and fetches a token from
the local stack on another. CORS lets the allowed origin read the token and blocks any other."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from local_stack import LocalStack
from tests.e2e.helpers import headless_chromium, needs_chromium
from token_vending_machine.names import Env

pytestmark = needs_chromium

PAGE = """<!doctype html><html><body><pre id="result">pending</pre><script>
fetch("{url}", {{method: "POST", headers: {{"Content-Type": "application/json"}},
                 body: JSON.stringify({{cacheName: "SampleCache", topicName: "sample-topic"}})}})
  .then(response => response.json())
  .then(body => {{ document.getElementById("result").textContent = "vended " + typeof body.auth_token; }})
  .catch(error => {{ document.getElementById("result").textContent = "blocked " + error.name; }});
</script></body></html>"""


class PageServer:
    """Serves the page above from its own origin, http://127.0.0.1:<port>, fetching from ``token_url``."""

    def __init__(self) -> None:
        self.token_url = ""
        page = self

        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = PAGE.format(url=page.token_url).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def result_in_browser(page_url: str, profile_dir: str) -> str:
    """Load the page in headless Chromium, let its fetch settle, and read what it wrote."""
    dom = subprocess.run(
        headless_chromium(profile_dir, "--virtual-time-budget=10000", "--dump-dom", page_url),
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    match = re.search(r'<pre id="result">([^<]*)</pre>', dom)
    assert match, dom[-500:]
    return match.group(1)


@pytest.fixture(scope="module")
def pages() -> Iterator[tuple[PageServer, PageServer]]:
    """Two pages on two origins, both fetching from one stack whose CORS allows only the first."""
    allowed, other = PageServer(), PageServer()
    try:
        with LocalStack(port=0, quiet=True, settings={Env.CORS_ALLOWED_ORIGINS: allowed.origin}) as stack:
            allowed.token_url = other.token_url = stack.url
            yield allowed, other
    finally:
        allowed.close()
        other.close()


def test_an_allowed_origin_reads_the_token(pages, tmp_path):
    allowed, _ = pages

    assert result_in_browser(allowed.origin + "/", str(tmp_path)) == "vended string"


def test_another_origin_is_blocked_by_cors(pages, tmp_path):
    _, other = pages

    assert result_in_browser(other.origin + "/", str(tmp_path)) == "blocked TypeError"
