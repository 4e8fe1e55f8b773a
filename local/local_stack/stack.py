"""The whole vending machine on one machine: the secret, local (or real) Momento, the front door.

    with LocalStack(port=0) as stack:          # or stack.start() ... stack.stop()
        stack.url                              # "http://127.0.0.1:54321/": POST {"cacheName", "topicName"}
        stack.momento_endpoint                 # "127.0.0.1:54322" (the local Momento service)
        stack.momento_web_endpoint             # "http://127.0.0.1:54323" (its gRPC-web server, for browsers)
        stack.demo_url                         # "http://127.0.0.1:54321/demo/" (with demo_dir)

Everything binds 127.0.0.1 and runs in this process (threads, no child processes), so stopping the
stack, or the process ending, leaves nothing behind. The function is the real one
(``token_vending_machine.wiring.create_handler``), configured with explicit settings rather than
through this process's environment.

Where the function reads its key from depends on whose key it is. The local Momento service's
throwaway key sits in moto's Secrets Manager server, so the function's boto3 path runs over real HTTP.
A real account's key never goes near a listening service: moto answers anyone on the machine and
any web page (its CORS reflects every origin), so the key is handed to the function in process
(:class:`~local_stack.in_process_secrets.InProcessSecretsManager`) and moto is not started.

Browsers reach the local Momento service through its gRPC-web server, which admits only the front
door's origin (the demo page's): so the front door's port is bound first, before anything starts.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

from momento_local import MomentoLocal
from momento_local.cache import DEFAULT_CACHES
from token_vending_machine.adapters.momento import is_v2_api_key
from token_vending_machine.budget import function_timeout_seconds
from token_vending_machine.errors import ConfigurationError
from token_vending_machine.names import METRICS_NAMESPACE, SERVICE_NAME, Env
from token_vending_machine.settings import Settings, load_settings
from token_vending_machine.wiring import create_handler

from .demo import PREFIX as DEMO_PREFIX
from .demo import DemoSite
from .events import EventKind
from .front_door import LocalFrontDoor, bind_listener
from .in_process_secrets import InProcessSecretsManager

_T = TypeVar("_T")

HOST = "127.0.0.1"
REGION = "us-east-1"
SECRET_NAME_PREFIX = "tvm-local/momento-api-key"
QUIET_LOGGER_NAME = f"{SERVICE_NAME}-quiet"
# Settings the stack decides itself; any other Env variable may be passed through.
STACK_SETTINGS = {Env.SECRET_NAME, Env.MOMENTO_LOCAL_ENDPOINT, Env.SECRETS_EXTENSION_PORT}


class _DiscardedMetrics(Metrics):
    """Metrics that are dropped at the end of each invocation instead of printed as EMF."""

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        self.clear_metrics()


def policy_caches(settings: Settings) -> set[str]:
    """The caches the local Momento service publishes: those the policy names (glob patterns name no
    cache to create), or SampleCache when it names none."""
    names = {rule.cache for rule in settings.policy_rules() if not any(c in rule.cache for c in "*?[")}
    return names or set(DEFAULT_CACHES)


def _logger(*, quiet: bool) -> Logger:
    """The function's logger. Powertools loggers share state by name, so the quiet one (warnings only)
    gets a name of its own rather than changing the level of the one the function normally logs to."""
    if quiet:
        return Logger(service=QUIET_LOGGER_NAME, level="WARNING")
    return Logger(service=SERVICE_NAME)


class LocalStackError(Exception):
    """The stack cannot start as asked; the message says why and what to do."""


@dataclass(frozen=True)
class RealMomento:
    """A real Momento account's API key (and, for a v2 key, its endpoint). The key is never printed."""

    api_key: str
    endpoint: str | None = None

    def __post_init__(self) -> None:
        if not self.api_key:
            raise LocalStackError("MOMENTO_API_KEY is empty")
        if self.endpoint is None and is_v2_api_key(self.api_key):
            raise LocalStackError(
                "MOMENTO_API_KEY is a v2 API key, which does not name its endpoint: also set MOMENTO_ENDPOINT "
                "(the endpoint shown next to the key in the Momento console, e.g. "
                "cell-4-us-west-2-1.prod.a.momentohq.com)"
            )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RealMomento | None:
        """``MOMENTO_API_KEY`` (+ ``MOMENTO_ENDPOINT``) when set, else None: use the local Momento service."""
        api_key = environ.get("MOMENTO_API_KEY", "").strip()
        if not api_key:
            return None
        return cls(api_key, environ.get("MOMENTO_ENDPOINT", "").strip() or None)

    def __repr__(self) -> str:
        return f"RealMomento(endpoint={self.endpoint!r})"

    def secret_value(self) -> str:
        document = {"apiKey": self.api_key}
        if self.endpoint is not None:
            document["endpoint"] = self.endpoint
        return json.dumps(document)


