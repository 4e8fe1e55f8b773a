"""``tvm smoke``: check a deployed vending machine end to end, right after deploying it.

Checks, in order, each printed on one line with its latency as soon as it ends:

1. ``vend token``: POST ``{"cacheName", "topicName"}`` for a probe topic answers a token;
2. ``publish and receive``: with the real Momento SDK on that token, a subscription receives a
   message published to the probe topic;
3. ``refused on other topic`` / ``refused on other cache``: the same token's publish elsewhere is
   refused with a permission error (the token is scoped);
4. ``malformed body``: a body that is not JSON gets our JSON 400 (``error`` = ``bad_request``);
5. ``cors preflight``: OPTIONS with ``Origin`` answers with that origin; without ``--origin`` a probe
   origin is tried and the check is skipped when the endpoint answers no CORS at all.

The token and every header value given are secrets: they are replaced by ``<redacted>`` in anything
printed, as is anything shaped like a JWT, and no traceback is ever printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final, TextIO

import httpx

from .async_client import AsyncTokenVendingClient
from .errors import TokenVendingError
from .models import VendedToken
from .retry import RetryPolicy

if TYPE_CHECKING:
    from momento import TopicClientAsync
    from momento.config import TopicConfiguration
    from momento.responses import TopicSubscribe

DEFAULT_CACHE: Final = "SampleCache"
PROBE_TOPIC_PREFIX: Final = "tvm-smoke-"
# A browser origin no deployment allows by name: an answer for it means CORS is on for any origin.
PROBE_ORIGIN: Final = "https://tvm-smoke.invalid"
MALFORMED_BODY: Final = b'{"cacheName": '
REDACTED: Final = "<redacted>"
_JWT: Final = re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*")
_TOPIC_CLIENT_SLACK_SECONDS: Final = 30.0


def probe_topic() -> str:
    """A topic name no one else uses: ``tvm-smoke-<8 hex digits>``."""
    return PROBE_TOPIC_PREFIX + secrets.token_hex(4)


@dataclass(frozen=True, slots=True)
class SmokeOptions:
    """What to check and how to reach it. ``timeout`` bounds each request and each Momento wait."""

    url: str
    cache: str = DEFAULT_CACHE
    topic: str = field(default_factory=probe_topic)
    origin: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    auth: httpx.Auth | None = field(default=None, repr=False)
    local_endpoint: str | None = None
    timeout: float = 10.0


class Outcome(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    outcome: Outcome
    latency_ms: float
    detail: str = ""

    def line(self) -> str:
        text = f"{self.outcome.value:<5} {self.name:<24} {self.latency_ms:8.1f} ms"
        return f"{text}  {self.detail}" if self.detail else text


@dataclass(frozen=True, slots=True)
class SmokeReport:
    results: tuple[CheckResult, ...]
    seconds: float

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.results if result.outcome is Outcome.FAIL)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        counts = {outcome: sum(r.outcome is outcome for r in self.results) for outcome in Outcome}
        verdict = "OK" if self.ok else "FAILED (" + ", ".join(r.name for r in self.failed) + ")"
        return (
            f"{verdict}: {counts[Outcome.PASS]} passed, {counts[Outcome.FAIL]} failed, "
            f"{counts[Outcome.SKIP]} skipped in {self.seconds:.2f} s"
        )


class CheckFailed(Exception):
    """The endpoint did not answer as it should; the message says what it did instead."""


class CheckSkipped(Exception):
    """The check cannot run (an earlier one failed) or does not apply."""


class Redactor:
    """Removes secrets from text: the values it is told about, and anything shaped like a JWT."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._secrets: set[str] = set()
        for value in (values or {}).values():
            self.add(value)

    def add(self, secret: str) -> None:
        # Also the bearer credential alone, e.g. the JWT of "Bearer <jwt>".
        for part in (secret, *secret.split()):
            if len(part) >= 8:
                self._secrets.add(part)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return _JWT.sub(REDACTED, text)


def run_smoke(options: SmokeOptions, *, out: TextIO | None = None) -> SmokeReport:
    """Run every check against ``options.url``, printing a line per check and the summary to ``out``."""
    return asyncio.run(run_smoke_async(options, out=out or sys.stdout))


async def run_smoke_async(options: SmokeOptions, *, out: TextIO) -> SmokeReport:
    redact = Redactor(options.headers)
    print(f"smoke test of {options.url} (cache {options.cache}, topic {options.topic})", file=out, flush=True)
    started = time.perf_counter()
    results: list[CheckResult] = []
    async with _Checks(options, redact) as checks:
        for name, check in checks.in_order():
            result = await _timed(name, check, redact)
            print(result.line(), file=out, flush=True)
            results.append(result)
    report = SmokeReport(tuple(results), time.perf_counter() - started)
    print(report.summary(), file=out, flush=True)
    return report


