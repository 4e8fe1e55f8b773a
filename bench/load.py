"""Load the vending machine: N concurrent clients, M requests in all; prints figures, asserts nothing.

    uv run python bench/load.py [--clients 50] [--requests 2000] [--same-topic] [--event rest] [--url URL]

Without --url it starts a local stack (moto + local Momento + front door) in this process, quietly.
By default every request names its own topic, so every request mints a token through the Momento
token service; --same-topic asks for one topic throughout, which the function answers from its
per-container token reuse. The front door runs one invocation at a time, like one warm Lambda
container, so the figures are those of a single container. Each client is a thread with its own
keep-alive httpx.Client.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from local_stack import EventKind, LocalStack

CACHE = "SampleCache"


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, latency_ms: float, outcome: str, ok: bool) -> None:
        with self.lock:
            self.latencies_ms.append(latency_ms)
            self.statuses[outcome] = self.statuses.get(outcome, 0) + 1
            if not ok:
                self.errors += 1


def main() -> None:
    args = _parser().parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-call access log
    with _target(args) as url:
        _warm_up(url)
        results, elapsed = _drive(url, clients=args.clients, requests=args.requests, same_topic=args.same_topic)
    _report(args, url, results, elapsed)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default: 50)")
    parser.add_argument("--requests", type=int, default=2000, help="requests in all (default: 2000)")
    parser.add_argument("--same-topic", action="store_true", help="one topic for every request (token reuse)")
    parser.add_argument("--event", choices=[kind.value for kind in EventKind], default=EventKind.FUNCTION_URL.value)
    parser.add_argument("--url", help="a running vending machine (default: start a local stack here)")
    return parser


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[str]:
    if args.url:
        yield args.url
        return
    with LocalStack(port=0, event_kind=EventKind(args.event), quiet=True) as stack:
        yield stack.url


def _warm_up(url: str) -> None:
    """One request first: the cold start (secret fetch, gRPC channel) is not what this measures."""
    with httpx.Client(timeout=30) as client:
        client.post(url, json={"cacheName": CACHE, "topicName": "warm-up"})


def _drive(url: str, *, clients: int, requests: int, same_topic: bool) -> tuple[Results, float]:
    results = Results()
    counter = iter(range(requests))
    counter_lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def next_request() -> int | None:
        with counter_lock:
            return next(counter, None)

    def client_loop() -> None:
        with httpx.Client(timeout=30) as client:
            start.wait()
            while (number := next_request()) is not None:
                topic = "bench-topic" if same_topic else f"bench-topic-{number}"
                began = time.perf_counter()
                try:
                    response = client.post(url, json={"cacheName": CACHE, "topicName": topic})
                    outcome, ok = str(response.status_code), response.status_code == 200
                except httpx.HTTPError as exc:
                    outcome, ok = type(exc).__name__, False
                results.record((time.perf_counter() - began) * 1000, outcome, ok)

    threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - began


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[index]


def _report(args: argparse.Namespace, url: str, results: Results, elapsed: float) -> None:
    latencies = sorted(results.latencies_ms)
    target = url if args.url else f"local stack ({args.event} events, local Momento)"
    topics = "one topic (token reuse)" if args.same_topic else "a new topic per request (a Momento call each)"
    print(f"machine      {os.cpu_count()} CPUs, {_cpu_model()}, {platform.system()} {platform.release()}")
    print(f"python       {platform.python_version()} ({platform.python_implementation()})")
    print(f"target       {target}")
    print(f"load         {args.clients} concurrent clients, {len(latencies)} requests, {topics}")
    print(f"throughput   {len(latencies) / elapsed:,.0f} req/s ({elapsed:.2f} s)")
    print(
        f"latency      p50 {_percentile(latencies, 0.50):.1f} ms, p99 {_percentile(latencies, 0.99):.1f} ms, "
        f"mean {statistics.fmean(latencies) if latencies else float('nan'):.1f} ms, "
        f"max {latencies[-1] if latencies else float('nan'):.1f} ms"
    )
    outcomes = ", ".join(f"{outcome}: {count}" for outcome, count in sorted(results.statuses.items()))
    print(f"errors       {results.errors} ({outcomes})")


if __name__ == "__main__":
    main()
