"""From a vended token to a momento credential provider: decoding and local/real selection."""

from __future__ import annotations

import base64
import json

import pytest

from momento_tvm_client import VendedToken, credential_provider_from_token, topic_client_from_token
from momento_tvm_client.topics import decode_vended_token

API_KEY = "header.payload.signature"


def vended(endpoint: str, api_key: str = API_KEY) -> str:
    return base64.b64encode(json.dumps({"endpoint": endpoint, "api_key": api_key}).encode()).decode()


def test_decodes_the_momento_token_format() -> None:
    decoded = decode_vended_token(vended("cell-1.prod.a.momentohq.com"))

    assert decoded is not None
    assert (decoded.endpoint, decoded.api_key) == ("cell-1.prod.a.momentohq.com", API_KEY)
    assert API_KEY not in repr(decoded)


@pytest.mark.parametrize(
    "auth_token",
    [
        "not base64 at all!",
        API_KEY,
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[1]").decode(),
        base64.b64encode(json.dumps({"endpoint": "e"}).encode()).decode(),
    ],
)
def test_other_formats_decode_to_none(auth_token: str) -> None:
    assert decode_vended_token(auth_token) is None


def test_real_endpoint_uses_tls_on_443() -> None:
    provider = credential_provider_from_token(VendedToken(vended("cell-1.prod.a.momentohq.com"), 2e9))

    assert provider.cache_endpoint == "cache.cell-1.prod.a.momentohq.com"
    assert provider.port == 443
    assert provider.auth_token == API_KEY


def test_endpoint_with_a_port_means_the_local_service() -> None:
    provider = credential_provider_from_token(vended("127.0.0.1:50051"))

    assert (provider.cache_endpoint, provider.token_endpoint, provider.port) == ("127.0.0.1", "127.0.0.1", 50051)
    assert provider.auth_token == API_KEY


def test_local_endpoint_overrides_the_token_endpoint() -> None:
    provider = credential_provider_from_token(vended("cell-1.prod.a.momentohq.com"), local_endpoint="localhost:9000")

    assert (provider.cache_endpoint, provider.port, provider.auth_token) == ("localhost", 9000, API_KEY)


def test_local_endpoint_must_have_a_port() -> None:
    with pytest.raises(ValueError, match="host:port"):
        credential_provider_from_token(vended("127.0.0.1:1"), local_endpoint="localhost")


def test_topic_client_is_built_without_contacting_the_server() -> None:
    client = topic_client_from_token(vended("127.0.0.1:1"))
    client.close()
