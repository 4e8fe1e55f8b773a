"""``tvm-local``: run the whole token vending machine on this machine, no AWS or Momento account needed.

Starts a local Momento service (token service + Topics), a local Secrets Manager (moto) holding a
development key, and an HTTP front door on 127.0.0.1 that calls the real Lambda handler. With
MOMENTO_API_KEY (and MOMENTO_ENDPOINT for a v2 key) set, it vends real Momento tokens instead, and
hands that key to the function in process: neither moto nor the local Momento service is started.
The browser chat demo (built by `make run`) is served at /demo/ on the same port, talking to the local
Momento service through its gRPC-web server, or to real Momento with a real key.
The function's own settings (ALLOWED_CACHES, ALLOWED_TOPICS, CORS_ALLOWED_ORIGINS, ...) are read
from the environment as in Lambda. Ctrl-C (or SIGTERM) stops everything.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from token_vending_machine.names import Env

from .demo import DEFAULT_BUILD_DIR, is_built
from .events import EventKind
from .stack import STACK_SETTINGS, LocalStack, LocalStackError, RealMomento

DEFAULT_PORT = 3000
SAMPLE_CACHE = "SampleCache"
SAMPLE_TOPIC = "sample-topic"
EXIT_FAILURE = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # moto's web server would log every Secrets Manager call; the function's own request logs suffice.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stop_requested = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop_requested.set())

    try:
        real_momento = RealMomento.from_environ(os.environ)
        stack = LocalStack(
            port=args.port,
            event_kind=EventKind(args.event),
            momento_port=args.momento_port,
            momento_web_port=args.momento_web_port,
            token_expiry_seconds=args.token_expiry_seconds,
            real_momento=real_momento,
            settings=function_settings(os.environ),
            quiet=args.quiet,
            demo_dir=args.demo_dir if is_built(args.demo_dir) else None,
        )
    except LocalStackError as exc:
        print(f"tvm-local: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        stack.start()
    except LocalStackError as exc:
        print(f"tvm-local: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        print(banner(stack), flush=True)
        # Short slices: an untimed Event.wait() is not woken by the signal handlers above.
        while not stop_requested.wait(timeout=0.25):
            pass
        print("tvm-local: stopping", flush=True)
    finally:
        stack.stop()
    print("tvm-local: stopped", flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tvm-local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"front door port, 0 for a free one (default: {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--event",
        choices=[kind.value for kind in EventKind],
        default=EventKind.FUNCTION_URL.value,
        help="which AWS front door to imitate: Function URL (payload 2.0) or API Gateway REST (payload 1.0)",
    )
    parser.add_argument(
        "--momento-port", type=int, default=0, help="local Momento service port (default: 0, a free one)"
    )
    parser.add_argument(
        "--momento-web-port",
        type=int,
        default=0,
        help="local Momento service's gRPC-web port, for browsers (default: 0, a free one)",
    )
    parser.add_argument(
        "--token-expiry-seconds", type=int, default=None, help="lifetime of vended tokens (default: 3600)"
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="hide the function's per-request log and metrics lines (warnings still show)",
    )
    parser.add_argument(
        "--demo-dir",
        type=Path,
        default=DEFAULT_BUILD_DIR,
        help="the built chat demo to serve at /demo/ (default: web/demo/dist, built by `make run`)",
    )
    return parser


def function_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The function's settings present in the environment, except those the stack sets itself."""
    return {
        name.value: environ[name.value]
        for name in Env
        if name not in STACK_SETTINGS and environ.get(name.value, "") != ""
    }


def banner(stack: LocalStack) -> str:
    url = stack.url
    kind = "Function URL events" if stack.event_kind is EventKind.FUNCTION_URL else "API Gateway REST events"
    if stack.real_momento is not None:
        momento = f"real Momento ({stack.momento_endpoint or 'the endpoint in MOMENTO_API_KEY'})"
    else:
        momento = f"local service at {stack.momento_endpoint} (token service + Topics)"
    body = f'{{"cacheName": "{SAMPLE_CACHE}", "topicName": "{SAMPLE_TOPIC}"}}'
    target = f"--url {url} --cache {SAMPLE_CACHE} --topic {SAMPLE_TOPIC}"
    lines = [
        "Momento token vending machine, running locally",
        f"  URL              {url}   ({kind})",
        f"  Momento          {momento}",
        *([f"  gRPC-web         {stack.momento_web_endpoint} (for browsers)"] if stack.momento_web_endpoint else []),
        _secret_line(stack),
        f"  Token lifetime   {stack.settings.token_expiry_seconds} s",
        "",
        "Vend a token:",
        f"  curl -s -X POST {url} -H 'Content-Type: application/json' -d {shlex.quote(body)}",
        "",
        "Watch messages flow, in two more terminals:",
        f"  uv run tvm subscribe {target}",
        f"  uv run tvm publish {target} 'hello from tvm'",
        "",
        _demo_line(stack),
        "",
        "Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def _demo_line(stack: LocalStack) -> str:
    if stack.demo_url is None:
        return "Demo: not built (`make run` builds it, or `npm run build:demo`)"
    return f"Demo: {stack.demo_url}   (chat in two browser tabs; ?cache=...&topic=... for another room)"


def _secret_line(stack: LocalStack) -> str:
    if stack.secrets_manager_url is None:
        return "  Secret           kept in this process: a real key is served on no port"
    return f"  Secrets Manager  {stack.secrets_manager_url} (moto), secret {stack.secret_id}"


if __name__ == "__main__":
    sys.exit(main())
