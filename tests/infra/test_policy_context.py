"""The POLICY document through the CDK app: inline context, a file, or neither; validated at synth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import StackConfig
from token_vending_machine.names import Env
from token_vending_machine.settings import load_settings

DOCUMENT = {"rules": [{"cache": "docs", "key": "{identity}:*", "roles": ["readwrite"]}]}


def config(**context: Any) -> StackConfig:
    return StackConfig.from_context(context.get)


def test_an_inline_policy_reaches_the_function_and_replaces_the_original_settings() -> None:
    environment = config(policy=DOCUMENT, functionUrlAuth="AWS_IAM").function_environment

    assert json.loads(environment[Env.POLICY]) == DOCUMENT
    assert Env.ALLOWED_TOPICS not in environment
    assert load_settings({**environment, Env.SECRET_NAME: "s"}).policy_rules()[0].key == "{identity}:*"


def test_a_policy_file_is_read_at_synth(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(DOCUMENT))

    environment = config(policyFile=str(path), functionUrlAuth="AWS_IAM").function_environment

    assert json.loads(environment[Env.POLICY]) == DOCUMENT


def test_without_a_policy_the_original_settings_are_deployed() -> None:
    environment = config(allowedTopics="room-*").function_environment

    assert Env.POLICY not in environment
    assert environment[Env.ALLOWED_TOPICS] == "room-*"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"policy": {"rules": [{"cache": "c", "roles": ["readonly"]}]}}, "policy.rules.0"),
        ({"policy": "{not json"}, "policy"),
        (
            {"policy": DOCUMENT, "allowedTopics": "room-*", "functionUrlAuth": "AWS_IAM"},
            "POLICY replaces ALLOWED_TOPICS",
        ),
        ({"policyFile": "/no/such/policy.json"}, "policyFile: cannot read"),
    ],
)
def test_a_bad_policy_fails_synth_with_its_context_key(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="invalid CDK context") as caught:
        config(**context)

    assert message in str(caught.value)


def test_policy_and_policy_file_together_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(DOCUMENT))

    with pytest.raises(ValueError, match="say the same thing"):
        config(policy=DOCUMENT, policyFile=str(path), functionUrlAuth="AWS_IAM")


def test_a_policy_naming_the_caller_needs_a_front_door_that_verifies_one() -> None:
    with pytest.raises(ValueError, match=r"a policy rule with \{identity\} needs a caller that AWS verified"):
        config(policy=DOCUMENT)

    verified = config(policy=DOCUMENT, functionUrlAuth="AWS_IAM")

    assert verified.identity_source == "iam"
