"""The local Momento service's gRPC-web layer, spoken by hand over HTTP as `@gomomento/sdk-web` speaks it.

Text mode (`application/grpc-web-text`): the body is base64 of length-prefixed frames, each response frame
base64-encoded on its own; a final frame flagged 0x80 carries the trailers. The browser client decodes
the response in multiples of four characters as it arrives, and so does `FrameReader` here.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from datetime import timedelta

import grpc
import httpx
import pytest
from momento import TopicClient
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes
from momento.config import TopicConfigurations
from momento.internal._utilities._permissions import permissions_from_disposable_token_scope
from momento.responses import TopicPublish
from momento_wire_types import cacheclient_pb2 as cache_pb
from momento_wire_types import cachepubsub_pb2 as pubsub_pb
from momento_wire_types import common_pb2
from momento_wire_types import token_pb2 as token_pb
from momento_wire_types import token_pb2_grpc as token_grpc

from momento_local import MomentoLocal
from momento_local.grpc_web import ALLOWED_REQUEST_HEADERS, GrpcWebGateway, RecordingServer

CACHE, TOPIC = "SampleCache", "sample-topic"
PUBLISH = "/cache_client.pubsub.Pubsub/Publish"
SUBSCRIBE = "/cache_client.pubsub.Pubsub/Subscribe"
ORIGIN = "http://127.0.0.1:3000"
TRAILER_FLAG = 0x80
OK, DEADLINE_EXCEEDED, PERMISSION_DENIED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, UNAUTHENTICATED = (
    0,
    4,
    7,
    12,
    13,
    14,
    16,
)


@pytest.fixture(scope="module")
def web_local() -> Iterator[MomentoLocal]:
    with MomentoLocal(port=0, web_port=0, heartbeat_interval_seconds=0.5) as server:
        yield server


@pytest.fixture(autouse=True)
def no_faults_left_over(web_local: MomentoLocal) -> Iterator[None]:
    yield
    web_local.clear_faults()


@pytest.fixture
def client(web_local: MomentoLocal) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_local.web_endpoint, timeout=5) as http:
        yield http


@pytest.fixture(scope="module")
def api_key(web_local: MomentoLocal) -> str:
    return web_local.create_api_key()


def token(web_local: MomentoLocal, scope) -> str:
    return web_local.mint_disposable_token(permissions_from_disposable_token_scope(scope), valid_for_seconds=600)


# -- speaking gRPC-web text by hand ---------------------------------------------------------------------


def sdk_web_headers(auth: str | None, *, timeout: str | None = "5000m", **extra: str) -> dict[str, str]:
    """The headers sdk-web (grpc-web 1.4.2 over XMLHttpRequest) sends on a topic call."""
    headers = {
        "content-type": "application/grpc-web-text",
        "accept": "application/grpc-web-text",
        "x-grpc-web": "1",
        "x-user-agent": "grpc-web-javascript/0.1",
        "cache": CACHE,
        "agent": "js-web:topic:1.118.0",
        "runtime-version": "js-web:Chrome:Linux:unknown-device",
        **extra,
    }
    if auth is not None:
        headers["authorization"] = auth
    if timeout is not None:
        headers["grpc-timeout"] = timeout
    return headers


def text_body(message) -> bytes:
    payload = message.SerializeToString()
    return base64.b64encode(b"\x00" + len(payload).to_bytes(4, "big") + payload)


def publish_request(text: str, topic: str = TOPIC) -> bytes:
    return text_body(pubsub_pb._PublishRequest(cache_name=CACHE, topic=topic, value=pubsub_pb._TopicValue(text=text)))


def subscribe_request(topic: str = TOPIC) -> bytes:
    return text_body(pubsub_pb._SubscriptionRequest(cache_name=CACHE, topic=topic))


class FrameReader:
    """Frames from a text-mode body as it arrives, decoded four base64 characters at a time."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._text = b""
        self._data = b""

    def next_frame(self) -> tuple[int, bytes]:
        while len(self._data) < 5 or len(self._data) < 5 + int.from_bytes(self._data[1:5], "big"):
            self._text += next(self._chunks)
            usable = len(self._text) - len(self._text) % 4
            pieces = re.findall(rb"[^=]+=*", self._text[:usable])
            self._data += b"".join(base64.b64decode(piece) for piece in pieces)
            self._text = self._text[usable:]
        length = int.from_bytes(self._data[1:5], "big")
        flags, payload, self._data = self._data[0], self._data[5 : 5 + length], self._data[5 + length :]
        return flags, payload

    def rest(self) -> tuple[list[bytes], dict[str, str]]:
        """The remaining messages and the trailers."""
        messages = []
        while True:
            flags, payload = self.next_frame()
            if flags & TRAILER_FLAG:
                return messages, parse_trailers(payload)
            messages.append(payload)


