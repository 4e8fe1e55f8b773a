"""Composition: settings and adapters wired into a handler function, once per container.

``handler.py`` calls this with the environment's settings; tests and the local stack call it with
their own settings and, where they want, their own Secrets Manager client.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from token_vending_machine.adapters.secrets import ExtensionSource, SecretsManagerSource, SecretSource, SecretStore
from token_vending_machine.api import TokenApi
from token_vending_machine.budget import Deadline, function_timeout_seconds
from token_vending_machine.identity import Caller
from token_vending_machine.models import TokenScope, VendedToken
from token_vending_machine.names import METRICS_NAMESPACE, SERVICE_NAME
from token_vending_machine.policy import Policy
from token_vending_machine.settings import Settings
from token_vending_machine.vending import CallRateLimit, TokenReuse, TokenVendor

Handler = Callable[[Any, Any], dict[str, Any]]


def build_vendor(
    settings: Settings,
    *,
    secrets_client: Any = None,
    metrics: Metrics | None = None,
    logger: Logger | None = None,
    prefetch_key: bool = False,
) -> TokenVendor:
    """The vendor for these settings.

    With ``prefetch_key`` and the Parameters and Secrets extension, the key's first read starts at
    once, in the background. Not through boto3: that read would import boto3 on its thread while
    this one imports the rest, for no network wait to hide until boto3 is loaded.
    """
    source: SecretSource
    if secrets_client is None and settings.secrets_extension_port is not None:
        source = ExtensionSource(settings.secrets_extension_port)
    else:
        source = SecretsManagerSource(secrets_client)

    def on_stale_key(reason: str) -> None:
        if logger is not None:
            logger.warning("serving the last good Momento key", extra={"cause": reason})
        if metrics is not None:
            metrics.add_metric(name="StaleKeyServed", unit=MetricUnit.Count, value=1)

    secrets = SecretStore(
        settings.secret_id, max_age_seconds=settings.secret_max_age_seconds, source=source, on_stale_key=on_stale_key
    )
    if prefetch_key and isinstance(source, ExtensionSource):
        secrets.prefetch()
    # Imported once the read is under way: the Momento SDK's import (about a third of a cold start)
    # then overlaps the wait for the key.
    from token_vending_machine.adapters.momento import MomentoTokenIssuer

    return TokenVendor(
        secrets=secrets,
        issuer=MomentoTokenIssuer(
            timeout_seconds=settings.momento_timeout_seconds,
            max_attempts=settings.momento_max_attempts,
            local_endpoint=settings.local_host_and_port,
        ),
        policy=Policy(settings.policy_rules(), topics_per_identity=settings.topics_per_identity),
        reuse=TokenReuse(min_remaining_seconds=settings.token_reuse_min_remaining * settings.token_expiry_seconds),
        rate_limit=CallRateLimit(settings.momento_call_rate_limit),
        token_expiry_seconds=settings.token_expiry_seconds,
        metrics=metrics,
    )


def create_handler(
    settings: Settings,
    *,
    secrets_client: Any = None,
    logger: Logger | None = None,
    metrics: Metrics | None = None,
    vendor: TokenVendor | None = None,
) -> Handler:
    logger = logger or Logger(service=SERVICE_NAME)
    metrics = metrics or Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
    vendor = vendor or build_vendor(settings, secrets_client=secrets_client, metrics=metrics, logger=logger)

    def vend(scope: TokenScope, caller: Caller | None, deadline: Deadline) -> VendedToken:
        return vendor.vend(scope, caller=caller, deadline=deadline)

    api = TokenApi(
        vend,
        logger,
        max_body_bytes=settings.max_body_bytes,
        cors_allowed_origins=settings.cors_allowed_origins,
        identity_source=settings.identity_source,
        api_id=settings.front_door_api_id,
        default_budget_seconds=function_timeout_seconds(
            momento_timeout_seconds=settings.momento_timeout_seconds,
            momento_max_attempts=settings.momento_max_attempts,
        ),
    )

    # Flushed by hand rather than with @metrics.log_metrics: with POWERTOOLS_METRICS_DISABLED,
    # Powertools keeps what it does not print and prints it anyway once 100 values pile up.
    metrics_disabled = is_metrics_disabled()

    def log_request(outcome: str, status: Any, started: float) -> None:
        """One JSON line per request: the log line, carrying the EMF metrics when it is printed at all.

        CloudWatch reads EMF from any JSON line with an ``_aws`` member, so one serialisation and one
        write serve both; when INFO is filtered out, the metrics still go out on a line of their own.
        """
        fields: dict[str, Any] = {
            "outcome": outcome,
            "status": status,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        if metrics_disabled:
            metrics.clear_metrics()
        elif logger.log_level <= logging.INFO:
            fields.update(metrics.serialize_metric_set())
            metrics.clear_metrics()
        else:
            metrics.flush_metrics()
        logger.info("token request", extra=fields)

    @logger.inject_lambda_context(clear_state=True)
    def handle(event: Any, context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        response = api.handle(event, context)
        outcome = api.outcome
        if outcome == "vended":
            metrics.add_metric(name="TokensVended", unit=MetricUnit.Count, value=1)
        else:
            metrics.add_metric(name=f"Error_{outcome}", unit=MetricUnit.Count, value=1)
        log_request(outcome, response.get("statusCode"), started)
        return response

    return handle
