"""Names shared by the Lambda, the CDK app, the local stack and the tests: defined once, here.

The function bundle cannot import ``infra/``, so shared names live in the Lambda package.
"""

from enum import StrEnum


class Env(StrEnum):
    """Names of the function's environment variables that other code (the CDK app, the local stack,
    tests) refers to. Each is declared, with its type, default and validation, by a field of
    ``settings.Settings``; a setting nothing else names needs no member here."""

    SECRET_NAME = "MOMENTO_API_KEY_SECRET_NAME"
    SECRET_MAX_AGE_SECONDS = "SECRET_MAX_AGE_SECONDS"
    TOKEN_EXPIRY_SECONDS = "TOKEN_EXPIRY_SECONDS"
    MOMENTO_TIMEOUT_SECONDS = "MOMENTO_TIMEOUT_SECONDS"
    MOMENTO_MAX_ATTEMPTS = "MOMENTO_MAX_ATTEMPTS"
    MOMENTO_LOCAL_ENDPOINT = "MOMENTO_LOCAL_ENDPOINT"
    ALLOWED_CACHES = "ALLOWED_CACHES"
    ALLOWED_TOPICS = "ALLOWED_TOPICS"
    ALLOWED_PERMISSIONS = "ALLOWED_PERMISSIONS"
    TOPICS_PER_IDENTITY = "TOPICS_PER_IDENTITY"
    TOKEN_REUSE_MIN_REMAINING = "TOKEN_REUSE_MIN_REMAINING"
    CORS_ALLOWED_ORIGINS = "CORS_ALLOWED_ORIGINS"
    MAX_BODY_BYTES = "MAX_BODY_BYTES"
    # Momento token calls per second per container (0: no limit); the account allows 5 in all.
    MOMENTO_CALL_RATE_LIMIT = "MOMENTO_CALL_RATE_LIMIT"
    POLICY = "POLICY"
    # The API Gateway API (HTTP or REST) the stack put in front: events that carry a caller identity
    # from any other API are refused. Unset for a Function URL, whose id the stack cannot know.
    FRONT_DOOR_API_ID = "FRONT_DOOR_API_ID"
    # The one kind of caller identity the front door produces (any, none, jwt, iam, lambda): an event
    # carrying another kind did not come through it.
    IDENTITY_SOURCE = "IDENTITY_SOURCE"
    # Set by the AWS Parameters and Secrets Lambda Extension when it is attached: the secret is then
    # read through it over localhost, and boto3 is never imported.
    SECRETS_EXTENSION_PORT = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"


class ErrorCode(StrEnum):
    """The ``error`` field of every error body the function returns."""

    BAD_REQUEST = "bad_request"
    VALIDATION_ERROR = "validation_error"
    FORBIDDEN = "forbidden"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    THROTTLED = "throttled"
    MOMENTO_UNAVAILABLE = "momento_unavailable"
    MOMENTO_TIMEOUT = "momento_timeout"
    MOMENTO_REFUSED = "momento_refused"
    SECRET_UNAVAILABLE = "secret_unavailable"
    CONFIGURATION_ERROR = "configuration_error"
    INTERNAL_ERROR = "internal_error"


HANDLER = "token_vending_machine.handler.lambda_handler"
SERVICE_NAME = "token-vending-machine"
METRICS_NAMESPACE = "MomentoTokenVendingMachine"
