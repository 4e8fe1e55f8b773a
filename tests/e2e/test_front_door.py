"""The front door over real HTTP, with stand-in handlers: requests become the events AWS would send, and
proxy responses become the HTTP answers AWS would give."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from local_stack import EventKind, LocalFrontDoor

Handler = Callable[[Any, Any], Any]


def echo(event: Any, context: Any) -> dict[str, Any]:
    """Answers with the event it was given and the context's remaining time."""
    document = {"event": event, "remaining_ms": context.get_remaining_time_in_millis()}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(document)}


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start a front door around a handler; its URL."""
    started: list[LocalFrontDoor] = []

    def start(handler: Handler, kind: EventKind = EventKind.FUNCTION_URL, **options: Any) -> str:
        front_door = LocalFrontDoor(handler, kind=kind, port=0, **options).start()
        started.append(front_door)
        return front_door.url

    yield start
    for front_door in started:
        front_door.stop()


def test_a_function_url_event_has_lower_cased_headers_query_cookies_and_a_text_body(
    serve: Callable[..., str], http: httpx.Client
) -> None:
    url = serve(echo)

    response = http.post(
        url + "token?a=1&a=2&b=",
        content=b'{"x": 1}',
        headers=[("Content-Type", "application/json"), ("X-Twice", "one"), ("X-Twice", "two"), ("Cookie", "c=1; d=2")],
    )
    event = response.json()["event"]

    assert event["version"] == "2.0"
    assert event["rawPath"] == "/token"
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-twice"] == "one,two"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["c=1", "d=2"]
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["requestId"]
    assert event["body"] == '{"x": 1}'
    assert event["isBase64Encoded"] is False
    assert 0 < response.json()["remaining_ms"] <= 10_000


def test_a_function_url_base64_encodes_a_binary_body(serve: Callable[..., str], http: httpx.Client) -> None:
    url = serve(echo)

    event = http.post(url, content=b"\xff\x00", headers={"Content-Type": "application/octet-stream"}).json()["event"]

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00"


def test_a_rest_event_has_multi_value_headers_and_query_and_a_proxy_path(
    serve: Callable[..., str], http: httpx.Client
) -> None:
    url = serve(echo, EventKind.REST)

    event = http.post(
        url + "path/to?a=1&a=2",
        content=b"{}",
        headers=[("Content-Type", "application/json"), ("X-Twice", "one"), ("X-Twice", "two")],
    ).json()["event"]

    assert "version" not in event
    assert event["httpMethod"] == "POST"
    assert event["path"] == "/path/to"
    assert event["pathParameters"] == {"proxy": "path/to"}
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["multiValueHeaders"]["X-Twice"] == ["one", "two"]
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["body"] == "{}"
    assert event["isBase64Encoded"] is False


def test_a_chunked_body_is_read(serve: Callable[..., str], http: httpx.Client) -> None:
    url = serve(echo)

    event = http.post(url, content=iter([b'{"a":', b" 1}"]), headers={"Content-Type": "application/json"}).json()[
        "event"
    ]

    assert event["body"] == '{"a": 1}'


def test_proxy_response_headers_and_base64_bodies_are_turned_back_into_http(
    serve: Callable[..., str], http: httpx.Client
) -> None:
    def binary(event: Any, context: Any) -> dict[str, Any]:
        return {
            "statusCode": 201,
            "headers": {"Content-Type": "application/octet-stream"},
            "multiValueHeaders": {"X-Many": ["a", "b"]},
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }

    response = http.post(serve(binary, EventKind.REST))

    assert response.status_code == 201
    assert response.content == b"\x00\x01"
    assert response.headers.get_list("x-many") == ["a", "b"]


def test_a_function_url_answers_any_other_return_value_as_json(serve: Callable[..., str], http: httpx.Client) -> None:
    response = http.post(serve(lambda event, context: {"hello": "world"}))

    assert response.status_code == 200
    assert response.json() == {"hello": "world"}


def test_a_failing_function_gets_a_502_without_its_traceback(serve: Callable[..., str], http: httpx.Client) -> None:
    def failing(event: Any, context: Any) -> dict[str, Any]:
        raise RuntimeError("secret detail")

    for kind in EventKind:
        response = http.post(serve(failing, kind))

        assert response.status_code == 502
        assert response.json() == {"message": "Internal Server Error"}
        assert "secret detail" not in response.text


def test_a_large_body_gets_a_413_before_the_function_runs(serve: Callable[..., str], http: httpx.Client) -> None:
    calls: list[Any] = []
    url = serve(lambda event, context: calls.append(event), max_body_bytes=1000)

    response = http.post(url, content=b"x" * 1001)

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert calls == []


def test_invocations_are_serialised_like_one_lambda_container(serve: Callable[..., str]) -> None:
    running = 0
    most = 0
    lock = threading.Lock()

    def slow(event: Any, context: Any) -> dict[str, Any]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return {"statusCode": 204}

    url = serve(slow)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: httpx.post(url, timeout=10).status_code, range(16)))

    assert statuses == [204] * 16
    assert most == 1


def test_stop_closes_idle_keep_alive_connections() -> None:
    front_door = LocalFrontDoor(echo, port=0).start()
    url = front_door.url
    with httpx.Client(timeout=5) as client:
        assert client.post(url, json={}).status_code == 200

        started = time.monotonic()
        front_door.stop()

        assert time.monotonic() - started < 2
        with pytest.raises(httpx.TransportError):
            client.post(url, json={})


@pytest.mark.parametrize("method", ["TRACE", "BREW", "PROPFIND"])
def test_any_method_reaches_the_function_as_through_a_function_url(
    serve: Callable[..., str], http: httpx.Client, method: str
) -> None:
    url = serve(echo)

    response = http.request(method, url)

    assert response.json()["event"]["requestContext"]["http"]["method"] == method
