"""One ThreadingHTTPServer at a time, served from a daemon thread: the start, stop and port that the
gRPC-web gateway and ``local_stack``'s front door share (each builds its own server and closes its own
connections)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Generic, TypeVar

_Server = TypeVar("_Server", bound=ThreadingHTTPServer)

# How long stop() waits for the serving thread once the server has shut down (it ends at once then).
_JOIN_SECONDS = 5.0


class ServerThread(Generic[_Server]):
    """Serves the server ``start`` builds until ``stop``; ``what`` names it in errors ("the front door")."""

    def __init__(self, what: str, *, thread_name: str, poll_interval: float) -> None:
        self._what = what
        self._thread_name = thread_name
        self._poll_interval = poll_interval
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, make_server: Callable[[], _Server]) -> _Server:
        """Build the server (it binds its port) and serve it; refused while one is running."""
        if self._server is not None:
            raise RuntimeError(f"{self._what} is already running")
        server = make_server()
        thread = threading.Thread(
            target=server.serve_forever, args=(self._poll_interval,), name=self._thread_name, daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        return server

    def stop(self, close_connections: Callable[[_Server], None]) -> None:
        """Stop accepting, let ``close_connections`` end what is still open, then close the listening socket."""
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        if server is None:
            return
        server.shutdown()
        close_connections(server)
        server.server_close()
        if thread is not None:
            thread.join(timeout=_JOIN_SECONDS)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self._what} has not been started")
        return int(self._server.server_address[1])


def shut(connection: socket.socket) -> None:
    """End a connection both ways (its handler thread then sees EOF); one already gone is fine."""
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
