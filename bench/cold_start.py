"""Cold start: a fresh process from start to the first token served, next to `import momento, boto3`.

Each run is a new Python process (``python -S``, with only the function's bundle and boto3 on its
path, as in Lambda, and its INFO log line and metrics written), timed from spawn to the line it
prints once its work is done, so both sides pay the same interpreter start-up. Measured twice: with
the bundle as sources only (Lambda's code directory is read-only, so nothing gets cached), and with
precompiled bytecode, as `make deploy` ships it. Prints figures; asserts nothing.

    uv run python bench/cold_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections import defaultdict

from _support import Backend, local_backend, machine, percentile

FIRST_TOKEN = (
    "from tests.events import FakeLambdaContext, load_event\n"
    "from token_vending_machine.handler import lambda_handler\n"
    "response = lambda_handler(load_event('test-event-1.json'), FakeLambdaContext())\n"
    "assert response['statusCode'] == 200, response\n"
    "print('ready', flush=True)\n"
)
IMPORT_FLOOR = "import momento, boto3\nprint('ready', flush=True)\n"
JS_TVM_MS = 270  # Momento's JS vending machine on a 2-core machine, against a local stand-in (issue 7)


def time_until_ready(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-S", "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == "ready":
            elapsed = (time.perf_counter() - started) * 1000
            break
    else:
        raise RuntimeError(f"child failed: {child.stderr.read() if child.stderr else ''}")
    child.wait()
    return elapsed


def import_breakdown(code: str, env: dict[str, str]) -> dict[str, float]:
    """Import time (ms) spent in each top-level package's own modules, from -X importtime."""
    result = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", "-c", code], env=env, capture_output=True, text=True
    )
    totals: dict[str, float] = defaultdict(float)
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            totals[match.group(2).split(".")[0]] += int(match.group(1)) / 1000
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def compare(backend: Backend, *, bytecode: bool, runs: int) -> dict[str, float]:
    env = backend.lambda_env(bytecode=bytecode)
    time_until_ready(FIRST_TOKEN, env)  # warm the OS file cache once for both sides
    time_until_ready(IMPORT_FLOOR, env)
    ours, floor = [], []
    for _ in range(runs):  # interleaved, so machine noise hits both alike
        ours.append(time_until_ready(FIRST_TOKEN, env))
        floor.append(time_until_ready(IMPORT_FLOOR, env))
    ours_p50, floor_p50 = percentile(ours, 0.5), percentile(floor, 0.5)
    label = "bundle with precompiled bytecode" if bytecode else "bundle of sources only (no .pyc)"
    print(f"  {label}:")
    print(f"    process start -> first token served:  p50 {ours_p50:6.0f} ms   min {min(ours):6.0f} ms")
    print(f"    python -c 'import momento, boto3':     p50 {floor_p50:6.0f} ms   min {min(floor):6.0f} ms")
    print(f"    ratio to the import floor:             {ours_p50 / floor_p50:.2f}x (target <= 1.00x)")
    return import_breakdown(FIRST_TOKEN, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    print(f"cold start ({args.runs} runs each, interleaved) on {machine()}")
    with local_backend() as backend:
        compare(backend, bytecode=False, runs=args.runs)
        breakdown = compare(backend, bytecode=True, runs=args.runs)
    print(f"  reference: Momento's JS vending machine, {JS_TVM_MS} ms on its 2-core machine")
    total = sum(breakdown.values())
    print(f"  import time by package (bytecode bundle, one run, -X importtime, own modules; {total:.0f} ms):")
    for package, ms in list(breakdown.items())[:10]:
        print(f"    {package:<28} {ms:7.1f} ms")


if __name__ == "__main__":
    main()
