"""`python -m momento_local [--host 127.0.0.1] [--port 8080] [--secret S] [--cache NAME ...]`: run the local
Momento service."""

from __future__ import annotations

import argparse
import os
import signal
import threading

from .cache import DEFAULT_CACHES
from .server import MomentoLocal


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="momento_local", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind, 0 for a free one (default: 8080)")
    parser.add_argument(
        "--secret",
        default=os.environ.get("MOMENTO_LOCAL_SECRET"),
        help="signing secret, so keys survive restarts (default: $MOMENTO_LOCAL_SECRET, else random)",
    )
    parser.add_argument(
        "--cache",
        action="append",
        dest="caches",
        metavar="NAME",
        help=f"a cache the cache service holds; repeat for several (default: {', '.join(sorted(DEFAULT_CACHES))})",
    )
    args = parser.parse_args(argv)

    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    signal.signal(signal.SIGINT, lambda *_: stop_requested.set())

    caches = args.caches or DEFAULT_CACHES
    with MomentoLocal(host=args.host, port=args.port, secret=args.secret, caches=caches) as server:
        print(f"momento_local listening on {server.endpoint} (Ctrl-C to stop)", flush=True)
        print(f"MOMENTO_ENDPOINT={server.endpoint}", flush=True)
        print(f"MOMENTO_API_KEY={server.create_api_key()}", flush=True)
        # Short slices: an untimed Event.wait() here is never woken by the signal handlers above.
        while not stop_requested.wait(timeout=0.5):
            pass
    print("momento_local stopped", flush=True)


if __name__ == "__main__":
    main()
