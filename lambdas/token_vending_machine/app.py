"""Composition: settings and adapters wired into a handler function, once per container.

``handler.py`` calls this with the environment's settings; tests and the local stack call it with
their own settings and, where they want, their own Secrets Manager client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, LambdaFunctionUrlResolver

from token_vending_machine.adapters.momento import MomentoTokenIssuer
from token_vending_machine.adapters.secrets import SecretStore
from token_vending_machine.api import build_app, error_response
from token_vending_machine.models import TokenRequest, VendedToken
from token_vending_machine.names import SERVICE_NAME, ErrorCode
from token_vending_machine.settings import Settings
from token_vending_machine.vending import TokenVendor

Handler = Callable[[Any, Any], dict[str, Any]]


def create_handler(settings: Settings, *, secrets_client: Any = None, logger: Logger | None = None) -> Handler:
    logger = logger or Logger(service=SERVICE_NAME)
    vendor = TokenVendor(
        secrets=SecretStore(
            settings.secret_name, max_age_seconds=settings.secret_max_age_seconds, client=secrets_client
        ),
        issuer=MomentoTokenIssuer(
            timeout_seconds=settings.momento_timeout_seconds,
            max_attempts=settings.momento_max_attempts,
            local_endpoint=settings.local_host_and_port,
        ),
        token_expiry_seconds=settings.token_expiry_seconds,
    )

    def vend(request: TokenRequest, budget_seconds: float) -> VendedToken:
        return vendor.vend(request, budget_seconds=budget_seconds)

    default_budget = settings.momento_timeout_seconds * settings.momento_max_attempts + 1
    # Payload 2.0 (Function URL, HTTP API) and 1.0 (REST API) events need different resolvers.
    apps = {
        "2.0": build_app(LambdaFunctionUrlResolver(), vend, logger, default_budget),
        "1.0": build_app(APIGatewayRestResolver(), vend, logger, default_budget),
    }

    def resolve(event: Any, context: Any) -> dict[str, Any]:
        if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
            not_http = error_response(
                400, ErrorCode.BAD_REQUEST, "This function expects an HTTP event (Function URL or API Gateway)."
            )
            return {"statusCode": not_http.status_code, "headers": not_http.headers, "body": not_http.body}
        return apps["2.0" if event.get("version") == "2.0" else "1.0"].resolve(event, context)

    @logger.inject_lambda_context(clear_state=True)
    def handle(event: Any, context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        response = resolve(event, context)
        status = response.get("statusCode", 500)
        logger.info(
            "token request",
            extra={
                "outcome": "vended" if status == 200 else "refused" if status < 500 else "failed",
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response

    return handle
