"""The identity boundary and the time budget at the front door: GIVEN a variant, WHEN synthesized, THEN ...

The function trusts ``requestContext``: only its own front door may reach it. API Gateway front doors tell
the function their API id; an AWS_IAM Function URL is reached only by callers granted both invoke actions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from infra.app import build_app
from infra.checks import EXAMPLE_INVOKER_ROLE_ARNS, SKIP_BUNDLING, VARIANTS, Synthesized
from infra.constructs.front_door import invoker_policy_statements
from infra.names import Context, FrontDoor, FunctionUrlAuth, Output
from infra.stack import TokenVendingMachineStack
from token_vending_machine.budget import API_GATEWAY_INTEGRATION_LIMIT_SECONDS
from token_vending_machine.names import Env

FUNCTION = "AWS::Lambda::Function"
HTTP_API_VARIANTS = ["http-api", "existing-secret-name", "http-api-jwt", "custom"]
REST_API_VARIANTS = ["rest-api", "existing-secret-arn-cmk", "rest-api-snapstart-untraced"]
FUNCTION_URL_VARIANTS = ["function-url", "function-url-iam", "custom-function-url", "function-url-iam-snapstart"]
INVOKER_ROLES = {
    "function-url-iam": EXAMPLE_INVOKER_ROLE_ARNS,
    "function-url-iam-snapstart": EXAMPLE_INVOKER_ROLE_ARNS[:1],
}
INTEGRATION_TIMEOUT_MILLIS = API_GATEWAY_INTEGRATION_LIMIT_SECONDS * 1000


def template(synthesized: dict[str, Synthesized], name: str) -> Template:
    return Template.from_json(synthesized[name].template)


def only_logical_id(stack: Template, resource_type: str) -> str:
    (logical_id,) = stack.find_resources(resource_type)
    return logical_id


def invocable_reference(stack: Template) -> dict[str, Any]:
    """What the front door invokes: the ``live`` alias with SnapStart, else the function."""
    aliases = stack.find_resources("AWS::Lambda::Alias")
    if aliases:
        (alias_id,) = aliases
        return {"Ref": alias_id}
    return {"Fn::GetAtt": [only_logical_id(stack, FUNCTION), "Arn"]}


def without_resource(statement: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in statement.items() if key != "Resource"}


# --- Point 3: which API may hand the function an identity ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "api_type"),
    [(n, "AWS::ApiGatewayV2::Api") for n in HTTP_API_VARIANTS]
    + [(n, "AWS::ApiGateway::RestApi") for n in REST_API_VARIANTS],
)
def test_api_gateway_front_door_tells_the_function_its_api_id_without_a_cycle(
    synthesized: dict[str, Synthesized], name: str, api_type: str
) -> None:
    stack = template(synthesized, name)
    api_id = only_logical_id(stack, api_type)
    stack.has_resource_properties(
        FUNCTION, {"Environment": {"Variables": Match.object_like({Env.FRONT_DOOR_API_ID: {"Ref": api_id}})}}
    )
    # The API itself must not depend on the function (or its alias/version), or CloudFormation sees a cycle.
    lambda_ids = [
        logical_id
        for kind in (FUNCTION, "AWS::Lambda::Alias", "AWS::Lambda::Version")
        for logical_id in stack.find_resources(kind)
    ]
    api = json.dumps(synthesized[name].template["Resources"][api_id])
    assert not [logical_id for logical_id in lambda_ids if logical_id in api]


@pytest.mark.parametrize("name", FUNCTION_URL_VARIANTS)
def test_function_url_cannot_name_its_id_and_relies_on_iam(synthesized: dict[str, Synthesized], name: str) -> None:
    template(synthesized, name).has_resource_properties(
        FUNCTION, {"Environment": {"Variables": Match.object_like({Env.FRONT_DOOR_API_ID: Match.absent()})}}
    )


@pytest.mark.parametrize("name", list(INVOKER_ROLES))
def test_invoker_roles_get_both_function_url_permissions_in_the_resource_policy(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    stack = template(synthesized, name)
    invocable = invocable_reference(stack)
    for role_arn in INVOKER_ROLES[name]:
        stack.has_resource_properties(
            "AWS::Lambda::Permission",
            {
                "Action": "lambda:InvokeFunctionUrl",
                "FunctionName": invocable,
                "FunctionUrlAuthType": "AWS_IAM",
                "Principal": role_arn,
            },
        )
        stack.has_resource_properties(
            "AWS::Lambda::Permission",
            {
                "Action": "lambda:InvokeFunction",
                "FunctionName": invocable,
                "InvokedViaFunctionUrl": True,
                "Principal": role_arn,
            },
        )
    # Never a policy attached to a role this stack does not own: only its own roles carry policies.
    own_roles = set(stack.find_resources("AWS::IAM::Role"))
    for policy in stack.find_resources("AWS::IAM::Policy").values():
        assert all(role.get("Ref") in own_roles for role in policy["Properties"]["Roles"])


@pytest.mark.parametrize("name", ["function-url-iam", "function-url-iam-snapstart"])
def test_invoker_policy_output_names_both_actions_with_their_conditions(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    stack = template(synthesized, name)
    output = synthesized[name].template["Outputs"][Output.INVOKER_POLICY]["Value"]
    # Fn::Join of JSON text around the invocable's ARN: put a placeholder in, parse it back.
    joined = "".join(part if isinstance(part, str) else "ARN" for part in output["Fn::Join"][1])
    assert json.loads(joined) == {"Version": "2012-10-17", "Statement": invoker_policy_statements("ARN")}
    invocable = invocable_reference(stack)
    assert [part for part in output["Fn::Join"][1] if not isinstance(part, str)] == [invocable, invocable]


@pytest.fixture(scope="module")
def iam_url_stack_with_owned_caller(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """An app that builds on the stack: a caller role of its own, granted through the stack's helper."""
    _, stack = build_app(
        {**SKIP_BUNDLING, **VARIANTS["function-url-iam-snapstart"]},
        outdir=str(tmp_path_factory.mktemp("owned-caller")),
    )
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    stack.grant_invoke(caller)
    return Template.from_stack(stack)


