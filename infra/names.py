"""Names the CDK app shares with the Makefile, the README and the tests: context keys, outputs, parameters.

Environment variable names live in the Lambda package (``token_vending_machine.names``): the bundle
cannot import ``infra``.
"""

from enum import StrEnum

DEFAULT_STACK_NAME = "MomentoTokenVendingMachine"
# The NoEcho CloudFormation parameter that carries the key into the secret on `make deploy`.
API_KEY_PARAMETER = "MomentoApiKey"


class Context(StrEnum):
    """``cdk.json`` context keys (or ``-c key=value``) that shape the stack.

    The function's own settings have context keys too, derived from its settings table
    (``token_vending_machine.settings.context_key``): they are not repeated here.
    """

    STACK_NAME = "stackName"
    FRONT_DOOR = "frontDoor"
    FUNCTION_URL_AUTH = "functionUrlAuth"
    EXISTING_SECRET = "existingSecret"
    EXISTING_SECRET_KMS_KEY_ARN = "existingSecretKmsKeyArn"
    MOMENTO_ENDPOINT = "momentoEndpoint"
    THROTTLING_RATE_LIMIT = "throttlingRateLimit"
    THROTTLING_BURST_LIMIT = "throttlingBurstLimit"
    RESERVED_CONCURRENCY = "reservedConcurrency"
    MEMORY_SIZE = "memorySize"
    LOG_LEVEL = "logLevel"
    LOG_RETENTION_DAYS = "logRetentionDays"
    # Caller identity: an HTTP API JWT authorizer.
    # The function's POLICY read from a JSON file at synth (or give it inline as context key "policy").
    POLICY_FILE = "policyFile"
    JWT_ISSUER = "jwtIssuer"
    JWT_AUDIENCE = "jwtAudience"
    # Caller identity: IAM roles (ARNs) the stack lets invoke an AWS_IAM Function URL.
    INVOKER_ROLE_ARNS = "invokerRoleArns"
    # Cold start and observability.
    SECRETS_EXTENSION = "secretsExtension"
    SNAP_START = "snapStart"
    TRACING = "tracing"
    # Operations: alarms and a dashboard (on by default), their e-mail, canary rollouts on the live alias.
    MONITORING = "monitoring"
    ALARM_EMAIL = "alarmEmail"
    CANARY = "canary"


class FrontDoor(StrEnum):
    """How HTTP reaches the function."""

    FUNCTION_URL = "functionUrl"
    HTTP_API = "httpApi"
    REST_API = "restApi"


class FunctionUrlAuth(StrEnum):
    NONE = "NONE"
    AWS_IAM = "AWS_IAM"


# With SnapStart or canary rollouts the front door invokes this alias of a published version, never $LATEST.
LIVE_ALIAS = "live"


class Output(StrEnum):
    """Stack outputs (CloudFormation output names)."""

    ENDPOINT_URL = "EndpointUrl"
    SECRET_ARN = "SecretArn"
    FUNCTION_NAME = "FunctionName"
    # Only with functionUrlAuth=AWS_IAM: the identity policy a caller's role needs, ready to attach.
    INVOKER_POLICY = "InvokerPolicy"
    # With monitoring: the SNS topic every alarm notifies (subscribe more endpoints to it).
    ALARM_TOPIC_ARN = "AlarmTopicArn"
