"""The ``tvm`` command line against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import time

import pytest

from momento_tvm_client.cli import main
from tests.client.fake_tvm import TVM, error_answer, token_answer


def args(tvm: TVM, *extra: str, command: str = "token") -> list[str]:
    return [command, "--url", tvm.url, "--cache", "cache", "--topic", "topic", *extra]


def test_token_prints_the_token_alone_on_stdout(tvm: TVM, capsys: pytest.CaptureFixture[str]) -> None:
    tvm.answer(token_answer(expires_at=time.time() + 600), headers={"Authorization": "Bearer x"})

    code = main(args(tvm, "--header", "Authorization: Bearer x"))

    out, err = capsys.readouterr()
    assert code == 0
    assert out == "tok-1\n"
    assert "expires at" in err


def test_token_json(tvm: TVM, capsys: pytest.CaptureFixture[str]) -> None:
    tvm.answer(token_answer(expires_at=2_000_000_000))

    assert main(args(tvm, "--json")) == 0

    document = json.loads(capsys.readouterr().out)
    assert document == {
        "auth_token": "tok-1",
        "expires_at": 2_000_000_000,
        "expires_at_iso": "2033-05-18T03:33:20+00:00",
    }


def test_vending_errors_exit_1_with_the_server_message(tvm: TVM, capsys: pytest.CaptureFixture[str]) -> None:
    tvm.answer(error_answer(403, "forbidden", "topic not allowed"))

    code = main(args(tvm))

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "403" in err and "topic not allowed" in err


def test_bad_header_is_a_usage_error(tvm: TVM, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args(tvm, "--header", "no colon here")) == 2
    assert "Name: value" in capsys.readouterr().err


def test_missing_arguments_are_usage_errors() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["token", "--url", "http://127.0.0.1:1/token"])

    assert caught.value.code == 2


PERMISSIONS = [{"role": "readonly", "cache": "chat", "item": {"keyPrefix": "room-1:"}}]


@pytest.mark.parametrize("text", [json.dumps(PERMISSIONS), json.dumps({"permissions": PERMISSIONS})])
def test_token_vends_the_permissions_json(tvm: TVM, capsys: pytest.CaptureFixture[str], text: str) -> None:
    tvm.answer(token_answer(expires_at=time.time() + 600), json={"permissions": PERMISSIONS})

    code = main(["token", "--url", tvm.url, "--permissions-json", text])

    assert code == 0
    assert capsys.readouterr().out == "tok-1\n"
    assert tvm.requests == 1


@pytest.mark.parametrize(
    "extra",
    [
        ["--cache", "c", "--permissions-json", "[]"],
        ["--topic", "t", "--permissions-json", "[]"],
        ["--cache", "c"],
        [],
    ],
)
def test_token_wants_a_topic_or_permissions(extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["token", "--url", "http://127.0.0.1:1/token", *extra])

    assert caught.value.code == 2
    assert "give --cache and --topic, or --permissions-json" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('[{"role": "owner", "cache": "c"}]', "permissions[0]: role must be one of"),
        ("[]", "1 to 20 entries"),
    ],
)
@pytest.mark.parametrize("command", [["token"], ["get", "--cache", "c", "--key", "k"]])
def test_bad_permissions_json_is_a_usage_error_without_a_request(
    tvm: TVM, capsys: pytest.CaptureFixture[str], command: list[str], text: str, message: str
) -> None:
    code = main([*command, "--url", tvm.url, "--permissions-json", text])

    assert code == 2
    assert message in capsys.readouterr().err
    assert tvm.requests == 0


@pytest.mark.parametrize(
    "command",
    [
        ["get", "--cache", "c"],
        ["get", "--key", "k"],
        ["set", "--cache", "c", "--key", "k"],
        ["set", "--cache", "c", "--key", "k", "--value", "v", "--ttl-seconds", "0"],
        ["get", "--cache", "c", "--key", "k", "--ttl-seconds", "5"],
    ],
)
def test_get_and_set_usage_errors(command: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([*command, "--url", "http://127.0.0.1:1/token"])

    assert caught.value.code == 2


@pytest.mark.parametrize(
    ("command", "role"),
    [
        (["get"], "readonly"),
        (["set", "--value", "v", "--ttl-seconds", "30"], "readwrite"),
    ],
)
def test_get_and_set_vend_a_token_for_their_key(
    tvm: TVM, capsys: pytest.CaptureFixture[str], command: list[str], role: str
) -> None:
    # A refusal ends the command before Momento is reached: the request it made is what is checked here.
    wanted = {"permissions": [{"role": role, "cache": "chat", "item": {"key": "room-1:history"}}]}
    tvm.answer(error_answer(403, "forbidden", "permissions[0]: key not allowed"), json=wanted)

    code = main([*command, "--url", tvm.url, "--cache", "chat", "--key", "room-1:history"])

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "403" in err and "key not allowed" in err
    assert tvm.requests == 1