async def _timed(name: str, check: Callable[[], Awaitable[str]], redact: Redactor) -> CheckResult:
    started = time.perf_counter()
    try:
        outcome, detail = Outcome.PASS, await check()
    except CheckSkipped as exc:
        outcome, detail = Outcome.SKIP, str(exc)
    except CheckFailed as exc:
        outcome, detail = Outcome.FAIL, str(exc)
    except Exception as exc:  # reported, never raised: a traceback could carry the token
        outcome, detail = Outcome.FAIL, _describe(exc)
    latency_ms = (time.perf_counter() - started) * 1000
    return CheckResult(name, outcome, latency_ms, redact(detail))


def _describe(error: Exception) -> str:
    if isinstance(error, TokenVendingError | ImportError):
        return str(error)  # written for the user already
    if isinstance(error, TimeoutError):
        return "no answer in time (see --timeout)"
    return f"{type(error).__name__}: {error}"


class _Checks:
    """The checks of one run and what they share: the HTTP client, the token, the topic client."""

    def __init__(self, options: SmokeOptions, redact: Redactor) -> None:
        self._options = options
        self._redact = redact
        self._resources = contextlib.AsyncExitStack()
        self._http = httpx.AsyncClient(auth=options.auth, timeout=options.timeout)
        self._token: VendedToken | None = None
        self._topic_client: TopicClientAsync | None = None

    async def __aenter__(self) -> _Checks:
        await self._resources.enter_async_context(self._http)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._resources.aclose()

    def in_order(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        return [
            ("vend token", self.vend_token),
            ("publish and receive", self.publish_and_receive),
            ("refused on other topic", self.refused_on_other_topic),
            ("refused on other cache", self.refused_on_other_cache),
            ("malformed body", self.malformed_body),
            ("cors preflight", self.cors_preflight),
        ]

    async def vend_token(self) -> str:
        options = self._options
        client = AsyncTokenVendingClient(
            options.url,
            options.cache,
            options.topic,
            http_client=self._http,
            headers=options.headers,
            timeout=options.timeout,
            retry=RetryPolicy(max_attempts=1),
            serve_stale_on_error=False,
        )
        token = await client.get_token()
        self._redact.add(token.auth_token)
        self._token = token
        return f"expires in {token.seconds_remaining(time.time()):.0f} s"

    async def publish_and_receive(self) -> str:
        client = await self._topics()
        from momento.responses import TopicPublish, TopicSubscribe

        cache, topic, timeout = self._options.cache, self._options.topic, self._options.timeout
        subscription = await asyncio.wait_for(client.subscribe(cache, topic), timeout)
        if isinstance(subscription, TopicSubscribe.Error):
            raise CheckFailed(
                f"subscribe to {cache}/{topic} refused ({subscription.error_code}): {subscription.message}"
            )
        assert isinstance(subscription, TopicSubscribe.SubscriptionAsync)
        message = f"tvm smoke {secrets.token_hex(8)}"
        try:
            published = await asyncio.wait_for(client.publish(cache, topic, message), timeout)
            if isinstance(published, TopicPublish.Error):
                raise CheckFailed(f"publish to {cache}/{topic} refused ({published.error_code}): {published.message}")
            await _receive(subscription, message, timeout)
        finally:
            subscription.unsubscribe()
        return f"{cache}/{topic}"

    async def refused_on_other_topic(self) -> str:
        return await self._expect_refused(self._options.cache, f"{self._options.topic}-other")

    async def refused_on_other_cache(self) -> str:
        return await self._expect_refused(f"{self._options.cache}-tvm-smoke-other", self._options.topic)

    async def malformed_body(self) -> str:
        headers = {**self._options.headers, "content-type": "application/json"}
        response = await self._http.post(self._options.url, content=MALFORMED_BODY, headers=headers)
        # The body is described, never echoed: a 2xx body would hold a token.
        if response.status_code != 400:
            raise CheckFailed(f"expected HTTP 400, got {response.status_code}")
        error = _json_field(response.content, "error")
        if error != "bad_request":
            raise CheckFailed(f"expected a JSON body with error 'bad_request', got error {error!r}")
        return "400 bad_request"

    async def cors_preflight(self) -> str:
        origin = self._options.origin or PROBE_ORIGIN
        requested_headers = sorted({"content-type", *(name.lower() for name in self._options.headers)})
        # A browser's preflight carries no credentials: neither the caller's headers nor a signature.
        response = await self._http.options(
            self._options.url,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": ", ".join(requested_headers),
            },
            auth=httpx.Auth(),  # the base class adds nothing
        )
        allowed_origin = response.headers.get("access-control-allow-origin")
        if allowed_origin is None and self._options.origin is None:
            raise CheckSkipped("no CORS answer for a probe origin (pass --origin to require yours)")
        return _check_preflight(response, origin, requested_headers)

    async def _expect_refused(self, cache: str, topic: str) -> str:
        client = await self._topics()
        from momento.errors import MomentoErrorCode
        from momento.responses import TopicPublish

        response = await asyncio.wait_for(
            client.publish(cache, topic, "tvm smoke: must be refused"), self._options.timeout
        )
        if isinstance(response, TopicPublish.Success):
            raise CheckFailed(f"publish to {cache}/{topic} succeeded: the token is not scoped to its cache and topic")
        assert isinstance(response, TopicPublish.Error)
        if response.error_code != MomentoErrorCode.PERMISSION_ERROR:
            raise CheckFailed(f"expected a permission error, got {response.error_code}: {response.message}")
        return f"{cache}/{topic}: permission error"

    async def _topics(self) -> TopicClientAsync:
        """The Momento topic client on the vended token, built once (needs the ``topics`` extra)."""
        if self._token is None:
            raise CheckSkipped("no token")
        if self._topic_client is None:
            # Imported first: without the `topics` extra, its ImportError says what to install.
            from .topics import async_topic_client_from_token

            client = async_topic_client_from_token(
                self._token,
                local_endpoint=self._options.local_endpoint,
                configuration=_topic_configuration(self._options.timeout),
            )
            self._topic_client = await self._resources.enter_async_context(client)
        return self._topic_client


