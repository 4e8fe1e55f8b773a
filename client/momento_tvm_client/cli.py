"""``tvm``: vend a token, or publish and subscribe through one, from a terminal.

    tvm token --url URL --cache C --topic T [--header 'Authorization: Bearer x'] [--json]
    tvm subscribe --url URL --cache C --topic T [--local-endpoint 127.0.0.1:PORT]
    tvm publish --url URL --cache C --topic T MESSAGE
    tvm smoke --url URL [--origin https://app.example.com] [--header ...] [--sigv4 [--region R]]

``token`` prints the token alone on stdout (so ``$(tvm token ...)`` captures it) and its expiry on
stderr; with ``--json`` it prints ``{"auth_token", "expires_at", "expires_at_iso"}``. Exit codes:
0 success, 1 vending or Momento failure, 2 bad usage, 130 interrupted. ``smoke`` prints one line
per check and a summary, and exits 1 when any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import time
from collections.abc import Sequence

from .async_client import AsyncTokenVendingClient
from .client import TokenVendingClient
from .errors import TokenVendingError
from .models import VendedToken

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        headers = _parse_headers(args.header)
    except ValueError as exc:
        print(f"tvm: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "token":
            return _token(args, headers)
        if args.command == "smoke":
            return _smoke(args, headers)
        # Publishing and subscribing need the `topics` extra; without it this import says what to install.
        importlib.import_module("momento_tvm_client.topics")
        if args.command == "publish":
            return _publish(args, headers)
        return asyncio.run(_subscribe(args, headers))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``tvm token | head``): nothing left to say to it.
        sys.stdout = None
        return 0
    except (TokenVendingError, ImportError) as exc:
        print(f"tvm: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tvm", description="Momento token vending machine client")
    commands = parser.add_subparsers(dest="command", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", required=True, help="the token vending machine URL")
    common.add_argument("--cache", required=True, help="cache name")
    common.add_argument("--topic", required=True, help="topic name")
    common.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="extra request header, repeatable (e.g. 'Authorization: Bearer x')",
    )
    common.add_argument("--timeout", type=float, default=10.0, help="request timeout in seconds")

    token = commands.add_parser("token", parents=[common], help="vend a token and print it")
    token.add_argument("--json", action="store_true", help="print the token and its expiry as JSON")

    momento = argparse.ArgumentParser(add_help=False)
    momento.add_argument(
        "--local-endpoint",
        metavar="HOST:PORT",
        help="talk to a local Momento service here (default: the endpoint inside the token)",
    )
    commands.add_parser("subscribe", parents=[common, momento], help="print the topic's messages until Ctrl-C")
    publish = commands.add_parser("publish", parents=[common, momento], help="publish one message")
    publish.add_argument("message", help="the text to publish")
    _add_smoke_parser(commands, momento)
    return parser


def _add_smoke_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], momento: argparse.ArgumentParser
) -> None:
    from .smoke import DEFAULT_CACHE, PROBE_TOPIC_PREFIX

    smoke = commands.add_parser(
        "smoke",
        parents=[momento],
        help="check a deployed vending machine end to end",
        description="Vend a token for a probe topic, publish and receive on it with Momento, check it is "
        "refused elsewhere, check the JSON 400 and the CORS preflight. One line per check; exit 1 on any failure.",
    )
    smoke.add_argument("--url", required=True, help="the token vending machine URL")
    smoke.add_argument("--cache", default=DEFAULT_CACHE, help=f"cache name (default: {DEFAULT_CACHE})")
    smoke.add_argument("--topic", help=f"probe topic (default: {PROBE_TOPIC_PREFIX}<random>)")
    smoke.add_argument("--origin", help="check the CORS preflight for this browser origin")
    smoke.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="extra request header, repeatable (e.g. 'Authorization: Bearer <jwt>'); never printed",
    )
    smoke.add_argument(
        "--sigv4", action="store_true", help="sign requests with AWS SigV4 (IAM Function URLs; needs botocore)"
    )
    smoke.add_argument("--region", help="AWS region for --sigv4 (default: from the URL)")
    smoke.add_argument("--timeout", type=float, default=10.0, help="seconds per request and per Momento wait")


def _parse_headers(raw_headers: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw in raw_headers:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            # The value is not echoed: it may be a bearer token.
            raise ValueError("--header must look like 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


def _token(args: argparse.Namespace, headers: dict[str, str]) -> int:
    with TokenVendingClient(args.url, args.cache, args.topic, headers=headers, timeout=args.timeout) as client:
        token = client.get_token()
    if args.json:
        print(json.dumps(_token_document(token)))
    else:
        print(token.auth_token)
        remaining = token.seconds_remaining(time.time())
        print(f"expires at {token.expires_at_datetime.isoformat()} (in {remaining:.0f} s)", file=sys.stderr)
    return 0


def _token_document(token: VendedToken) -> dict[str, object]:
    return {
        "auth_token": token.auth_token,
        "expires_at": int(token.expires_at),
        "expires_at_iso": token.expires_at_datetime.isoformat(),
    }


def _smoke(args: argparse.Namespace, headers: dict[str, str]) -> int:
    from .sigv4 import SigV4Error, sigv4_auth
    from .smoke import SmokeOptions, probe_topic, run_smoke

    if args.sigv4 and any(name.lower() == "authorization" for name in headers):
        print("tvm: --sigv4 signs the Authorization header itself: drop --header 'Authorization: ...'", file=sys.stderr)
        return EXIT_USAGE
    try:
        auth = sigv4_auth(args.url, region=args.region) if args.sigv4 else None
    except SigV4Error as exc:
        print(f"tvm: {exc}", file=sys.stderr)
        return EXIT_USAGE
    options = SmokeOptions(
        url=args.url,
        cache=args.cache,
        topic=args.topic or probe_topic(),
        origin=args.origin,
        headers=headers,
        auth=auth,
        local_endpoint=args.local_endpoint,
        timeout=args.timeout,
    )
    return 0 if run_smoke(options).ok else EXIT_FAILURE


def _publish(args: argparse.Namespace, headers: dict[str, str]) -> int:
    from momento.responses import TopicPublish

    with (
        TokenVendingClient(args.url, args.cache, args.topic, headers=headers, timeout=args.timeout) as client,
        client.topic_client(local_endpoint=args.local_endpoint) as topic_client,
    ):
        response = topic_client.publish(args.cache, args.topic, args.message)
    if isinstance(response, TopicPublish.Error):
        print(f"tvm: publish failed ({response.error_code}): {response.message}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"published to {args.cache}/{args.topic}", file=sys.stderr)
    return 0


async def _subscribe(args: argparse.Namespace, headers: dict[str, str]) -> int:
    from momento.responses import TopicSubscriptionItem

    from .topics import TopicError, subscribe

    async with AsyncTokenVendingClient(
        args.url, args.cache, args.topic, headers=headers, timeout=args.timeout
    ) as client:
        print(f"subscribed to {args.cache}/{args.topic}; Ctrl-C to stop", file=sys.stderr)
        try:
            async for item in subscribe(client, local_endpoint=args.local_endpoint):
                if isinstance(item, TopicSubscriptionItem.Text):
                    print(item.value, flush=True)
                else:
                    print(item.value.hex(), flush=True)
        except TopicError as exc:
            print(f"tvm: {exc}", file=sys.stderr)
            return EXIT_FAILURE
    return 0


if __name__ == "__main__":
    sys.exit(main())
