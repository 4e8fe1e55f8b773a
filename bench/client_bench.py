"""Client benchmark: the cost of a cached get_token() and the HTTP requests under concurrency.

Run with ``uv run python bench/client_bench.py``. Starts its own token server on 127.0.0.1 and
prints figures; it asserts nothing (timings depend on the machine).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from momento_tvm_client import AsyncTokenVendingClient, TokenVendingClient

CACHED_CALLS = 1_000_000
ASYNC_CALLERS = 1_000
THREADS = 50
SERVER_DELAY_SECONDS = 0.1


class _TokenServer(ThreadingHTTPServer):
    daemon_threads = True
    requests_served = 0


class _TokenHandler(BaseHTTPRequestHandler):
    server: _TokenServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.requests_served += 1
        time.sleep(SERVER_DELAY_SECONDS)
        body = json.dumps({"auth_token": "bench-token", "expires_at": int(time.time()) + 3600}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def token_server() -> Iterator[_TokenServer]:
    server = _TokenServer(("127.0.0.1", 0), _TokenHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def url_of(server: _TokenServer) -> str:
    return f"http://127.0.0.1:{server.server_port}/token"


def best_ns_per_call(run: Callable[[], object], calls: int, repeat: int = 5) -> float:
    return min(timeit.repeat(run, number=1, repeat=repeat)) / calls * 1e9


def bench_sync_cached(server: _TokenServer) -> float:
    with TokenVendingClient(url_of(server), "cache", "topic") as client:
        client.get_token()
        get_token = client.get_token

        def run() -> None:
            for _ in range(CACHED_CALLS):
                get_token()

        return best_ns_per_call(run, CACHED_CALLS)


def bench_async_cached(server: _TokenServer) -> float:
    async def scenario() -> float:
        async with AsyncTokenVendingClient(url_of(server), "cache", "topic") as client:
            await client.get_token()
            get_token = client.get_token
            calls = CACHED_CALLS // 5
            best = float("inf")
            for _ in range(5):
                start = time.perf_counter()
                for _ in range(calls):
                    await get_token()
                best = min(best, time.perf_counter() - start)
            return best / calls * 1e9

    return asyncio.run(scenario())


def bench_async_callers(server: _TokenServer) -> tuple[int, float]:
    async def scenario() -> float:
        async with AsyncTokenVendingClient(url_of(server), "cache", "topic") as client:
            start = time.perf_counter()
            tokens = await asyncio.gather(*(client.get_token() for _ in range(ASYNC_CALLERS)))
            return time.perf_counter() - start if len(set(tokens)) == 1 else float("nan")

    before = server.requests_served
    elapsed = asyncio.run(scenario())
    return server.requests_served - before, elapsed


def bench_threads(server: _TokenServer) -> tuple[int, float]:
    before = server.requests_served
    with TokenVendingClient(url_of(server), "cache", "topic") as client:
        barrier = threading.Barrier(THREADS + 1)

        def call() -> None:
            barrier.wait()
            client.get_token()

        threads = [threading.Thread(target=call) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        barrier.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
    return server.requests_served - before, elapsed


def main() -> None:
    with token_server() as server:
        sync_ns = bench_sync_cached(server)
        async_ns = bench_async_cached(server)
        async_requests, async_seconds = bench_async_callers(server)
        thread_requests, thread_seconds = bench_threads(server)

    print("Momento TVM client benchmark (local HTTP server on 127.0.0.1, best of 5)")
    print(f"  cached get_token(), sync:        {sync_ns:8.0f} ns/call  ({sync_ns / 1000:.3f} µs; target < 5 µs)")
    print(f"  cached await get_token(), async: {async_ns:8.0f} ns/call  ({async_ns / 1000:.3f} µs; target < 5 µs)")
    print(
        f"  {ASYNC_CALLERS} concurrent async callers, empty cache: {async_requests} HTTP request(s) "
        f"in {async_seconds * 1000:.0f} ms (server answers after {SERVER_DELAY_SECONDS * 1000:.0f} ms)"
    )
    print(
        f"  {THREADS} threads, empty cache:                  {thread_requests} HTTP request(s) "
        f"in {thread_seconds * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