def test_grant_invoke_puts_both_statements_into_an_owned_roles_policy(
    iam_url_stack_with_owned_caller: Template,
) -> None:
    """The helper's grant and the InvokerPolicy output say the same thing (aws-cdk-lib's grant_invoke_url)."""
    stack = iam_url_stack_with_owned_caller
    alias = invocable_reference(stack)
    expected = [{**without_resource(s), "Resource": alias} for s in invoker_policy_statements("unused")]
    stack.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {"Statement": Match.array_equals(expected)},
            "Roles": [{"Ref": Match.string_like_regexp("^Caller")}],
        },
    )


@pytest.mark.parametrize(
    "context",
    [
        {Context.FRONT_DOOR: FrontDoor.FUNCTION_URL},
        {Context.FRONT_DOOR: FrontDoor.HTTP_API},
        {Context.FRONT_DOOR: FrontDoor.REST_API},
    ],
)
def test_grant_invoke_refuses_a_front_door_without_iam(tmp_path: Path, context: dict[str, str]) -> None:
    _, stack = build_app({**SKIP_BUNDLING, **context}, outdir=str(tmp_path))
    assert isinstance(stack, TokenVendingMachineStack)
    with pytest.raises(ValueError, match="grant"):
        stack.grant_invoke(iam.AccountRootPrincipal())


def test_invoker_roles_need_an_iam_function_url() -> None:
    with pytest.raises(
        ValueError, match=f"{Context.INVOKER_ROLE_ARNS}.*{Context.FUNCTION_URL_AUTH}={FunctionUrlAuth.AWS_IAM}"
    ):
        build_app({**SKIP_BUNDLING, Context.INVOKER_ROLE_ARNS: EXAMPLE_INVOKER_ROLE_ARNS[0]})


# --- Point 6: API Gateway waits exactly as long as budget.py says ---------------------------------------


@pytest.mark.parametrize("name", HTTP_API_VARIANTS)
def test_http_api_integration_timeout_comes_from_the_budget(synthesized: dict[str, Synthesized], name: str) -> None:
    stack = template(synthesized, name)
    stack.all_resources_properties("AWS::ApiGatewayV2::Integration", {"TimeoutInMillis": INTEGRATION_TIMEOUT_MILLIS})
    for function in stack.find_resources(FUNCTION).values():
        assert function["Properties"]["Timeout"] <= API_GATEWAY_INTEGRATION_LIMIT_SECONDS


@pytest.mark.parametrize("name", REST_API_VARIANTS)
def test_rest_api_integration_timeout_comes_from_the_budget(synthesized: dict[str, Synthesized], name: str) -> None:
    stack = template(synthesized, name)
    proxies = stack.find_resources("AWS::ApiGateway::Method", {"Properties": {"HttpMethod": "ANY"}})
    assert len(proxies) == 2  # the root and {proxy+}
    for method in proxies.values():
        assert method["Properties"]["Integration"]["TimeoutInMillis"] == INTEGRATION_TIMEOUT_MILLIS
    for function in stack.find_resources(FUNCTION).values():
        assert function["Properties"]["Timeout"] <= API_GATEWAY_INTEGRATION_LIMIT_SECONDS
