"""The vending Lambda: runtime, sizing, timeout, environment, logs and its own least-privilege role.

Options for cold starts: the Parameters and Secrets extension (the secret is read over localhost,
without importing boto3) and SnapStart. With SnapStart or canary rollouts every deploy publishes a
version and the front door invokes the ``live`` alias.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_lambda_powertools.shared.constants import METRICS_NAMESPACE_ENV, POWERTOOLS_LOG_LEVEL_ENV, SERVICE_NAME_ENV
from constructs import Construct

from infra.bundling import python_function_code
from infra.names import LIVE_ALIAS
from token_vending_machine.budget import SECRET_FETCH_TIMEOUT_SECONDS
from token_vending_machine.names import HANDLER, METRICS_NAMESPACE, SERVICE_NAME, Env

# Newest Lambda Python runtime that aws-cdk-lib offers and that grpcio and pydantic-core ship
# manylinux aarch64 wheels for (cp314).
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64

# The AWS Parameters and Secrets Lambda Extension: the newest version aws-cdk-lib knows (arm64 and x86_64).
SECRETS_EXTENSION_VERSION = lambda_.ParamsAndSecretsVersions.V1_0_103
SECRETS_EXTENSION_PORT = 2773  # the extension's documented default
EXTENSION_LOG_LEVELS = {
    "DEBUG": lambda_.ParamsAndSecretsLogLevel.DEBUG,
    "INFO": lambda_.ParamsAndSecretsLogLevel.INFO,
    "WARNING": lambda_.ParamsAndSecretsLogLevel.WARN,
    "ERROR": lambda_.ParamsAndSecretsLogLevel.ERROR,
}


def secrets_extension(*, log_level: str) -> lambda_.ParamsAndSecretsLayerVersion:
    """The extension as a boto3-free proxy to Secrets Manager, with its own cache off.

    The function already caches the key for SECRET_MAX_AGE_SECONDS; a second cache in the extension
    would double how long a rotated key takes to arrive, and would answer the function's forced
    re-read (after Momento rejects the key) with the old value.
    """
    return lambda_.ParamsAndSecretsLayerVersion.from_version(
        SECRETS_EXTENSION_VERSION,
        cache_enabled=False,
        http_port=SECRETS_EXTENSION_PORT,
        log_level=EXTENSION_LOG_LEVELS[log_level],
        secrets_manager_timeout=Duration.millis(int(SECRET_FETCH_TIMEOUT_SECONDS * 1000)),
    )


class TokenVendingFunction(Construct):
    """``function`` is the Lambda; ``invocable`` is what the front door invokes: ``live_alias`` when there is one.

    The role can write the function's own log group and, once granted, read the secret.
    """

    function: lambda_.Function
    invocable: lambda_.IFunction
    live_alias: lambda_.Alias | None

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        secret_id: str,
        settings_environment: Mapping[str, str],
        memory_size: int,
        timeout_seconds: int,
        log_level: str,
        log_retention: logs.RetentionDays,
        reserved_concurrency: int | None = None,
        tracing: bool = True,
        use_secrets_extension: bool = True,
        snap_start: bool = False,
        live_alias: bool = False,
    ) -> None:
        """``live_alias``: publish the current version and alias it as ``live`` (implied by ``snap_start``)."""
        super().__init__(scope, construct_id)
        log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        # An own role instead of AWSLambdaBasicExecutionRole: write to this log group only.
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)

        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=python_function_code(runtime=RUNTIME, architecture=ARCHITECTURE),
            memory_size=memory_size,
            timeout=Duration.seconds(timeout_seconds),
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel[log_level.replace("WARNING", "WARN")],
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE if tracing else lambda_.Tracing.DISABLED,
            reserved_concurrent_executions=reserved_concurrency,
            environment={
                Env.SECRET_NAME: secret_id,
                **settings_environment,
                SERVICE_NAME_ENV: SERVICE_NAME,
                METRICS_NAMESPACE_ENV: METRICS_NAMESPACE,
                POWERTOOLS_LOG_LEVEL_ENV: log_level,
            },
            params_and_secrets=(secrets_extension(log_level=log_level) if use_secrets_extension else None),
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            description="Momento token vending machine: vends short-lived tokens scoped by policy",
        )
        # SnapStart snapshots published versions only: $LATEST would cold-start as before.
        self.live_alias = None
        self.invocable = self.function
        if snap_start or live_alias:
            self.live_alias = lambda_.Alias(self, "Live", alias_name=LIVE_ALIAS, version=self.function.current_version)
            self.invocable = self.live_alias
        if snap_start:
            Validations.of(self.function).acknowledge(
                Acknowledgment(
                    id="@aws-cdk/aws-lambda:snapStartRequirePublish",
                    reason=f"Every deploy publishes the current version and points the {LIVE_ALIAS!r} alias at it; "
                    "the front door invokes that alias.",
                ),
            )
        if tracing:
            Validations.of(role).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::*]",
                    reason="Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no "
                    "resource-level permissions, so X-Ray requires Resource '*'.",
                ),
            )
        else:
            Validations.of(self.function).acknowledge(
                Acknowledgment(
                    id="Serverless-LambdaTracing",
                    reason="Tracing switched off on purpose (context tracing=false): X-Ray adds cost and a "
                    "little latency per request; JSON logs and Powertools metrics remain.",
                ),
            )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="Serverless-LambdaDLQ",
                reason="Only invoked synchronously through HTTP: the caller gets the error; a DLQ only "
                "receives failed asynchronous events.",
            ),
        )
