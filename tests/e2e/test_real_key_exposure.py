"""A real Momento key given to the local stack is served on no port: probed as an attacker on the same
machine would, over every TCP port this process listens on. The function still gets the key, in process."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from local_stack import LocalFrontDoor, LocalStack, RealMomento
from local_stack.__main__ import banner
from local_stack.in_process_secrets import InProcessSecretsManager
from momento_local import MomentoLocal
from tests.e2e.helpers import CACHE, TOPIC, vend
from token_vending_machine.names import Env
from token_vending_machine.settings import load_settings
from token_vending_machine.wiring import create_handler

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="finds listening ports through /proc")

UNRESOLVABLE_ENDPOINT = "tvm-e2e.invalid"  # RFC 2606: never resolves, so real Momento is never reached
PROBE_TIMEOUT_SECONDS = 1.0


def plausible_v2_key() -> str:
    """A key shaped like a Momento v2 API key (a JWT whose claims say ``"t": "g"``), random on every run."""

    def segment(document: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    claims = {"t": "g", "id": secrets.token_hex(16)}
    return f"{segment({'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims)}.{secrets.token_urlsafe(32)}"


@pytest.fixture(scope="module")
def real_momento() -> RealMomento:
    """A plausible real key; RealMomento's repr hides it, so a failing test's report does not show it."""
    return RealMomento(plausible_v2_key(), endpoint=UNRESOLVABLE_ENDPOINT)


@pytest.fixture(scope="module")
def real_key_stack(real_momento: RealMomento) -> Iterator[LocalStack]:
    # One short Momento attempt: the unresolvable endpoint fails fast with the function's own JSON answer.
    fast_failure = {Env.MOMENTO_TIMEOUT_SECONDS: "0.5", Env.MOMENTO_MAX_ATTEMPTS: "1"}
    with LocalStack(port=0, real_momento=real_momento, settings=fast_failure, quiet=True) as running:
        yield running


# -- the attacker -------------------------------------------------------------------------------------


def listening_ports() -> set[int]:
    """The TCP ports this process listens on, read from /proc as any local user can."""
    own_sockets = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            own_sockets.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_address, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in own_sockets:  # 0A: LISTEN
                ports.add(int(local_address.rpartition(":")[2], 16))
    return ports


def raw_exchange(port: int, request: bytes) -> bytes:
    """Whatever the port answers to ``request``, byte for byte, whatever the protocol."""
    answer = bytearray()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT_SECONDS) as connection:
            connection.sendall(request)
            while chunk := connection.recv(65536):
                answer += chunk
    except OSError:
        pass  # a timeout or a reset ends the answer
    return bytes(answer)


def http_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def secrets_manager_call(action: str, document: dict[str, object]) -> bytes:
    headers = {
        "X-Amz-Target": f"secretsmanager.{action}",
        "Content-Type": "application/x-amz-json-1.1",
        "Origin": "https://attacker.example",
    }
    return http_request("POST", "/", headers, json.dumps(document).encode())


def attacker_requests(secret_id: str) -> list[bytes]:
    """What a local process (or a web page, where CORS lets it read the answer) would try on a port."""
    return [
        secrets_manager_call("GetSecretValue", {"SecretId": secret_id}),
        secrets_manager_call("ListSecrets", {}),
        secrets_manager_call("BatchGetSecretValue", {"SecretIdList": [secret_id]}),
        http_request("GET", "/", {}),
        http_request("GET", "/moto-api/data.json", {}),
        http_request("POST", "/", {"Content-Type": "application/json"}, json.dumps({"cacheName": CACHE}).encode()),
    ]


def ports_that_reveal(value: str, secret_id: str) -> list[int]:
    """Every port of this process that has ``value`` in any answer (never ``value`` itself, which is secret)."""
    return sorted(
        port
        for port in listening_ports()
        if any(value.encode() in raw_exchange(port, request) for request in attacker_requests(secret_id))
    )


# -- tests --------------------------------------------------------------------------------------------


def test_a_real_key_is_in_no_answer_of_any_port(real_key_stack: LocalStack, real_momento: RealMomento) -> None:
    assert real_key_stack.port in listening_ports()

    leaking_ports = ports_that_reveal(real_momento.api_key, real_key_stack.secret_id)

    assert leaking_ports == [], f"the real key can be read from port(s) {leaking_ports}"


def test_the_probe_reads_the_throwaway_key_of_the_local_momento_mode(stack: LocalStack) -> None:
    """The same probe finds the local service's key in moto, so it would find a real key anywhere it is
    served. Serving that key is accepted: it only works against this process's local Momento service."""
    local_key = _local_key(stack)

    assert ports_that_reveal(local_key, stack.secret_id) != []


def test_a_real_key_starts_neither_moto_nor_the_local_momento_service(
    real_key_stack: LocalStack, real_momento: RealMomento
) -> None:
    shown = banner(real_key_stack)
    # Computed apart, so that a failure's report does not print the key.
    banner_shows_key = real_momento.api_key in shown

    assert real_key_stack.secrets_manager_url is None
    assert real_key_stack.momento_local is None
    assert "kept in this process" in shown
    assert not banner_shows_key


def test_the_function_gets_a_real_key_in_process(real_key_stack: LocalStack, http: httpx.Client) -> None:
    """The key is read and handed to Momento's client: the request fails at Momento (whose endpoint does
    not resolve here), not at reading or parsing the secret."""
    response = http.post(real_key_stack.url, json={"cacheName": CACHE, "topicName": TOPIC})

    assert response.status_code in (503, 504), response.text
    assert response.json()["error"] in ("momento_unavailable", "momento_timeout")


def test_the_in_process_secret_vends_working_tokens(
    momento_local: MomentoLocal, momento_api_key: str, http: httpx.Client
) -> None:
    """The function composed as the stack composes it with a real key, against the local Momento service."""
    secret_id = "tvm-e2e/in-process"
    secret = json.dumps({"apiKey": momento_api_key, "endpoint": momento_local.endpoint})
    settings = load_settings({Env.SECRET_NAME: secret_id, Env.MOMENTO_LOCAL_ENDPOINT: momento_local.endpoint})
    handler = create_handler(settings, secrets_client=InProcessSecretsManager({secret_id: secret}))

    with LocalFrontDoor(handler, port=0) as front_door:
        auth_token = vend(http, front_door.url)

    [permission] = momento_local.decode_token(auth_token).permissions.explicit.permissions
    assert permission.topic_permissions.cache_selector.cache_name == CACHE


def test_the_in_process_secrets_manager_answers_like_boto3() -> None:
    store = InProcessSecretsManager({"name": "value"})

    assert store.get_secret_value(SecretId="name")["SecretString"] == "value"
    with pytest.raises(ClientError) as raised:
        store.get_secret_value(SecretId="other")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "value" not in repr(store)


def _local_key(stack: LocalStack) -> str:
    assert stack.secrets_manager_url is not None
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
    client = session.client("secretsmanager", endpoint_url=stack.secrets_manager_url)
    return str(json.loads(client.get_secret_value(SecretId=stack.secret_id)["SecretString"])["apiKey"])
