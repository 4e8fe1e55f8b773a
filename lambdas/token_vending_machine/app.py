"""Composition: settings and adapters wired into a handler function, once per container.

``handler.py`` calls this with the environment's settings; tests and the local stack call it with
their own settings and, where they want, their own Secrets Manager client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, LambdaFunctionUrlResolver
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from token_vending_machine.adapters.momento import MomentoTokenIssuer
from token_vending_machine.adapters.secrets import ExtensionSource, SecretsManagerSource, SecretSource, SecretStore
from token_vending_machine.api import build_app, error_response
from token_vending_machine.models import TokenRequest, VendedToken
from token_vending_machine.names import METRICS_NAMESPACE, SERVICE_NAME, ErrorCode
from token_vending_machine.policy import Policy
from token_vending_machine.settings import Settings
from token_vending_machine.vending import TokenReuse, TokenVendor

Handler = Callable[[Any, Any], dict[str, Any]]


def build_vendor(settings: Settings, *, secrets_client: Any = None, metrics: Metrics | None = None) -> TokenVendor:
    source: SecretSource
    if secrets_client is None and settings.secrets_extension_port is not None:
        source = ExtensionSource(settings.secrets_extension_port)
    else:
        source = SecretsManagerSource(secrets_client)
    return TokenVendor(
        secrets=SecretStore(settings.secret_name, max_age_seconds=settings.secret_max_age_seconds, source=source),
        issuer=MomentoTokenIssuer(
            timeout_seconds=settings.momento_timeout_seconds,
            max_attempts=settings.momento_max_attempts,
            local_endpoint=settings.local_host_and_port,
        ),
        policy=Policy(settings),
        reuse=TokenReuse(min_remaining_seconds=settings.token_reuse_min_remaining * settings.token_expiry_seconds),
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
    vendor = vendor or build_vendor(settings, secrets_client=secrets_client, metrics=metrics)

    def vend(request: TokenRequest, identity: str | None, budget_seconds: float) -> VendedToken:
        return vendor.vend(request, identity=identity, budget_seconds=budget_seconds)

    def app_for(resolver_class: type[ApiGatewayResolver]) -> ApiGatewayResolver:
        return build_app(
            resolver_class,
            vend,
            logger,
            default_budget_seconds=settings.momento_timeout_seconds * settings.momento_max_attempts + 1,
            max_body_bytes=settings.max_body_bytes,
            cors_allowed_origins=settings.cors_allowed_origins,
        )

    # Payload 2.0 (Function URL, HTTP API) and 1.0 (REST API) events need different resolvers.
    apps = {"2.0": app_for(LambdaFunctionUrlResolver), "1.0": app_for(APIGatewayRestResolver)}

    def resolve(event: Any, context: Any) -> dict[str, Any]:
        if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
            return _not_an_http_event()
        try:
            return apps["2.0" if event.get("version") == "2.0" else "1.0"].resolve(event, context)
        except Exception:
            # Only an event that no Function URL or API Gateway would send gets here: our routes'
            # own failures are answered by the exception handlers inside resolve().
            logger.warning("malformed HTTP event", exc_info=True)
            return _not_an_http_event()

    # Flushed by hand rather than with @metrics.log_metrics: with POWERTOOLS_METRICS_DISABLED,
    # Powertools keeps what it does not print and prints it anyway once 100 values pile up.
    publish_metrics = metrics.clear_metrics if is_metrics_disabled() else metrics.flush_metrics

    @logger.inject_lambda_context(clear_state=True)
    def handle(event: Any, context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        response = resolve(event, context)
        status = response.get("statusCode", 500)
        outcome = "vended" if status == 200 else _error_code(response)
        if status == 200:
            metrics.add_metric(name="TokensVended", unit=MetricUnit.Count, value=1)
        else:
            metrics.add_metric(name=f"Error_{outcome}", unit=MetricUnit.Count, value=1)
        logger.info(
            "token request",
            extra={
                "outcome": outcome,
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        publish_metrics()
        return response

    return handle


def _error_code(response: dict[str, Any]) -> str:
    try:
        return str(json.loads(response.get("body") or "{}").get("error", "unknown"))
    except (ValueError, AttributeError):
        return "unknown"


def _not_an_http_event() -> dict[str, Any]:
    response = error_response(
        400, ErrorCode.BAD_REQUEST, "This function expects an HTTP event (Function URL or API Gateway)."
    )
    return {"statusCode": response.status_code, "headers": response.headers, "body": response.body}