def parse_trailers(block: bytes) -> dict[str, str]:
    lines = [line.split(":", 1) for line in block.decode().split("\r\n") if line]
    return {key.strip().lower(): value.strip() for key, value in lines}


def call(client: httpx.Client, path: str, body: bytes, headers: dict[str, str]) -> tuple[list[bytes], dict[str, str]]:
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/grpc-web-text")
    assert "grpc-status" not in response.headers  # the status travels in the trailer frame
    return FrameReader(iter([response.content])).rest()


def subscription_item(payload: bytes) -> pubsub_pb._SubscriptionItem:
    return pubsub_pb._SubscriptionItem.FromString(payload)


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


# -- unary calls --------------------------------------------------------------------------------------------


def test_publish_answers_one_message_frame_then_ok_trailers(client, api_key):
    messages, trailers = call(client, PUBLISH, publish_request("hello"), sdk_web_headers(api_key))

    assert [common_pb2._Empty.FromString(message) for message in messages] == [common_pb2._Empty()]
    assert trailers["grpc-status"] == str(OK)


def test_binary_mode_uses_the_same_frames_without_base64(client, api_key):
    payload = pubsub_pb._PublishRequest(
        cache_name=CACHE, topic=TOPIC, value=pubsub_pb._TopicValue(text="binary")
    ).SerializeToString()
    headers = sdk_web_headers(api_key, **{"content-type": "application/grpc-web+proto"})

    response = client.post(PUBLISH, content=b"\x00" + len(payload).to_bytes(4, "big") + payload, headers=headers)

    assert response.headers["content-type"] == "application/grpc-web+proto"
    assert response.content.endswith(b"grpc-status:0\r\ngrpc-message:\r\n")


def test_a_token_that_may_only_subscribe_is_refused_publishing(web_local, client):
    subscribe_only = token(web_local, DisposableTokenScopes.topic_subscribe_only(CACHE, TOPIC))

    messages, trailers = call(client, PUBLISH, publish_request("hello"), sdk_web_headers(subscribe_only))

    assert messages == []
    assert trailers["grpc-status"] == str(PERMISSION_DENIED)
    assert trailers["grpc-message"] == f"token may not publish on topic '{TOPIC}' in cache '{CACHE}'"


@pytest.mark.parametrize("auth", [None, "not-a-token"], ids=["missing", "invalid"])
def test_a_call_without_a_valid_token_is_unauthenticated(client, auth):
    _, trailers = call(client, PUBLISH, publish_request("hello"), sdk_web_headers(auth))

    assert trailers["grpc-status"] == str(UNAUTHENTICATED)
    assert trailers["grpc-message"]


def test_a_grpc_timeout_ends_a_hung_call_with_deadline_exceeded(web_local, client, api_key):
    web_local.inject_fault("Publish", delay_seconds=30)
    started = time.monotonic()

    _, trailers = call(client, PUBLISH, publish_request("late"), sdk_web_headers(api_key, timeout="300m"))

    assert trailers == {"grpc-status": str(DEADLINE_EXCEEDED), "grpc-message": "Deadline Exceeded"}
    assert time.monotonic() - started < 2


def test_an_unknown_method_is_unimplemented_and_a_garbled_body_is_internal(client, api_key):
    _, unknown = call(client, "/cache_client.pubsub.Pubsub/Nope", publish_request("x"), sdk_web_headers(api_key))
    _, garbled = call(client, PUBLISH, b"!!not base64!!", sdk_web_headers(api_key))

    assert unknown["grpc-status"] == str(UNIMPLEMENTED)
    assert garbled["grpc-status"] == str(INTERNAL)


def test_a_body_that_is_not_grpc_web_is_refused_over_plain_http(client, api_key):
    response = client.post(PUBLISH, json={}, headers={"authorization": api_key})

    assert response.status_code == 415


