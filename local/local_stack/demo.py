"""The browser chat demo at ``/demo/`` on the front door: the built page and its ``config.json``.

``make run`` builds the page (``web/demo``, bundled with esbuild into ``web/demo/dist``); the front
door serves it from the same origin as the vending machine, so the page vends tokens without CORS.
``config.json`` tells the page where to vend (``tokenUrl``) and, with the local Momento service,
where its gRPC-web server is (``webEndpoint``; null with real Momento, whose endpoint the token names).
Every other path still goes to the function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .events import HttpRequest, HttpResponse

PREFIX = "/demo/"
# Where `npm run build:demo` writes the page in a checkout of this repository.
DEFAULT_BUILD_DIR = Path(__file__).resolve().parents[2] / "web" / "demo" / "dist"
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}


def is_built(directory: Path) -> bool:
    return (directory / "index.html").is_file()


@dataclass(frozen=True)
class DemoSite:
    """Answers every request under ``/demo/`` (and ``/demo`` itself) from ``directory``."""

    directory: Path
    web_endpoint: str | None
    token_path: str = "/"

    @staticmethod
    def handles(path: str) -> bool:
        return path == PREFIX.rstrip("/") or path.startswith(PREFIX)

    def respond(self, request: HttpRequest) -> HttpResponse:
        if request.path == PREFIX.rstrip("/"):
            query = f"?{request.raw_query_string}" if request.raw_query_string else ""
            return HttpResponse(302, (("Location", PREFIX + query),))
        if request.method not in ("GET", "HEAD"):
            return _text(405, "The demo is read-only.", (("Allow", "GET, HEAD"),))
        name = request.path.removeprefix(PREFIX) or "index.html"
        if name == "config.json":
            return self._file_response(".json", json.dumps(self.config()).encode())
        path = (self.directory / name).resolve()
        if not path.is_relative_to(self.directory.resolve()) or not path.is_file() or path.suffix not in _CONTENT_TYPES:
            return _text(404, "Not found.")
        return self._file_response(path.suffix, path.read_bytes())

    def config(self) -> dict[str, str | None]:
        return {"tokenUrl": self.token_path, "webEndpoint": self.web_endpoint}

    @staticmethod
    def _file_response(suffix: str, body: bytes) -> HttpResponse:
        # The page is rebuilt by every `make run`: browsers must not keep an old bundle.
        headers = (("Content-Type", _CONTENT_TYPES[suffix]), ("Cache-Control", "no-store"))
        return HttpResponse(200, headers, body)


def _text(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
    return HttpResponse(status, (("Content-Type", "text/plain; charset=utf-8"), *headers), message.encode())