class LocalStack:
    """The secret, local Momento (unless ``real_momento``) and the HTTP front door.

    The secret is in a local Secrets Manager (moto) with the local Momento service, and handed to the
    function in process with ``real_momento``, whose key must not be served on any port.

    ``momento_local`` reuses a running local Momento service instead of starting one (it is then not
    stopped here). ``settings`` adds function settings by their Env names (policy, CORS, ...).
    ``quiet`` keeps the function's per-request log line and metrics (EMF) off stdout; warnings still show.
    ``momento_web_port`` is the local Momento service's gRPC-web port (0: a free one). ``demo_dir``
    (a built ``web/demo``) is served at ``/demo/``.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        event_kind: EventKind = EventKind.FUNCTION_URL,
        momento_port: int = 0,
        momento_web_port: int = 0,
        token_expiry_seconds: int | None = None,
        real_momento: RealMomento | None = None,
        momento_local: MomentoLocal | None = None,
        settings: Mapping[str, str] | None = None,
        quiet: bool = False,
        demo_dir: Path | None = None,
    ) -> None:
        if real_momento is not None and momento_local is not None:
            raise ValueError("pass real_momento or momento_local, not both")
        ignored = STACK_SETTINGS & set(settings or {})
        if ignored:
            raise ValueError(f"the stack sets these itself: {', '.join(sorted(ignored))}")
        self.event_kind = event_kind
        self.real_momento = real_momento
        self.secret_id = f"{SECRET_NAME_PREFIX}-{secrets.token_hex(4)}"
        self._port = port
        self._momento_port = momento_port
        self._momento_web_port = momento_web_port
        self._demo_dir = demo_dir
        self._token_expiry_seconds = token_expiry_seconds
        self._given_momento_local = momento_local
        self._extra_settings = dict(settings or {})
        self._quiet = quiet
        self._momento_local: MomentoLocal | None = None
        self._moto: Any = None
        self._front_door: LocalFrontDoor | None = None
        self._settings: Settings | None = None
        self._running = contextlib.ExitStack()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        if self._front_door is not None:
            raise RuntimeError("the local stack is already running")
        try:
            self._start_all()
        except BaseException:
            self._momento_local = self._moto = self._settings = None
            raise
        return self

    def _start_all(self) -> None:
        """Start each part in order; if one fails, stop those already started."""
        with contextlib.ExitStack() as starting:
            listener = self._bind_front_door(starting)
            caches = policy_caches(self._build_settings())
            self._momento_local = self._start_momento_local(starting, _origins(listener), caches)
            secrets_client = self._start_secret_store(starting)
            self._settings = self._build_settings()
            handler = create_handler(
                self._settings,
                secrets_client=secrets_client,
                logger=_logger(quiet=self._quiet),
                metrics=(_DiscardedMetrics if self._quiet else Metrics)(
                    namespace=METRICS_NAMESPACE, service=SERVICE_NAME
                ),
            )
            front_door = LocalFrontDoor(
                handler,
                kind=self.event_kind,
                host=HOST,
                function_timeout_seconds=function_timeout_seconds(
                    momento_timeout_seconds=self._settings.momento_timeout_seconds,
                    momento_max_attempts=self._settings.momento_max_attempts,
                ),
                listener=listener,
                site=None if self._demo_dir is None else DemoSite(self._demo_dir, self._web_endpoint()),
            )
            front_door.start()
            starting.callback(front_door.stop)
            self._front_door = front_door
            self._running = starting.pop_all()

    def stop(self) -> None:
        """Stop the front door first (no new requests), then the secret store and Momento."""
        self._front_door = None
        self._running.close()
        self._moto = None
        self._momento_local = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- where things are ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The vending machine's URL: POST ``{"cacheName": ..., "topicName": ...}`` here."""
        return self._require(self._front_door, "front door").url

    @property
    def port(self) -> int:
        return self._require(self._front_door, "front door").port

    @property
    def uses_real_momento(self) -> bool:
        return self.real_momento is not None

    @property
    def momento_endpoint(self) -> str | None:
        """The local Momento service's host:port, or the real endpoint (None for a legacy real key)."""
        if self.real_momento is not None:
            return self.real_momento.endpoint
        return self._require(self._momento_local, "local Momento service").endpoint

    @property
    def momento_web_endpoint(self) -> str | None:
        """The local Momento service's gRPC-web URL for browsers; None with real Momento."""
        self._require(self._front_door, "stack")
        return self._web_endpoint()

    @property
    def demo_url(self) -> str | None:
        """The chat demo's page, when the stack serves one (``demo_dir``)."""
        if self._demo_dir is None:
            return None
        return self.url.rstrip("/") + DEMO_PREFIX

    @property
    def momento_local(self) -> MomentoLocal | None:
        """The local Momento service in use (None with real Momento), e.g. to decode a vended token."""
        return self._momento_local

    @property
    def secrets_manager_url(self) -> str | None:
        """The local Secrets Manager's URL; None with real Momento, whose key is kept in process."""
        if self.real_momento is not None:
            return None
        host, port = self._require(self._moto, "Secrets Manager").get_host_and_port()
        return f"http://{host}:{port}"

    @property
    def settings(self) -> Settings:
        return self._require(self._settings, "stack")

    # -- parts ---------------------------------------------------------------------------------------------

    def _bind_front_door(self, starting: contextlib.ExitStack) -> socket.socket:
        try:
            listener = bind_listener(HOST, self._port)
        except OSError as exc:
            raise LocalStackError(f"cannot listen on {HOST}:{self._port}: {exc.strerror or exc}") from exc
        starting.callback(listener.close)  # the front door closes it too once it has started
        return listener

    def _start_momento_local(
        self, starting: contextlib.ExitStack, web_origins: list[str], caches: set[str]
    ) -> MomentoLocal | None:
        if self.real_momento is not None:
            return None
        if self._given_momento_local is not None:
            return self._given_momento_local
        server = MomentoLocal(
            host=HOST,
            port=self._momento_port,
            caches=caches,
            web_port=self._momento_web_port,
            web_allowed_origins=web_origins,
        )
        try:
            server.start()
        except (RuntimeError, OSError) as exc:
            raise LocalStackError(f"cannot start the local Momento service: {exc}") from exc
        starting.callback(server.stop)
        return server

    def _start_secret_store(self, starting: contextlib.ExitStack) -> Any:
        """A Secrets Manager client holding the key: in process for a real key, else moto's server."""
        if self.real_momento is not None:
            return InProcessSecretsManager({self.secret_id: self.real_momento.secret_value()})
        secrets_client = self._start_secrets_manager(starting)
        secrets_client.create_secret(Name=self.secret_id, SecretString=self._local_secret_value())
        starting.callback(_delete_quietly, secrets_client, self.secret_id)
        return secrets_client

    def _start_secrets_manager(self, starting: contextlib.ExitStack) -> Any:
        import boto3
        from botocore.config import Config
        from moto.server import ThreadedMotoServer

        moto = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
        moto.start()
        starting.callback(moto.stop)
        self._moto = moto
        # Explicit dummy credentials and region: nothing is read from, or written to, the environment.
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
        return session.client(
            "secretsmanager",
            endpoint_url=self.secrets_manager_url,
            config=Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 2}),
        )

    def _web_endpoint(self) -> str | None:
        if self._momento_local is None:
            return None
        try:
            return self._momento_local.web_endpoint
        except RuntimeError:  # a given local Momento service without gRPC-web
            return None

    def _local_secret_value(self) -> str:
        server = self._require(self._momento_local, "local Momento service")
        return json.dumps({"apiKey": server.create_api_key(), "endpoint": server.endpoint})

    def _build_settings(self) -> Settings:
        values: dict[str, str] = {**self._extra_settings, Env.SECRET_NAME: self.secret_id}
        if self._momento_local is not None:
            values[Env.MOMENTO_LOCAL_ENDPOINT] = self._momento_local.endpoint
            # The local service has no account-wide limit to protect; real Momento keeps the function's default.
            values.setdefault(Env.MOMENTO_CALL_RATE_LIMIT, "0")
        if self._token_expiry_seconds is not None:
            values[Env.TOKEN_EXPIRY_SECONDS] = str(self._token_expiry_seconds)
        try:
            return load_settings(values)
        except ConfigurationError as exc:
            raise LocalStackError(exc.message) from exc

    @staticmethod
    def _require(value: _T | None, what: str) -> _T:
        if value is None:
            raise RuntimeError(f"the {what} is not running")
        return value


def _origins(listener: socket.socket) -> list[str]:
    """The front door's origins, by IP and by name: the only pages the gRPC-web server answers."""
    port = listener.getsockname()[1]
    return [f"http://{HOST}:{port}", f"http://localhost:{port}"]


def _delete_quietly(secrets_client: Any, secret_id: str) -> None:
    """Leave moto's in-process store as it was (another stack in this process may use it)."""
    with contextlib.suppress(Exception):
        secrets_client.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
