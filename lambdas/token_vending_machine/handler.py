"""Lambda entry point: settings from the environment, validated at cold start, and the handler built once."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

from token_vending_machine.app import build_vendor, create_handler
from token_vending_machine.errors import ConfigurationError
from token_vending_machine.names import SERVICE_NAME
from token_vending_machine.settings import load_settings

logger = Logger(service=SERVICE_NAME)

try:
    _settings = load_settings(os.environ)
except ConfigurationError as exc:
    # Fail the cold start loudly: a function that cannot vend should not look healthy.
    logger.critical("cold start failed", extra={"cause": exc.message})
    raise

_vendor = build_vendor(_settings)
lambda_handler = create_handler(_settings, logger=logger, vendor=_vendor)

try:
    # Present in Lambda's Python runtimes with SnapStart; a snapshot must not carry our gRPC
    # channel or the key into its restored copies.
    from snapshot_restore_py import register_after_restore
except ImportError:
    pass
else:
    register_after_restore(_vendor.after_restore)
