"""Cold start: a fresh process from start to the first token served, next to `import momento, boto3`.

Each run is a new Python process (``python -S``, with only the function's bundle and boto3 on its
path, as in Lambda, and its INFO log line and metrics written), timed from spawn to the line it
prints once its work is done, so both sides pay the same interpreter start-up. Measured twice: with
the bundle as sources only (Lambda's code directory is read-only, so nothing gets cached), and with
precompiled bytecode, as `make deploy` ships it. Prints figures; asserts nothing.

    uv run python bench/cold_start.py [--runs 25]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections import defaultdict

from _support import ROOT, Backend, local_backend, machine, percentile

# What Lambda's runtime hands the handler: the event already parsed, and a context object. Built
# inline so that the test suite's helpers are not timed as part of the function.
EVENT = (ROOT / "lambdas" / "test-events" / "test-event-1.json").read_text()
FIRST_TOKEN = (
    "import json\n"
    "class Context:\n"
    "    function_name = 'token-vending-machine'\n"
    "    memory_limit_in_mb = 1024\n"
    "    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:token-vending-machine'\n"
    "    aws_request_id = '00000000-0000-0000-0000-000000000000'\n"
    "    def get_remaining_time_in_millis(self):\n"
    "        return 10_000\n"
    f"event = json.loads({EVENT!r})\n"
    "from token_vending_machine.handler import lambda_handler\n"
    "response = lambda_handler(event, Context())\n"
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
    """Import time (ms) spent in each top-level package's own modules, from -X importtime.

    A module's own time is its cumulative time less its direct children's: with an import running on
    another thread (the key's prefetch), the "self" column importtime prints is not that.
    """
    result = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", "-c", code], env=env, capture_output=True, text=True
    )
    totals: dict[str, float] = defaultdict(float)
    children: dict[int, float] = defaultdict(float)  # cumulative time of the modules seen at each depth
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if not match:
            continue
        cumulative, depth = int(match.group(1)) / 1000, (len(match.group(2)) - 1) // 2
        totals[match.group(3).split(".")[0]] += max(0.0, cumulative - children.pop(depth + 1, 0.0))
        children[depth] += cumulative
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
    # Noise on a shared machine only ever adds time: the low quartile and the run-by-run difference
    # are steadier than the medians.
    paired = [a - b for a, b in zip(ours, floor, strict=True)]
    print(
        f"    steadier: ratio of the low quartiles {percentile(ours, 0.25) / percentile(floor, 0.25):.2f}x, "
        f"median difference run by run {percentile(paired, 0.5):+.0f} ms"
    )
    return import_breakdown(FIRST_TOKEN, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=25)
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
