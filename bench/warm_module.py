"""Warm path, the deployed way: a Function URL event through the module-level ``lambda_handler``, in a
process of its own whose stdout is /dev/null, next to the synchronous ``AuthClient`` on the same local
Momento service (which runs in the parent process, as Momento runs outside the function).

``warm_path.py`` runs this as a child and prints its figures; run alone it prints them itself.
Settings come from the environment as in Lambda, with token reuse and the call rate limit off, so
every request reaches Momento. Prints figures; asserts nothing.

    uv run python bench/warm_module.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _support import Backend, local_backend, percentile

from token_vending_machine.names import Env

SAMPLES_MARKER = "samples:"


def run_child(backend: Backend, requests: int) -> dict[str, list[float]]:
    """Run the measurement in a fresh process with stdout on /dev/null; its samples come back on stderr."""
    env = {
        **backend.lambda_env(),
        Env.TOKEN_REUSE_MIN_REMAINING: "1",
        Env.MOMENTO_CALL_RATE_LIMIT: "0",
        "BENCH_API_KEY": backend.api_key,
    }
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(Path(__file__).resolve().parent)])
    result = subprocess.run(
        [sys.executable, __file__, "--child", "--requests", str(requests)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    line = next((x for x in result.stderr.splitlines() if x.startswith(SAMPLES_MARKER)), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"warm_module child failed: {result.stderr[-2000:]}")
    samples: dict[str, list[float]] = json.loads(line.removeprefix(SAMPLES_MARKER))
    return samples


def child(requests: int) -> None:
    from momento import AuthClient, CredentialProvider
    from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes
    from momento.config.auth_configurations import AuthConfigurations
    from momento.responses.auth.generate_disposable_token import GenerateDisposableToken
    from momento.utilities import ExpiresIn

    from tests.events import FakeLambdaContext, load_event
    from token_vending_machine.handler import lambda_handler

    host, _, port = os.environ[Env.MOMENTO_LOCAL_ENDPOINT].rpartition(":")
    credentials = CredentialProvider(os.environ["BENCH_API_KEY"], host, host, host, int(port))
    client = AuthClient(AuthConfigurations.Lambda.latest(), credentials)
    scope = DisposableTokenScopes.topic_publish_subscribe("SampleCache", "sample-topic")
    event, context = load_event("test-event-1.json"), FakeLambdaContext()

    def raw_sdk_call() -> None:
        response = client.generate_disposable_token(scope, ExpiresIn.seconds(3600))
        assert isinstance(response, GenerateDisposableToken.Success), response

    def handler_call() -> None:
        assert lambda_handler(event, context)["statusCode"] == 200

    calls: dict[str, Callable[[], None]] = {"raw": raw_sdk_call, "handler": handler_call}
    for _ in range(200):
        for call in calls.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(requests):  # interleaved, so machine noise hits both alike
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - started) * 1000)
    client.close()
    print(SAMPLES_MARKER + json.dumps(samples), file=sys.stderr)


def report(samples: dict[str, list[float]]) -> None:
    raw, ours = samples["raw"], samples["handler"]
    print("  module-level lambda_handler, own process, stdout to /dev/null, vs the sync AuthClient:")
    for share, label in ((0.5, "p50"), (0.99, "p99")):
        theirs, mine = percentile(raw, share), percentile(ours, share)
        print(f"    {label}: SDK {theirs:.3f} ms, handler {mine:.3f} ms: +{mine - theirs:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.requests)
        return
    with local_backend() as backend:
        report(run_child(backend, args.requests))


if __name__ == "__main__":
    main()
