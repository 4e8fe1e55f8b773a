"""Fault injection and call counting for the local Momento service.

A fault makes the next `times` calls of one RPC wait `delay_seconds`, then fail with `status`
(or succeed when `status` is None: a slow success). A long delay is a hang; it waits on an
Event, so stopping the server releases it at once.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

import grpc

RPC_NAMES = ("GenerateDisposableToken", "Publish", "Subscribe", "Get", "Set", "Delete")


@dataclass
class Fault:
    rpc: str
    status: grpc.StatusCode | None
    remaining: int | None
    delay_seconds: float
    details: str


class FaultInjector:
    """Thread-safe queue of faults per RPC, plus a counter of calls received per RPC."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._calls: Counter[str] = Counter()
        self._released = threading.Event()

    def inject(
        self,
        rpc: str,
        status: grpc.StatusCode | None = None,
        *,
        times: int | None = 1,
        delay_seconds: float = 0.0,
        details: str | None = None,
    ) -> Fault:
        """Make the next `times` calls (None: every call) of `rpc` wait `delay_seconds`, then fail
        with `status`, or proceed normally when `status` is None. Faults apply in injection order."""
        if rpc not in RPC_NAMES:
            raise ValueError(f"unknown rpc {rpc!r}; expected one of {RPC_NAMES}")
        if status is None and delay_seconds <= 0:
            raise ValueError("a fault needs a status, a delay, or both")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every call)")
        fault = Fault(
            rpc=rpc,
            status=status,
            remaining=times,
            delay_seconds=delay_seconds,
            details=details or f"fault injected by momento_local: {status.name if status else 'delay'}",
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def record_call(self, rpc: str) -> Fault | None:
        """Count a call of `rpc` and take the fault that applies to it, if any."""
        with self._lock:
            self._calls[rpc] += 1
            for fault in self._faults:
                if fault.rpc != rpc:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                return fault
        return None

    def call_count(self, rpc: str) -> int:
        with self._lock:
            return self._calls[rpc]

    def reset_call_counts(self) -> None:
        with self._lock:
            self._calls.clear()

    def wait(self, delay_seconds: float) -> bool:
        """Sleep for a fault's delay; True if cut short because the server is stopping."""
        return self._released.wait(delay_seconds)

    def release_waiters(self) -> None:
        self._released.set()

    def rearm(self) -> None:
        self._released.clear()
