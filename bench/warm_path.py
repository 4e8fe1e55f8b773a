"""Warm path: handler time per request next to the raw SDK call on the same local Momento service.

Both sides mint a token per call (token reuse off, so every request reaches Momento) with the same
async auth client driven on one long-lived event loop, interleaved in the same process. The handler
runs as deployed: its INFO request log line and its EMF metrics are written (to /dev/null here).
Also: RSS over many warm invocations, and whether it grows. Prints figures; asserts nothing.

    uv run python bench/warm_path.py [--requests 2000] [--memory-invocations 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import time
from contextlib import redirect_stdout

import warm_module
from _support import local_backend, machine, percentile, summary_ms
from aws_lambda_powertools import Logger
from momento import AuthClientAsync, CredentialProvider
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes
from momento.config.auth_configurations import AuthConfigurations
from momento.responses.auth.generate_disposable_token import GenerateDisposableToken
from momento.utilities import ExpiresIn

from tests.events import FakeLambdaContext, load_event
from token_vending_machine.names import SERVICE_NAME, Env
from token_vending_machine.settings import load_settings
from token_vending_machine.wiring import create_handler


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--memory-invocations", type=int, default=10_000)
    args = parser.parse_args()
    # The handler's log lines and EMF metrics go to /dev/null, as Lambda's stdout would take them.
    with local_backend() as backend, open(os.devnull, "w") as devnull, redirect_stdout(devnull):
        # Token reuse and the per-container call rate limit off: every request reaches Momento.
        env = {**backend.lambda_env(), Env.TOKEN_REUSE_MIN_REMAINING: "1", Env.MOMENTO_CALL_RATE_LIMIT: "0"}
        os.environ["AWS_SESSION_TOKEN"] = env["AWS_SESSION_TOKEN"]
        logger = Logger(service=SERVICE_NAME, level="INFO", stream=devnull)
        handler = create_handler(load_settings(env), logger=logger)
        event, context = load_event("test-event-1.json"), FakeLambdaContext()

        loop = asyncio.new_event_loop()
        client = loop.run_until_complete(_client(backend.momento.credential_provider(backend.api_key)))
        scope = DisposableTokenScopes.topic_publish_subscribe("SampleCache", "sample-topic")

        def raw_sdk_call() -> None:
            response = loop.run_until_complete(client.generate_disposable_token(scope, ExpiresIn.seconds(3600)))
            assert isinstance(response, GenerateDisposableToken.Success), response

        def handler_call() -> None:
            assert handler(event, context)["statusCode"] == 200

        for _ in range(200):  # warm both
            raw_sdk_call()
            handler_call()
        raw: list[float] = []
        ours: list[float] = []
        for _ in range(args.requests):
            for call, samples in ((raw_sdk_call, raw), (handler_call, ours)):
                started = time.perf_counter()
                call()
                samples.append((time.perf_counter() - started) * 1000)

        gc.collect()
        checkpoints = {}
        for n in range(1, args.memory_invocations + 1):
            handler_call()
            if n in (1000, args.memory_invocations // 2, args.memory_invocations):
                gc.collect()
                checkpoints[n] = rss_mib()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        loop.run_until_complete(client.close())
        loop.close()
        module_samples = warm_module.run_child(backend, args.requests)

    print(f"warm path ({args.requests} requests each, interleaved) on {machine()}")
    print("  create_handler in this process, vs the async AuthClient on one loop (stand-in in this process):")
    print(f"    raw SDK generate_disposable_token: {summary_ms(raw)}")
    print(f"    handler (event -> JSON response):  {summary_ms(ours)}")
    for share, label in ((0.5, "p50"), (0.99, "p99")):
        theirs, mine = percentile(raw, share), percentile(ours, share)
        print(f"    {label}: handler +{mine - theirs:.3f} ms over the SDK call ({mine / theirs:.2f}x)")
    warm_module.report(module_samples)
    print("  targets: overhead at p50 < 0.3 ms; handler p99 < 2 ms (bench/README.md: why the two modes differ)")
    growth = checkpoints[args.memory_invocations] - checkpoints[1000]
    rss = ", ".join(f"{mib:.1f} MiB after {n}" for n, mib in checkpoints.items())
    print(f"  memory over {args.memory_invocations} invocations: RSS {rss}; peak {peak:.1f} MiB")
    print(f"  growth after the first 1000: {growth:+.1f} MiB")


async def _client(credentials: CredentialProvider) -> AuthClientAsync:  # created inside the loop it will run on
    return AuthClientAsync(AuthConfigurations.Lambda.latest(), credentials)


if __name__ == "__main__":
    main()