def _topic_configuration(timeout: float) -> TopicConfiguration:
    from momento import TopicConfigurations

    # The client deadline covers a whole subscription: keep it past the check's own timeout.
    deadline = timedelta(seconds=timeout + _TOPIC_CLIENT_SLACK_SECONDS)
    return TopicConfigurations.Default.latest().with_client_timeout(deadline)


async def _receive(subscription: TopicSubscribe.SubscriptionAsync, message: str, timeout: float) -> None:
    """Wait for ``message`` on the subscription; other messages (someone else's) are skipped."""
    from momento.responses import TopicSubscriptionItem

    async def first_match() -> None:
        async for item in subscription:
            if isinstance(item, TopicSubscriptionItem.Error):
                raise CheckFailed(f"subscription broke ({item.error_code}): {item.message}")
            if isinstance(item, TopicSubscriptionItem.Text) and item.value == message:
                return
        raise CheckFailed("the subscription ended before the message arrived")

    try:
        await asyncio.wait_for(first_match(), timeout)
    except TimeoutError:
        raise CheckFailed(f"the published message did not arrive within {timeout:g} s") from None


def _check_preflight(response: httpx.Response, origin: str, requested_headers: list[str]) -> str:
    """What a browser needs from the preflight's answer to go on with the POST."""
    allowed_origin = response.headers.get("access-control-allow-origin")
    if not response.is_success:
        raise CheckFailed(f"expected a 2xx preflight answer, got HTTP {response.status_code}")
    if allowed_origin not in (origin, "*"):
        raise CheckFailed(f"Access-Control-Allow-Origin is {allowed_origin!r}, not {origin!r}")
    methods = _header_list(response, "access-control-allow-methods")
    if methods and not {"POST", "*"} & {method.upper() for method in methods}:
        raise CheckFailed(f"Access-Control-Allow-Methods {', '.join(methods)} does not allow POST")
    allowed_headers = {name.lower() for name in _header_list(response, "access-control-allow-headers")}
    # "*" never covers Authorization (Fetch standard).
    missing = [
        name
        for name in requested_headers
        if name not in allowed_headers and ("*" not in allowed_headers or name == "authorization")
    ]
    if missing:
        raise CheckFailed(f"Access-Control-Allow-Headers does not allow {', '.join(missing)}")
    return f"allows origin {allowed_origin}"


def _header_list(response: httpx.Response, name: str) -> list[str]:
    return [item.strip() for item in response.headers.get(name, "").split(",") if item.strip()]


def _json_field(content: bytes, name: str) -> object:
    """``name`` of a JSON object body; None when the body is not one."""
    try:
        document = json.loads(content)
    except ValueError:
        return None
    return document.get(name) if isinstance(document, dict) else None
