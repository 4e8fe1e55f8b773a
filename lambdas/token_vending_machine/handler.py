"""Lambda entry point: settings from the environment, validated at cold start, and the handler built once.

Two things keep the cold start short (``bench/README.md`` has the figures):

- The cyclic garbage collector is paused while the dependencies load and the handler is built: the
  objects made then live as long as the container, yet each collection would scan them all again.
  Once built, they are frozen (``gc.freeze``), so later collections leave them alone.
- The Momento key is read in the background while the Momento SDK loads (through the Parameters and
  Secrets extension, the default), so the first request may find it read. Not under SnapStart:
  a snapshot must not hold the key, so there the first request after a restore reads it.
"""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from token_vending_machine.wiring import Handler


def _cold_start() -> Handler:
    gc.disable()
    try:
        return _build()
    finally:
        gc.freeze()
        gc.enable()


def _build() -> Handler:
    from aws_lambda_powertools import Logger, Metrics

    from token_vending_machine.errors import ConfigurationError
    from token_vending_machine.names import METRICS_NAMESPACE, SERVICE_NAME
    from token_vending_machine.settings import load_settings
    from token_vending_machine.wiring import build_vendor, create_handler

    logger = Logger(service=SERVICE_NAME)
    try:
        settings = load_settings(os.environ)
    except ConfigurationError as exc:
        # Fail the cold start loudly: a function that cannot vend should not look healthy.
        logger.critical("cold start failed", extra={"cause": exc.message})
        raise

    metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
    snapshot = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"
    vendor = build_vendor(settings, metrics=metrics, logger=logger, prefetch_key=not snapshot)
    try:
        # Present in Lambda's Python runtimes with SnapStart; a snapshot must not carry our gRPC
        # channel or the key into its restored copies.
        from snapshot_restore_py import register_after_restore
    except ImportError:
        pass
    else:
        register_after_restore(vendor.after_restore)
    return create_handler(settings, logger=logger, metrics=metrics, vendor=vendor)


lambda_handler = _cold_start()
