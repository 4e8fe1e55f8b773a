"""One stack: the key's secret, the vending function, its front door, the grant between them, outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.config import StackConfig
from infra.constructs.front_door import JwtAuthorizerConfig, build_front_door
from infra.constructs.function import TokenVendingFunction
from infra.constructs.secret import ApiKeySecret
from infra.names import FrontDoor, Output


class TokenVendingMachineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        secret = ApiKeySecret(
            self,
            "ApiKey",
            existing_secret=config.existing_secret,
            kms_key_arn=config.existing_secret_kms_key_arn,
            momento_endpoint=config.momento_endpoint,
        )
        vending = TokenVendingFunction(
            self,
            "TokenVending",
            secret_id=secret.secret_id,
            settings_environment=config.function_environment,
            memory_size=config.memory_size,
            momento_timeout_seconds=config.momento_timeout_seconds,
            momento_max_attempts=config.momento_max_attempts,
            log_level=config.log_level,
            log_retention=config.log_retention,
            # API Gateway throttles at the stage; a Function URL has only concurrency to cap the rate.
            reserved_concurrency=config.reserved_concurrency if config.front_door is FrontDoor.FUNCTION_URL else None,
            tracing=config.tracing,
            use_secrets_extension=config.secrets_extension,
            snap_start=config.snap_start,
        )
        secret.grant_read(vending.function)
        front_door = build_front_door(
            self,
            "FrontDoor",
            kind=config.front_door,
            function=vending.invocable,
            function_url_auth=config.function_url_auth,
            cors_allowed_origins=config.cors_allowed_origins,
            throttling_rate_limit=config.throttling_rate_limit,
            throttling_burst_limit=config.throttling_burst_limit,
            log_retention=config.log_retention,
            jwt=(
                JwtAuthorizerConfig(issuer=config.jwt_issuer, audience=config.jwt_audience)
                if config.jwt_issuer is not None
                else None
            ),
            tracing=config.tracing,
        )

        CfnOutput(self, Output.ENDPOINT_URL, value=front_door.url, description="POST token requests here")
        CfnOutput(self, Output.SECRET_ARN, value=secret.secret.secret_arn, description="The Momento API key's secret")
        CfnOutput(self, Output.FUNCTION_NAME, value=vending.function.function_name, description="The vending Lambda")
