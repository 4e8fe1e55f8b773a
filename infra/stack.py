"""One stack: the key's secret, the vending function, its front door, the grants around them, its alarms and
dashboard, canary rollouts, outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import StackConfig
from infra.constructs.front_door import FunctionUrlFrontDoor, JwtAuthorizerConfig, build_front_door
from infra.constructs.function import TokenVendingFunction
from infra.constructs.monitoring import TokenVendingMonitoring
from infra.constructs.rollout import CanaryRollout
from infra.constructs.secret import ApiKeySecret
from infra.names import FrontDoor, FunctionUrlAuth, Output
from token_vending_machine.names import Env


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
            timeout_seconds=config.function_timeout_seconds,
            log_level=config.log_level,
            log_retention=config.log_retention,
            # API Gateway throttles at the stage (config refuses reservedConcurrency there); a Function URL has
            # only concurrency, with the function's own Momento call limiter, to cap the rate.
            reserved_concurrency=config.reserved_concurrency if config.front_door is FrontDoor.FUNCTION_URL else None,
            tracing=config.tracing,
            use_secrets_extension=config.secrets_extension,
            snap_start=config.snap_start,
            live_alias=config.live_alias,
        )
        secret.grant_read(vending.function)
        self.front_door = build_front_door(
            self,
            "FrontDoor",
            kind=config.front_door,
            function=vending.invocable,
            function_url_auth=config.function_url_auth,
            cors_allowed_origins=config.function.cors_allowed_origins,
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
        # Added after the API exists: the API does not reference the function, so no cycle.
        if self.front_door.api_id is not None:
            vending.function.add_environment(Env.FRONT_DOOR_API_ID, self.front_door.api_id)
        for role_arn in config.invoker_role_arns:
            # An ArnPrincipal, not an imported Role: the grant goes into the function's resource policy and
            # never attaches a policy to a role this stack does not own (perhaps in another account).
            self.grant_invoke(iam.ArnPrincipal(role_arn))

        self.monitoring: TokenVendingMonitoring | None = None
        if config.monitoring:
            self.monitoring = TokenVendingMonitoring(
                self,
                "Monitoring",
                function=vending.function,
                timeout_seconds=config.function_timeout_seconds,
                front_door=self.front_door.server_error_metrics,
                alarm_email=config.alarm_email,
            )
            CfnOutput(
                self,
                Output.ALARM_TOPIC_ARN,
                value=self.monitoring.topic.topic_arn,
                description="Every alarm notifies this SNS topic",
            )
        if config.canary:
            if self.monitoring is None or vending.live_alias is None:
                raise ValueError("a canary needs the alarms and the live alias (config refuses canary without them)")
            CanaryRollout(self, "Rollout", alias=vending.live_alias, alarms=self.monitoring.rollback_alarms)

        CfnOutput(self, Output.ENDPOINT_URL, value=self.front_door.url, description="POST token requests here")
        CfnOutput(self, Output.SECRET_ARN, value=secret.secret.secret_arn, description="The Momento API key's secret")
        CfnOutput(self, Output.FUNCTION_NAME, value=vending.function.function_name, description="The vending Lambda")
        if isinstance(self.front_door, FunctionUrlFrontDoor) and self.front_door.auth is FunctionUrlAuth.AWS_IAM:
            CfnOutput(
                self,
                Output.INVOKER_POLICY,
                value=self.front_door.invoker_policy_json,
                description="Attach to each caller's role: both actions are required to call the AWS_IAM Function URL",
            )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call the AWS_IAM Function URL (both actions it needs, with their conditions)."""
        if not isinstance(self.front_door, FunctionUrlFrontDoor):
            raise ValueError(
                "grant_invoke is for an AWS_IAM Function URL; an API Gateway front door authorizes callers itself"
            )
        return self.front_door.grant_invoke(grantee)
