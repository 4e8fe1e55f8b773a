"""The vending Lambda: runtime, sizing, timeout, environment, logs and its own least-privilege role."""

from __future__ import annotations

import math

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_lambda_powertools.shared.constants import POWERTOOLS_LOG_LEVEL_ENV, SERVICE_NAME_ENV
from constructs import Construct

from infra.bundling import python_function_code
from token_vending_machine.names import HANDLER, SERVICE_NAME, Env

# Newest Lambda Python runtime that aws-cdk-lib offers and that grpcio and pydantic-core ship
# manylinux aarch64 wheels for (cp314).
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64

# Budget pieces beyond the Momento attempts themselves (seconds).
RETRY_BACKOFF_CAP_SECONDS = 0.5  # the adapter's jittered backoff never sleeps longer between attempts
SECRET_FETCH_SECONDS = 3.0  # Secrets Manager client: 1 s connect + 2 s read, on a cache miss
RESPONSE_HEADROOM_SECONDS = 1.0  # serialise the answer and flush logs


def function_timeout(*, momento_timeout_seconds: float, momento_max_attempts: int) -> Duration:
    """Long enough for every Momento attempt at its full deadline, the backoffs between them and a secret fetch."""
    worst_case = (
        momento_timeout_seconds * momento_max_attempts
        + RETRY_BACKOFF_CAP_SECONDS * (momento_max_attempts - 1)
        + SECRET_FETCH_SECONDS
        + RESPONSE_HEADROOM_SECONDS
    )
    return Duration.seconds(math.ceil(worst_case))


class TokenVendingFunction(Construct):
    """``function`` is the Lambda; its role can write its own log group and, once granted, read the secret."""

    function: lambda_.Function

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        secret_id: str,
        memory_size: int,
        token_expiry_seconds: int,
        secret_max_age_seconds: int,
        momento_timeout_seconds: float,
        momento_max_attempts: int,
        log_level: str,
        log_retention: logs.RetentionDays,
        reserved_concurrency: int | None = None,
    ) -> None:
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
            timeout=function_timeout(
                momento_timeout_seconds=momento_timeout_seconds, momento_max_attempts=momento_max_attempts
            ),
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel[log_level.replace("WARNING", "WARN")],
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrency,
            environment={
                Env.SECRET_NAME: secret_id,
                Env.SECRET_MAX_AGE_SECONDS: str(secret_max_age_seconds),
                Env.TOKEN_EXPIRY_SECONDS: str(token_expiry_seconds),
                Env.MOMENTO_TIMEOUT_SECONDS: _number(momento_timeout_seconds),
                Env.MOMENTO_MAX_ATTEMPTS: str(momento_max_attempts),
                SERVICE_NAME_ENV: SERVICE_NAME,
                POWERTOOLS_LOG_LEVEL_ENV: log_level,
            },
            description="Momento token vending machine: vends short-lived topic-scoped tokens",
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no "
                "resource-level permissions, so X-Ray requires Resource '*'.",
            ),
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="Serverless-LambdaDLQ",
                reason="Only invoked synchronously through HTTP: the caller gets the error; a DLQ only "
                "receives failed asynchronous events.",
            ),
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
