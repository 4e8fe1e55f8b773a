"""A topic subscription opened and read over gRPC with Momento's wire types.

The SDK's subscription iterator (momento 1.29) retries a failed or finished stream read forever
without yielding to the event loop, which hangs the program, and the stream it reads is not public.
So the subscription is opened here the way the SDK opens it (the same request, headers and channel
options; refusals translated by the SDK's ``convert_error``) and read with a deadline. The items are
the SDK's own ``TopicSubscriptionItem`` values.
"""

from __future__ import annotations

import asyncio
import logging
import platform
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Final

import grpc
import momento
from momento import CredentialProvider
from momento.config import TopicConfiguration
from momento.errors import MomentoErrorCode, SdkException, convert_error
from momento.internal.services import Service
from momento.responses import TopicSubscriptionItem
from momento_wire_types import cachepubsub_pb2 as pubsub_pb
from momento_wire_types import cachepubsub_pb2_grpc as pubsub_grpc

logger = logging.getLogger("momento_tvm_client")

# The protocol's own message names start with an underscore (``message _SubscriptionItem``).
SubscriptionRequest = pubsub_pb._SubscriptionRequest
SubscriptionItem = pubsub_pb._SubscriptionItem

TopicItem = TopicSubscriptionItem.Text | TopicSubscriptionItem.Binary

# The SDK's own default for messages in both directions.
_DEFAULT_MAX_MESSAGE_BYTES: Final = 5_243_000
_TLS_PORT: Final = 443


class SubscriptionRefused(Exception):
    """Momento did not open the subscription; ``error_code`` is a ``MomentoErrorCode``."""

    def __init__(self, error: SdkException) -> None:
        self.error_code: MomentoErrorCode = error.error_code
        self.message = f"{error.message_wrapper}: {error.message}"
        super().__init__(self.message)


class TopicStream:
    """An open subscription's messages."""

    def __init__(self, call: grpc.aio.UnaryStreamCall) -> None:
        self._call = call

    async def items_until(self, deadline: float) -> AsyncIterator[TopicItem]:
        """The messages until loop time ``deadline``, ending early if the stream ends or breaks."""
        loop = asyncio.get_running_loop()
        while (left := deadline - loop.time()) > 0:
            try:
                raw = await asyncio.wait_for(self._call.read(), left)
            except TimeoutError:
                return
            except grpc.aio.AioRpcError as exc:
                logger.warning("subscription stream ended (%s); resubscribing", exc.code())
                return
            if raw is grpc.aio.EOF:
                return
            item = _topic_item(raw)
            if item is not None:
                yield item


@asynccontextmanager
async def open_topic_stream(
    credentials: CredentialProvider,
    configuration: TopicConfiguration,
    cache_name: str,
    topic_name: str,
    *,
    resume_at: tuple[int, int],
    timeout: timedelta,
) -> AsyncIterator[TopicStream]:
    """Subscribe to a topic, resuming at ``(sequence_page, sequence_number)``, with a deadline of
    ``timeout`` on the whole stream. Raises ``SubscriptionRefused`` when Momento says no."""
    sequence_page, sequence_number = resume_at
    request = SubscriptionRequest(
        cache_name=cache_name,
        topic=topic_name,
        resume_at_topic_sequence_number=sequence_number,
        sequence_page=sequence_page,
    )
    async with _channel(credentials, configuration) as channel:
        stub = pubsub_grpc.PubsubStub(channel)  # type: ignore[no-untyped-call]  # generated code, unannotated
        call: grpc.aio.UnaryStreamCall = stub.Subscribe(
            request, timeout=timeout.total_seconds(), metadata=_headers(credentials)
        )
        try:
            await _expect_heartbeat(call)
            yield TopicStream(call)
        finally:
            call.cancel()


async def _expect_heartbeat(call: grpc.aio.UnaryStreamCall) -> None:
    # Momento opens every subscription with a heartbeat; anything else (an error status) is a refusal.
    try:
        first = await call.read()
    except grpc.aio.AioRpcError as exc:
        raise SubscriptionRefused(convert_error(exc, Service.TOPICS)) from exc
    if first is grpc.aio.EOF or first.WhichOneof("kind") != "heartbeat":
        raise SubscriptionRefused(convert_error(ValueError("the subscription did not start"), Service.TOPICS))


def _topic_item(raw: SubscriptionItem) -> TopicItem | None:
    """The message in a stream item; None for heartbeats, discontinuities and unknown kinds."""
    if raw.WhichOneof("kind") != "item":
        return None
    item = raw.item
    kind = item.value.WhichOneof("kind")
    if kind == "text":
        return TopicSubscriptionItem.Text(item.value.text, item.topic_sequence_number, item.sequence_page)
    if kind == "binary":
        return TopicSubscriptionItem.Binary(item.value.binary, item.topic_sequence_number, item.sequence_page)
    return None


def _channel(credentials: CredentialProvider, configuration: TopicConfiguration) -> grpc.aio.Channel:
    options = _channel_options(configuration)
    if credentials.port == _TLS_PORT:
        return grpc.aio.secure_channel(credentials.cache_endpoint, grpc.ssl_channel_credentials(), options=options)
    return grpc.aio.insecure_channel(f"{credentials.cache_endpoint}:{credentials.port}", options=options)


def _channel_options(configuration: TopicConfiguration) -> list[tuple[str, int]]:
    grpc_config = configuration.get_transport_strategy().get_grpc_configuration()
    keepalive_time = grpc_config.get_keepalive_time()
    keepalive_timeout = grpc_config.get_keepalive_timeout()
    settings: dict[str, int | None] = {
        "grpc.max_send_message_length": grpc_config.get_max_send_message_length() or _DEFAULT_MAX_MESSAGE_BYTES,
        "grpc.max_receive_message_length": grpc_config.get_max_receive_message_length() or _DEFAULT_MAX_MESSAGE_BYTES,
        "grpc.service_config_disable_resolution": 1,
        "grpc.keepalive_permit_without_calls": grpc_config.get_keepalive_permit_without_calls(),
        "grpc.keepalive_time_ms": _milliseconds(keepalive_time) if keepalive_time is not None else None,
        "grpc.keepalive_timeout_ms": _milliseconds(keepalive_timeout) if keepalive_timeout is not None else None,
    }
    return [(name, value) for name, value in settings.items() if value is not None]


def _milliseconds(duration: timedelta) -> int:
    return int(duration.total_seconds() * 1000)


def _headers(credentials: CredentialProvider) -> tuple[tuple[str, str], ...]:
    return (
        ("authorization", credentials.auth_token),
        ("agent", f"python:topic:{momento.__version__}"),
        ("runtime-version", f"python {platform.python_version()}"),
    )
