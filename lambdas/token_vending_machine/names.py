"""Names shared by the Lambda, the CDK app, the local stack and the tests: defined once, here.

The function bundle cannot import ``infra/``, so shared names live in the Lambda package.
"""

from enum import StrEnum


class Env(StrEnum):
    """Environment variables the function reads at cold start."""

    SECRET_NAME = "MOMENTO_API_KEY_SECRET_NAME"
    SECRET_MAX_AGE_SECONDS = "SECRET_MAX_AGE_SECONDS"
    TOKEN_EXPIRY_SECONDS = "TOKEN_EXPIRY_SECONDS"
    MOMENTO_TIMEOUT_SECONDS = "MOMENTO_TIMEOUT_SECONDS"
    MOMENTO_MAX_ATTEMPTS = "MOMENTO_MAX_ATTEMPTS"
    MOMENTO_LOCAL_ENDPOINT = "MOMENTO_LOCAL_ENDPOINT"


class ErrorCode(StrEnum):
    """The ``error`` field of every error body the function returns."""

    BAD_REQUEST = "bad_request"
    VALIDATION_ERROR = "validation_error"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_FOUND = "not_found"
    THROTTLED = "throttled"
    MOMENTO_UNAVAILABLE = "momento_unavailable"
    MOMENTO_TIMEOUT = "momento_timeout"
    SECRET_UNAVAILABLE = "secret_unavailable"
    CONFIGURATION_ERROR = "configuration_error"
    INTERNAL_ERROR = "internal_error"


HANDLER = "token_vending_machine.handler.lambda_handler"
SERVICE_NAME = "token-vending-machine"