# -- server streaming ------------------------------------------------------------------------------------------


def test_subscribe_sends_a_heartbeat_at_once_then_each_published_item(web_local, client, api_key):
    topic = "stream-topic"
    with client.stream("POST", SUBSCRIBE, content=subscribe_request(topic), headers=sdk_web_headers(api_key)) as stream:
        assert stream.status_code == 200
        frames = FrameReader(stream.iter_raw())

        flags, first = frames.next_frame()  # arrives while the stream stays open
        assert (flags, subscription_item(first).WhichOneof("kind")) == (0, "heartbeat")

        _, trailers = call(client, PUBLISH, publish_request("over gRPC-web", topic), sdk_web_headers(api_key))
        assert trailers["grpc-status"] == str(OK)
        item = next_item(frames)
        assert item.value.text == "over gRPC-web"
        assert item.topic_sequence_number == 1

    # Closing the response closes the connection: the subscription ends on the server.
    wait_for(lambda: web_local.subscriber_count(CACHE, topic) == 0)


def test_a_native_grpc_publish_reaches_a_gRPC_web_subscriber(web_local, client, api_key):
    topic = "native-to-web"
    config = TopicConfigurations.Default.latest().with_client_timeout(timedelta(seconds=10))
    with (
        client.stream("POST", SUBSCRIBE, content=subscribe_request(topic), headers=sdk_web_headers(api_key)) as stream,
        TopicClient(config, web_local.credential_provider(api_key)) as topics,
    ):
        frames = FrameReader(stream.iter_raw())
        frames.next_frame()  # the heartbeat: the subscription is live

        assert isinstance(topics.publish(CACHE, topic, b"\x00\x01"), TopicPublish.Success)

        assert next_item(frames).value.binary == b"\x00\x01"


def test_a_subscription_past_its_grpc_timeout_ends_with_deadline_exceeded(client, api_key):
    headers = sdk_web_headers(api_key, timeout="700m")
    with client.stream("POST", SUBSCRIBE, content=subscribe_request("deadline"), headers=headers) as stream:
        messages, trailers = FrameReader(stream.iter_raw()).rest()

    assert subscription_item(messages[0]).WhichOneof("kind") == "heartbeat"
    assert trailers["grpc-status"] == str(DEADLINE_EXCEEDED)


def test_a_refused_subscription_gets_permission_denied_without_messages(web_local, client):
    publish_only = token(web_local, DisposableTokenScopes.topic_publish_only(CACHE, TOPIC))

    messages, trailers = call(client, SUBSCRIBE, subscribe_request(), sdk_web_headers(publish_only))

    assert messages == []
    assert trailers["grpc-status"] == str(PERMISSION_DENIED)


def test_stopping_the_server_ends_a_gRPC_web_subscription():
    with MomentoLocal(port=0, web_port=0) as server, httpx.Client(base_url=server.web_endpoint, timeout=5) as http:
        key = server.create_api_key()
        with http.stream("POST", SUBSCRIBE, content=subscribe_request(), headers=sdk_web_headers(key)) as stream:
            frames = FrameReader(stream.iter_raw())
            frames.next_frame()
            started = time.monotonic()
            server.stop()
            _, trailers = frames.rest()

    # The subscription ends as the topics close (OK), or is cut off by the gateway (UNAVAILABLE).
    assert trailers["grpc-status"] in (str(OK), str(UNAVAILABLE))
    assert time.monotonic() - started < 3


def next_item(frames: FrameReader) -> pubsub_pb._TopicItem:
    """The next topic item, skipping heartbeats."""
    while True:
        flags, payload = frames.next_frame()
        assert flags == 0, parse_trailers(payload)
        item = subscription_item(payload)
        if item.WhichOneof("kind") == "item":
            return item.item


# -- every registered service, metadata both ways ---------------------------------------------------------------


