"""``tvm``: vend a token, or publish, subscribe, get and set through one, from a terminal.

    tvm token --url URL --cache C --topic T [--header 'Authorization: Bearer x'] [--json]
    tvm token --url URL --permissions-json '[{"role": "readonly", "cache": "chat", "item": {"keyPrefix": "room-1:"}}]'
    tvm subscribe --url URL --cache C --topic T [--local-endpoint 127.0.0.1:PORT]
    tvm publish --url URL --cache C --topic T MESSAGE
    tvm get --url URL --cache C --key K [--permissions-json ...] [--local-endpoint 127.0.0.1:PORT]
    tvm set --url URL --cache C --key K --value V [--ttl-seconds N] [--permissions-json ...]
    tvm smoke --url URL [--origin https://app.example.com] [--header ...] [--sigv4 [--region R]]

``token`` prints the token alone on stdout (so ``$(tvm token ...)`` captures it) and its expiry on
stderr; with ``--json`` it prints ``{"auth_token", "expires_at", "expires_at_iso"}``. ``get`` and
``set`` vend a token for their one key (``readonly`` and ``readwrite``, unless ``--permissions-json``
asks for others) and never print it; ``get`` prints the value on stdout. Exit codes: 0 success,
1 vending or Momento failure (a ``get`` miss too), 2 bad usage, 130 interrupted. ``smoke`` prints one
line per check and a summary, and exits 1 when any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from .async_client import AsyncTokenVendingClient
from .client import TokenVendingClient
from .errors import TokenVendingError
from .models import VendedToken
from .permissions import CachePermission, CacheRole, TokenPermission, permissions_from_json

if TYPE_CHECKING:
    from momento import CacheClient

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "token" and not _names_one_target(args):
        parser.error("token: give --cache and --topic, or --permissions-json (not both)")
    try:
        headers = _parse_headers(args.header)
        permissions = _parse_permissions(args)
    except ValueError as exc:
        print(f"tvm: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _run(args, headers, permissions)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``tvm token | head``): nothing left to say to it.
        sys.stdout = None
        return 0
    except (TokenVendingError, ImportError) as exc:
        print(f"tvm: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _run(args: argparse.Namespace, headers: dict[str, str], permissions: tuple[TokenPermission, ...] | None) -> int:
    if args.command == "token":
        return _token(args, headers, permissions)
    if args.command == "smoke":
        return _smoke(args, headers)
    # The other commands need the momento SDK (the `momento` extra); without it this import says what to install.
    importlib.import_module("momento_tvm_client.topics")
    if args.command == "publish":
        return _publish(args, headers)
    if args.command == "subscribe":
        return asyncio.run(_subscribe(args, headers))
    return _cache_command(args, headers, permissions)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tvm", description="Momento token vending machine client")
    commands = parser.add_subparsers(dest="command", required=True)

    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--url", required=True, help="the token vending machine URL")
    connection.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="extra request header, repeatable (e.g. 'Authorization: Bearer x')",
    )
    connection.add_argument("--timeout", type=float, default=10.0, help="request timeout in seconds")

    topic = argparse.ArgumentParser(add_help=False)
    topic.add_argument("--cache", required=True, help="cache name")
    topic.add_argument("--topic", required=True, help="topic name")

    permissions = argparse.ArgumentParser(add_help=False)
    permissions.add_argument(
        "--permissions-json",
        metavar="JSON",
        help='the permissions to vend: a JSON list, or {"permissions": [...]} (see the README)',
    )

    token = commands.add_parser(
        "token",
        parents=[connection, permissions],
        help="vend a token and print it",
        description="Vend a token for --cache and --topic, or for --permissions-json, and print it.",
    )
    token.add_argument("--cache", help="cache name (with --topic)")
    token.add_argument("--topic", help="topic name (with --cache)")
    token.add_argument("--json", action="store_true", help="print the token and its expiry as JSON")

    momento = argparse.ArgumentParser(add_help=False)
    momento.add_argument(
        "--local-endpoint",
        metavar="HOST:PORT",
        help="talk to a local Momento service here (default: the endpoint inside the token)",
    )
    commands.add_parser(
        "subscribe", parents=[connection, topic, momento], help="print the topic's messages until Ctrl-C"
    )
    publish = commands.add_parser("publish", parents=[connection, topic, momento], help="publish one message")
    publish.add_argument("message", help="the text to publish")
    _add_cache_parsers(commands, [connection, permissions, momento])
    _add_smoke_parser(commands, momento)
    return parser


def _add_cache_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    item = argparse.ArgumentParser(add_help=False)
    item.add_argument("--cache", required=True, help="cache name")
    item.add_argument("--key", required=True, help="the item's key")
    commands.add_parser(
        "get",
        parents=[*parents, item],
        help="print a cache item's value",
        description="Vend a token (readonly on --key, unless --permissions-json) and print the item's value.",
    )
    set_item = commands.add_parser(
        "set",
        parents=[*parents, item],
        help="store a cache item",
        description="Vend a token (readwrite on --key, unless --permissions-json) and store the value.",
    )
    set_item.add_argument("--value", required=True, help="the text to store")
    set_item.add_argument("--ttl-seconds", type=_positive_seconds, help="the item's time to live (default: one hour)")


def _positive_seconds(text: str) -> float:
    seconds = float(text)
    if not seconds > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return seconds


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


def _names_one_target(args: argparse.Namespace) -> bool:
    """Whether ``token`` was given a cache and topic, or permissions, but not both."""
    if args.permissions_json is not None:
        return args.cache is None and args.topic is None
    return args.cache is not None and args.topic is not None


def _parse_permissions(args: argparse.Namespace) -> tuple[TokenPermission, ...] | None:
    """The ``--permissions-json`` permissions, None without it; ``ValueError`` for bad usage."""
    text = getattr(args, "permissions_json", None)
    return None if text is None else permissions_from_json(text)


def _token(args: argparse.Namespace, headers: dict[str, str], permissions: tuple[TokenPermission, ...] | None) -> int:
    with TokenVendingClient(
        args.url, args.cache, args.topic, permissions=permissions, headers=headers, timeout=args.timeout
    ) as client:
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


def _cache_command(
    args: argparse.Namespace, headers: dict[str, str], permissions: tuple[TokenPermission, ...] | None
) -> int:
    """``get`` or ``set`` one item, with a token vended for that key unless permissions are given."""
    role: CacheRole = "readonly" if args.command == "get" else "readwrite"
    with (
        TokenVendingClient(
            args.url,
            permissions=permissions or [CachePermission(args.cache, role, key=args.key)],
            headers=headers,
            timeout=args.timeout,
        ) as client,
        client.cache_client(local_endpoint=args.local_endpoint) as cache_client,
    ):
        return _get(cache_client, args) if args.command == "get" else _set(cache_client, args)


def _get(cache_client: CacheClient, args: argparse.Namespace) -> int:
    from momento.responses import CacheGet

    response = cache_client.get(args.cache, args.key)
    if isinstance(response, CacheGet.Hit):
        try:
            print(response.value_string)
        except UnicodeDecodeError:
            print(response.value_bytes.hex())
        return 0
    if isinstance(response, CacheGet.Miss):
        print(f"tvm: no item {args.key!r} in cache {args.cache!r}", file=sys.stderr)
        return EXIT_FAILURE
    return _momento_failure("get", response)


def _set(cache_client: CacheClient, args: argparse.Namespace) -> int:
    from momento.responses import CacheSet

    ttl = None if args.ttl_seconds is None else timedelta(seconds=args.ttl_seconds)
    response = cache_client.set(args.cache, args.key, args.value, ttl)
    if isinstance(response, CacheSet.Success):
        print(f"stored {args.key!r} in cache {args.cache!r}", file=sys.stderr)
        return 0
    return _momento_failure("set", response)


def _momento_failure(operation: str, response: object) -> int:
    """Report an ``.Error`` response (its code and message name no token)."""
    code, message = getattr(response, "error_code", "unexpected response"), getattr(response, "message", response)
    print(f"tvm: {operation} failed ({code}): {message}", file=sys.stderr)
    return EXIT_FAILURE


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
