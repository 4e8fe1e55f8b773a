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