def test_any_registered_service_is_served_with_headers_as_metadata_and_trailing_metadata_back():
    seen: dict[str, object] = {}

    def generate(request: token_pb._GenerateDisposableTokenRequest, context: grpc.ServicerContext):
        seen["metadata"] = dict(context.invocation_metadata())
        seen["time_remaining"] = context.time_remaining()
        context.set_trailing_metadata((("x-echo", request.token_id), ("x-raw-bin", b"\xff\x00")))
        return token_pb._GenerateDisposableTokenResponse(endpoint="echo")

    class Servicer(token_grpc.TokenServicer):
        GenerateDisposableToken = staticmethod(generate)

    server = RecordingServer(grpc.server(thread_pool=None))
    token_grpc.add_TokenServicer_to_server(Servicer(), server)
    gateway = GrpcWebGateway(server.find_handler).start()
    try:
        with httpx.Client(base_url=gateway.url, timeout=5) as http:
            body = text_body(token_pb._GenerateDisposableTokenRequest(token_id="abc"))
            headers = sdk_web_headers("secret-value", timeout="2S", **{"custom-bin": "AQI"})
            messages, trailers = call(http, "/token.Token/GenerateDisposableToken", body, headers)
    finally:
        gateway.stop()

    assert token_pb._GenerateDisposableTokenResponse.FromString(messages[0]).endpoint == "echo"
    assert trailers["grpc-status"] == str(OK)
    assert (trailers["x-echo"], base64.b64decode(trailers["x-raw-bin"])) == ("abc", b"\xff\x00")
    metadata = seen["metadata"]
    assert isinstance(metadata, dict)
    assert (metadata["authorization"], metadata["cache"], metadata["custom-bin"]) == (
        "secret-value",
        CACHE,
        b"\x01\x02",
    )
    assert {"agent", "runtime-version", "x-user-agent"} <= metadata.keys()
    assert not {"content-type", "grpc-timeout", "x-grpc-web", "host", "content-length"} & metadata.keys()
    assert 0 < seen["time_remaining"] <= 2  # type: ignore[operator]


def test_the_cache_service_is_served_too(client, api_key):
    headers = sdk_web_headers(api_key)  # the cache service reads the cache name from the `cache` header

    _, stored = call(
        client,
        "/cache_client.Scs/Set",
        text_body(cache_pb._SetRequest(cache_key=b"k", cache_body=b"v", ttl_milliseconds=60_000)),
        headers,
    )
    messages, _ = call(client, "/cache_client.Scs/Get", text_body(cache_pb._GetRequest(cache_key=b"k")), headers)

    assert stored["grpc-status"] == str(OK)
    assert cache_pb._GetResponse.FromString(messages[0]).cache_body == b"v"


# -- CORS -----------------------------------------------------------------------------------------------------


def test_a_preflight_echoes_the_origin_and_lists_the_sdk_headers(client):
    requested = "authorization,cache,content-type,x-grpc-web,x-user-agent,grpc-timeout,agent,runtime-version"

    response = client.options(
        PUBLISH,
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": requested,
        },
    )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = {name.strip() for name in response.headers["access-control-allow-headers"].split(",")}
    assert set(requested.split(",")) <= allowed
    assert "*" not in allowed
    assert "origin" in response.headers["vary"].lower()


def test_responses_carry_cors_headers_that_expose_the_grpc_status(client, api_key):
    response = client.post(PUBLISH, content=publish_request("cors"), headers=sdk_web_headers(api_key, origin=ORIGIN))

    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = {name.strip() for name in response.headers["access-control-expose-headers"].split(",")}
    assert {"grpc-status", "grpc-message"} <= exposed


def test_a_configured_origin_list_refuses_other_origins():
    with (
        MomentoLocal(port=0, web_port=0, web_allowed_origins=[ORIGIN]) as server,
        httpx.Client(base_url=server.web_endpoint, timeout=5) as http,
    ):
        allowed = http.options(PUBLISH, headers={"origin": ORIGIN, "access-control-request-method": "POST"})
        refused = http.options(PUBLISH, headers={"origin": "https://evil.example"})
        refused_call = http.post(
            PUBLISH, content=publish_request("x"), headers=sdk_web_headers(None, origin="https://evil.example")
        )

    assert allowed.status_code == 204
    assert (refused.status_code, refused_call.status_code) == (403, 403)
    assert "access-control-allow-origin" not in refused.headers


def test_any_origin_is_echoed_only_on_a_loopback_host():
    with pytest.raises(ValueError, match="allowed origins"):
        MomentoLocal(host="0.0.0.0", web_port=0)
    assert "authorization" in ALLOWED_REQUEST_HEADERS
