"""Lambda entry point: settings from the environment, validated at cold start, and the handler built once."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

from token_vending_machine.errors import ConfigurationError
from token_vending_machine.names import METRICS_NAMESPACE, SERVICE_NAME
from token_vending_machine.settings import load_settings
from token_vending_machine.wiring import build_vendor, create_handler

logger = Logger(service=SERVICE_NAME)

try:
    _settings = load_settings(os.environ)
except ConfigurationError as exc:
    # Fail the cold start loudly: a function that cannot vend should not look healthy.
    logger.critical("cold start failed", extra={"cause": exc.message})
    raise

metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
_vendor = build_vendor(_settings, metrics=metrics, logger=logger)
lambda_handler = create_handler(_settings, logger=logger, metrics=metrics, vendor=_vendor)

try:
    # Present in Lambda's Python runtimes with SnapStart; a snapshot must not carry our gRPC
    # channel or the key into its restored copies.
    from snapshot_restore_py import register_after_restore
except ImportError:
    pass
else:
    register_after_restore(_vendor.after_restore)
