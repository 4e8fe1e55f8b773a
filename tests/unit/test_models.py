import pytest
from pydantic import ValidationError

from token_vending_machine.adapters.momento import is_v2_api_key
from token_vending_machine.adapters.secrets import parse_secret
from token_vending_machine.errors import ConfigurationError
from token_vending_machine.models import (
    MAX_NAME_LENGTH,
    TokenRequest,
    VendedToken,
    field_errors,
)

V2_KEY = "eyJhbGciOiJIUzI1NiJ9.eyJ0IjoiZyIsImlkIjoiYWJjIn0.c2lnbmF0dXJl"  # claims {"t": "g", "id": "abc"}


def test_token_request_reads_camel_case_and_ignores_unknown_fields():
    request = TokenRequest.model_validate({"cacheName": "SampleCache", "topicName": "sample-topic", "extra": 1})

    assert (request.cache_name, request.topic_name) == ("SampleCache", "sample-topic")


@pytest.mark.parametrize(
    ("document", "fields"),
    [
        ({}, {"cacheName", "topicName"}),
        ({"cacheName": "", "topicName": "t"}, {"cacheName"}),
        ({"cacheName": "   ", "topicName": "t"}, {"cacheName"}),
        ({"cacheName": " c", "topicName": "t "}, {"cacheName", "topicName"}),
        ({"cacheName": "c", "topicName": "a\nb"}, {"topicName"}),
        ({"cacheName": 42, "topicName": ["t"]}, {"cacheName", "topicName"}),
        ({"cacheName": "c" * (MAX_NAME_LENGTH + 1), "topicName": "t"}, {"cacheName"}),
        ({"cache_name": "c", "topic_name": "t"}, {"cacheName", "topicName"}),
    ],
)
def test_invalid_requests_name_the_fields_at_fault(document, fields):
    with pytest.raises(ValidationError) as caught:
        TokenRequest.model_validate(document)

    assert {detail["field"] for detail in field_errors(caught.value)} == fields


@pytest.mark.parametrize(
    "name",
    [
        "room\u200b1",  # zero-width space
        "room\u200d1",  # zero-width joiner
        "\u202eroom",  # right-to-left override
        "room\u2066x\u2069",  # bidi isolates
        "room\x851",  # C1 control (NEL)
        "room\x9b1",  # C1 control (CSI)
        "room\u20281",  # line separator
        "\ufeffroom",  # byte order mark
        "\u00a0room",  # leading no-break space
    ],
)
def test_invisible_and_control_characters_are_refused_in_unicode_names_too(name):
    with pytest.raises(ValidationError) as caught:
        TokenRequest.model_validate({"cacheName": "chat", "topicName": name})

    assert {detail["field"] for detail in field_errors(caught.value)} == {"topicName"}


def test_field_errors_do_not_echo_the_input():
    with pytest.raises(ValidationError) as caught:
        TokenRequest.model_validate({"cacheName": "x" * 300, "topicName": "t"})

    assert "xxxx" not in str(field_errors(caught.value))


def test_names_with_inner_spaces_and_unicode_are_accepted():
    request = TokenRequest.model_validate({"cacheName": "my cache", "topicName": "chat/room-1:ü"})

    assert request.topic_name == "chat/room-1:ü"


def test_vended_token_serialises_snake_case_and_hides_the_token_in_repr():
    token = VendedToken(auth_token="secret-token", expires_at=1736622970)

    assert token.model_dump_json() == '{"auth_token":"secret-token","expires_at":1736622970}'
    assert "secret-token" not in repr(token)


@pytest.mark.parametrize(
    ("value", "api_key", "endpoint"),
    [
        ("legacy-key", "legacy-key", None),
        ("  legacy-key\n", "legacy-key", None),
        ('{"momentoSecret": "legacy-key"}', "legacy-key", None),
        (
            f'{{"apiKey": "{V2_KEY}", "endpoint": "cell-4-us-west-2-1.prod.a.momentohq.com"}}',
            V2_KEY,
            "cell-4-us-west-2-1.prod.a.momentohq.com",
        ),
        ('{"apiKey": "legacy-key"}', "legacy-key", None),
        (V2_KEY, V2_KEY, None),
    ],
)
def test_secret_shapes_are_accepted(value, api_key, endpoint):
    key = parse_secret(value)

    assert key.api_key.get_secret_value() == api_key
    assert key.endpoint == endpoint


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("{not json", "not valid JSON"),
        ('{"key": "legacy-key"}', "momentoSecret"),
        ('{"momentoSecret": ""}', "invalid fields"),
        ('{"momentoSecret": 42}', "invalid fields"),
        ('{"apiKey": "k", "endpoint": ""}', "invalid fields"),
    ],
)
def test_malformed_secrets_are_configuration_errors_that_never_quote_the_value(value, reason):
    with pytest.raises(ConfigurationError) as caught:
        parse_secret(value)

    assert reason in caught.value.message
    for fragment in ("legacy-key", V2_KEY):
        assert fragment not in caught.value.message


def test_v2_keys_are_recognised_by_their_claims():
    assert is_v2_api_key(V2_KEY)
    assert not is_v2_api_key("legacy-key")
    assert not is_v2_api_key("a.b.c")
