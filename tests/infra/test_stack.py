"""The synthesized templates say what we mean: GIVEN a variant's context, WHEN synthesized, THEN ..."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template
from aws_lambda_powertools.shared.constants import METRICS_NAMESPACE_ENV, POWERTOOLS_LOG_LEVEL_ENV, SERVICE_NAME_ENV

from infra.checks import (
    EXAMPLE_JWT_AUDIENCE,
    EXAMPLE_JWT_ISSUER,
    EXAMPLE_KMS_KEY_ARN,
    EXAMPLE_SECRET_ARN,
    VARIANTS,
    Synthesized,
)
from infra.constructs.rollout import CODEDEPLOY_LAMBDA_POLICY
from infra.names import API_KEY_PARAMETER, LIVE_ALIAS, Output
from token_vending_machine.budget import function_timeout_seconds
from token_vending_machine.names import HANDLER, METRICS_NAMESPACE, SERVICE_NAME, Env
from token_vending_machine.settings import Settings, operator_settings

FUNCTION = "AWS::Lambda::Function"
ALL_VARIANTS = [*VARIANTS, "custom", "custom-function-url", "no-reservation"]
CREATED_SECRET_VARIANTS = [name for name in ALL_VARIANTS if not name.startswith("existing-secret")]
FUNCTION_URL_VARIANTS = [
    "function-url",
    "function-url-iam",
    "custom-function-url",
    "function-url-iam-snapstart",
    "function-url-canary-email",
]
IAM_FUNCTION_URL_VARIANTS = ["function-url-iam", "function-url-iam-snapstart"]
HTTP_API_VARIANTS = ["http-api", "existing-secret-name", "http-api-jwt", "http-api-canary-snapstart"]
JWT_VARIANTS = ["http-api-jwt", "custom"]
REST_API_VARIANTS = ["rest-api", "existing-secret-arn-cmk", "rest-api-snapstart-untraced", "rest-api-canary-email"]
API_GATEWAY_VARIANTS = [*HTTP_API_VARIANTS, *REST_API_VARIANTS, "custom"]
SNAP_START_VARIANTS = [
    "function-url-iam-snapstart",
    "rest-api-snapstart-untraced",
    "http-api-canary-snapstart",
    "custom",
]
CANARY_VARIANTS = ["function-url-canary-email", "http-api-canary-snapstart", "rest-api-canary-email"]
LIVE_ALIAS_VARIANTS = sorted(set(SNAP_START_VARIANTS) | set(CANARY_VARIANTS))
UNTRACED_VARIANTS = ["rest-api-snapstart-untraced", "custom"]
NO_EXTENSION_VARIANTS = ["rest-api-snapstart-untraced"]
# Variables the AWS Parameters and Secrets extension reads; aws-cdk-lib sets them with the layer.
EXTENSION_ENV_PREFIXES = ("PARAMETERS_SECRETS_EXTENSION_", "SECRETS_MANAGER_", "SSM_PARAMETER_STORE_")
# Every variable the stack sets from the function's settings table (POLICY only when given), and the identity source.
DEPLOYED_ENV = {info.alias for info in operator_settings().values()} - {Env.POLICY} | {Env.IDENTITY_SOURCE}


def template(synthesized: dict[str, Synthesized], name: str) -> Template:
    return Template.from_json(synthesized[name].template)


def secret_read_statement(resource: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        "Resource": resource,
    }


def acknowledging_paths(synthesized: Synthesized, rule: str) -> list[str]:
    """The construct paths that acknowledge ``rule`` (from the stack's metadata)."""
    metadata = json.loads((synthesized.outdir / f"{synthesized.stack_name}.metadata.json").read_text())
    return [
        path
        for path, entries in metadata.items()
        for entry in entries
        if entry.get("type") == "aws:cdk:acknowledged-rules"
        and rule in {key.removeprefix("Annotation::") for key in entry.get("data", {})}
    ]


def policy_statements(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for resource in raw["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_function_runs_newest_python_on_arm64_with_json_logs_and_tracing_unless_off(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    traced = name not in UNTRACED_VARIANTS
    template(synthesized, name).has_resource_properties(
        FUNCTION,
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Handler": HANDLER,
            "LoggingConfig": Match.object_like({"LogFormat": "JSON", "LogGroup": Match.any_value()}),
            "TracingConfig": {"Mode": "Active"} if traced else Match.absent(),
        },
    )
    acknowledged = synthesized[name].acknowledged
    assert ("Serverless-LambdaTracing" in acknowledged) is not traced
    assert ("AwsSolutions-IAM5[Resource::*]" in acknowledged) is traced
    if not traced:
        assert "tracing=false" in acknowledged["Serverless-LambdaTracing"]


@pytest.mark.parametrize("name", [n for n in ALL_VARIANTS if n != "custom"])
def test_defaults_size_time_and_configure_the_function(synthesized: dict[str, Synthesized], name: str) -> None:
    # budget.py sizes the timeout from the Momento deadline (2 s) and attempts (3); the function uses the same numbers.
    template(synthesized, name).has_resource_properties(
        FUNCTION,
        {
            "MemorySize": 1024,
            "Timeout": function_timeout_seconds(momento_timeout_seconds=2, momento_max_attempts=3),
            "Environment": {
                "Variables": {
                    Env.SECRET_NAME: Match.any_value(),
                    Env.SECRET_MAX_AGE_SECONDS: "300",
                    Env.TOKEN_EXPIRY_SECONDS: "3600",
                    Env.MOMENTO_TIMEOUT_SECONDS: "2",
                    Env.MOMENTO_MAX_ATTEMPTS: "3",
                    Env.MOMENTO_CALL_RATE_LIMIT: "1",
                    SERVICE_NAME_ENV: SERVICE_NAME,
                    METRICS_NAMESPACE_ENV: METRICS_NAMESPACE,
                    POWERTOOLS_LOG_LEVEL_ENV: "INFO",
                    Env.CORS_ALLOWED_ORIGINS: "*",
                    Env.FRONT_DOOR_API_ID: Match.any_value() if name in API_GATEWAY_VARIANTS else Match.absent(),
                }
            },
        },
    )
    template(synthesized, name).has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_without_policy_context_the_function_gets_its_own_policy_defaults(synthesized: dict[str, Synthesized]) -> None:
    defaults = Settings.model_fields
    template(synthesized, "function-url").has_resource_properties(
        FUNCTION,
        {
            "Environment": {
                "Variables": {
                    Env.ALLOWED_CACHES: ",".join(defaults["allowed_caches"].default),
                    Env.ALLOWED_TOPICS: ",".join(defaults["allowed_topics"].default),
                    Env.ALLOWED_PERMISSIONS: ",".join(defaults["allowed_permissions"].default),
                    Env.TOPICS_PER_IDENTITY: str(defaults["topics_per_identity"].default).lower(),
                    Env.TOKEN_REUSE_MIN_REMAINING: str(defaults["token_reuse_min_remaining"].default),
                    Env.MAX_BODY_BYTES: str(defaults["max_body_bytes"].default),
                }
            }
        },
    )


def test_policy_context_reaches_the_function(synthesized: dict[str, Synthesized]) -> None:
    template(synthesized, "custom").has_resource_properties(
        FUNCTION,
        {
            "Environment": {
                "Variables": {
                    Env.ALLOWED_CACHES: "chat,presence",
                    Env.ALLOWED_TOPICS: "room-*,lobby",
                    Env.ALLOWED_PERMISSIONS: "subscribe",
                    Env.TOPICS_PER_IDENTITY: "true",
                    Env.TOKEN_REUSE_MIN_REMAINING: "0.75",
                    Env.MAX_BODY_BYTES: "2048",
                    Env.CORS_ALLOWED_ORIGINS: "https://app.example.com,https://admin.example.com",
                }
            }
        },
    )


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_the_functions_environment_is_one_its_settings_model_accepts(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    for function in Template.from_json(synthesized[name].template).find_resources(FUNCTION).values():
        variables = function["Properties"]["Environment"]["Variables"]
        settable = {key: value for key, value in variables.items() if isinstance(value, str)}
        Settings.model_validate({**settable, Env.SECRET_NAME: "deploy-time-reference"})


def test_context_reaches_the_function(synthesized: dict[str, Synthesized]) -> None:
    custom = template(synthesized, "custom")
    custom.has_resource_properties(
        FUNCTION,
        {
            "MemorySize": 512,
            "Timeout": function_timeout_seconds(momento_timeout_seconds=1.5, momento_max_attempts=2),
            "LoggingConfig": Match.object_like({"ApplicationLogLevel": "DEBUG"}),
            "Environment": {
                "Variables": Match.object_like(
                    {
                        Env.SECRET_MAX_AGE_SECONDS: "60",
                        Env.TOKEN_EXPIRY_SECONDS: "900",
                        Env.MOMENTO_TIMEOUT_SECONDS: "1.5",
                        Env.MOMENTO_MAX_ATTEMPTS: "2",
                        Env.MOMENTO_CALL_RATE_LIMIT: "0.5",
                        POWERTOOLS_LOG_LEVEL_ENV: "DEBUG",
                    }
                )
            },
        },
    )
    custom.all_resources_properties("AWS::Logs::LogGroup", {"RetentionInDays": 7})
    assert synthesized["custom"].stack_name == "CustomTvm"


@pytest.mark.parametrize("name", CREATED_SECRET_VARIANTS)
def test_created_secret_is_fed_by_a_noecho_parameter_and_is_the_only_readable_secret(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    stack = template(synthesized, name)
    stack.has_parameter(API_KEY_PARAMETER, {"Type": "String", "NoEcho": True})
    secret_id = Capture()
    stack.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"SecretString": {"Fn::Join": Match.any_value()} if name == "custom" else {"Ref": API_KEY_PARAMETER}},
    )
    stack.has_resource_properties(
        "AWS::IAM::Policy",
        {"PolicyDocument": {"Statement": Match.array_with([secret_read_statement({"Ref": secret_id})])}},
    )
    stack.has_resource_properties(
        FUNCTION, {"Environment": {"Variables": Match.object_like({Env.SECRET_NAME: {"Ref": secret_id.as_string()}})}}
    )
    stack.has_output(Output.SECRET_ARN, {"Value": {"Ref": secret_id.as_string()}})


def test_v2_key_is_stored_with_its_endpoint(synthesized: dict[str, Synthesized]) -> None:
    secret_string = next(
        resource["Properties"]["SecretString"]
        for resource in synthesized["custom"].template["Resources"].values()
        if resource["Type"] == "AWS::SecretsManager::Secret"
    )
    parts = secret_string["Fn::Join"][1]
    assert parts[1] == {"Ref": API_KEY_PARAMETER}
    assert json.loads(parts[0] + "KEY" + parts[2]) == {
        "apiKey": "KEY",
        "endpoint": "cell-4-us-west-2-1.prod.a.momentohq.com",
    }


def test_existing_secret_by_name_is_granted_on_its_complete_arn_pattern(synthesized: dict[str, Synthesized]) -> None:
    stack = template(synthesized, "existing-secret-name")
    stack.resource_count_is("AWS::SecretsManager::Secret", 0)
    assert API_KEY_PARAMETER not in synthesized["existing-secret-name"].template.get("Parameters", {})
    stack.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [secret_read_statement({"Fn::Join": ["", Match.array_with([":secret:momento/api-key-??????"])]})]
                )
            }
        },
    )
    stack.has_resource_properties(
        FUNCTION, {"Environment": {"Variables": Match.object_like({Env.SECRET_NAME: "momento/api-key"})}}
    )


def test_existing_secret_by_arn_with_customer_key_grants_decrypt_via_secrets_manager_only(
    synthesized: dict[str, Synthesized],
) -> None:
    stack = template(synthesized, "existing-secret-arn-cmk")
    stack.resource_count_is("AWS::SecretsManager::Secret", 0)
    stack.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        secret_read_statement(EXAMPLE_SECRET_ARN),
                        {
                            "Effect": "Allow",
                            "Action": "kms:Decrypt",
                            "Resource": EXAMPLE_KMS_KEY_ARN,
                            "Condition": {"StringEquals": {"kms:ViaService": Match.any_value()}},
                        },
                    ]
                )
            }
        },
    )
    stack.has_output(Output.SECRET_ARN, {"Value": EXAMPLE_SECRET_ARN})


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_role_is_least_privilege(synthesized: dict[str, Synthesized], name: str) -> None:
    raw = synthesized[name].template
    statements = policy_statements(raw)
    secret_statements = [s for s in statements if "secretsmanager" in json.dumps(s["Action"])]
    assert len(secret_statements) == 1
    assert secret_statements[0]["Resource"] != "*"
    kms_statements = [s for s in statements if "kms" in json.dumps(s["Action"])]
    assert len(kms_statements) == (1 if name == "existing-secret-arn-cmk" else 0)
    wildcard_actions = {a for s in statements if s["Resource"] == "*" for a in s["Action"]}
    assert wildcard_actions <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    roles = [r["Properties"] for r in raw["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    # The one AWS-managed policy: CodeDeploy's own, on its service role (acknowledged in infra/constructs/rollout.py).
    managed = [role["ManagedPolicyArns"] for role in roles if "ManagedPolicyArns" in role]
    assert len(managed) == (1 if name in CANARY_VARIANTS else 0)
    assert all(len(arns) == 1 and CODEDEPLOY_LAMBDA_POLICY in json.dumps(arns) for arns in managed)


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_api_key_value_is_nowhere_in_the_cloud_assembly(
    synthesized: dict[str, Synthesized], name: str, fake_api_key_in_environment: str
) -> None:
    for path in synthesized[name].outdir.rglob("*"):
        if path.is_file():
            assert fake_api_key_in_environment.encode() not in path.read_bytes(), path
    functions = Template.from_json(synthesized[name].template).find_resources(FUNCTION)
    for function in functions.values():
        # The environment names where the key is, never the key: only these variables exist.
        variables = set(function["Properties"]["Environment"]["Variables"])
        extension_variables = {v for v in variables if v.startswith(EXTENSION_ENV_PREFIXES)}
        assert variables - extension_variables == {
            Env.SECRET_NAME,
            *DEPLOYED_ENV,
            *(SERVICE_NAME_ENV, METRICS_NAMESPACE_ENV, POWERTOOLS_LOG_LEVEL_ENV),
            *([Env.FRONT_DOOR_API_ID] if name in API_GATEWAY_VARIANTS else []),
        }
        assert bool(extension_variables) is (name not in NO_EXTENSION_VARIANTS)


@pytest.mark.parametrize("name", FUNCTION_URL_VARIANTS)
def test_function_url_has_cors_auth_and_reserved_concurrency(synthesized: dict[str, Synthesized], name: str) -> None:
    stack = template(synthesized, name)
    stack.has_resource_properties(
        "AWS::Lambda::Url",
        {
            "AuthType": "AWS_IAM" if name in IAM_FUNCTION_URL_VARIANTS else "NONE",
            "Cors": Match.object_like({"AllowOrigins": ["*"], "AllowMethods": ["POST"]}),
        },
    )
    # 3 containers x 1 Momento call/s each leave 2 of the account's 5 auth calls/s to other apps.
    concurrency = 7 if name == "custom-function-url" else 3
    stack.has_resource_properties(FUNCTION, {"ReservedConcurrentExecutions": concurrency})
    stack.has_output(Output.ENDPOINT_URL, {"Value": {"Fn::GetAtt": [Match.any_value(), "FunctionUrl"]}})


def test_reserved_concurrency_can_be_switched_off(synthesized: dict[str, Synthesized]) -> None:
    template(synthesized, "no-reservation").has_resource_properties(
        FUNCTION, {"ReservedConcurrentExecutions": Match.absent()}
    )


@pytest.mark.parametrize("name", HTTP_API_VARIANTS + REST_API_VARIANTS)
def test_api_gateway_variants_leave_concurrency_alone(synthesized: dict[str, Synthesized], name: str) -> None:
    template(synthesized, name).has_resource_properties(FUNCTION, {"ReservedConcurrentExecutions": Match.absent()})


@pytest.mark.parametrize("name", HTTP_API_VARIANTS)
def test_http_api_has_cors_throttling_access_logs_and_payload_v2(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    stack = template(synthesized, name)
    stack.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"CorsConfiguration": Match.object_like({"AllowOrigins": ["*"], "AllowMethods": ["POST"]})},
    )
    stack.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "$default",
            "DefaultRouteSettings": {"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 10},
            "AccessLogSettings": Match.object_like({"Format": Match.serialized_json(Match.any_value())}),
        },
    )
    stack.has_resource_properties("AWS::ApiGatewayV2::Integration", {"PayloadFormatVersion": "2.0"})
    stack.has_output(Output.ENDPOINT_URL, {"Value": Match.any_value()})


def test_http_api_takes_origins_and_limits_from_context(synthesized: dict[str, Synthesized]) -> None:
    stack = template(synthesized, "custom")
    stack.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {
            "CorsConfiguration": Match.object_like(
                {"AllowOrigins": ["https://app.example.com", "https://admin.example.com"]}
            )
        },
    )
    stack.has_resource_properties(
        "AWS::ApiGatewayV2::Stage", {"DefaultRouteSettings": {"ThrottlingRateLimit": 20, "ThrottlingBurstLimit": 40}}
    )


@pytest.mark.parametrize("name", JWT_VARIANTS)
def test_jwt_authorizer_guards_every_route_with_issuer_and_audience(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    stack = template(synthesized, name)
    audience = ["web-client", "mobile-client"] if name == "custom" else [EXAMPLE_JWT_AUDIENCE]
    stack.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "JWT",
            "IdentitySource": ["$request.header.Authorization"],
            "JwtConfiguration": {"Issuer": EXAMPLE_JWT_ISSUER, "Audience": audience},
        },
    )
    (authorizer_id,) = stack.find_resources("AWS::ApiGatewayV2::Authorizer")
    routes = stack.find_resources("AWS::ApiGatewayV2::Route")
    guarded = [r for r in routes.values() if not r["Properties"]["RouteKey"].startswith("OPTIONS ")]
    assert [r["Properties"]["RouteKey"] for r in guarded] == ["$default"]
    for route in guarded:
        assert route["Properties"]["AuthorizationType"] == "JWT"
        assert route["Properties"]["AuthorizerId"] == {"Ref": authorizer_id}
    # Browsers send the bearer token: the preflight must allow the header.
    stack.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"CorsConfiguration": Match.object_like({"AllowHeaders": Match.array_with(["authorization"])})},
    )
    # Only the preflight routes go without the authorizer, and say why.
    unauthorized = acknowledging_paths(synthesized[name], "AwsSolutions-APIG4")
    assert sorted(path.rsplit("/", 1)[-1] for path in unauthorized) == ["OPTIONS--", "OPTIONS--{proxy+}"]
    assert "preflight" in synthesized[name].acknowledged["AwsSolutions-APIG4"]
    assert synthesized[name].nag_findings == []


@pytest.mark.parametrize("name", JWT_VARIANTS)
def test_jwt_http_api_lets_browser_preflights_past_the_authorizer(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    """AWS: $default also catches OPTIONS; OPTIONS routes without authorization, with an integration, outrank it."""
    stack = template(synthesized, name)
    default_target = Capture()
    stack.has_resource_properties("AWS::ApiGatewayV2::Route", {"RouteKey": "$default", "Target": default_target})
    for route_key in ("OPTIONS /{proxy+}", "OPTIONS /"):
        stack.has_resource_properties(
            "AWS::ApiGatewayV2::Route",
            {
                "RouteKey": route_key,
                "AuthorizationType": "NONE",
                "AuthorizerId": Match.absent(),
                "Target": default_target.as_object(),
            },
        )
    # The function answers the preflight itself (Powertools CORS), from the same corsAllowedOrigins.
    stack.has_resource_properties(
        "AWS::ApiGatewayV2::Api", {"CorsConfiguration": Match.object_like({"AllowMethods": ["POST"]})}
    )


@pytest.mark.parametrize("name", [n for n in HTTP_API_VARIANTS if n not in JWT_VARIANTS])
def test_http_api_without_jwt_is_public_and_says_why(synthesized: dict[str, Synthesized], name: str) -> None:
    stack = template(synthesized, name)
    stack.resource_count_is("AWS::ApiGatewayV2::Authorizer", 0)
    stack.resource_count_is("AWS::ApiGatewayV2::Route", 1)
    stack.has_resource_properties("AWS::ApiGatewayV2::Route", {"RouteKey": "$default", "AuthorizationType": "NONE"})
    assert "AwsSolutions-APIG4" in synthesized[name].acknowledged


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_secrets_extension_caches_no_longer_than_the_function(synthesized: dict[str, Synthesized], name: str) -> None:
    stack = template(synthesized, name)
    if name in NO_EXTENSION_VARIANTS:
        stack.has_resource_properties(FUNCTION, {"Layers": Match.absent()})
        stack.has_resource_properties(
            FUNCTION, {"Environment": {"Variables": {Env.SECRETS_EXTENSION_PORT: Match.absent()}}}
        )
        return
    max_age = "60" if name == "custom" else "300"
    stack.has_resource_properties(
        FUNCTION,
        {
            "Layers": [
                {"Fn::FindInMap": [Match.any_value(), {"Ref": "AWS::Region"}, Match.string_like_regexp("arm64")]}
            ],
            "Environment": {
                "Variables": {
                    # The function reads the secret through the extension when this port is set.
                    Env.SECRETS_EXTENSION_PORT: "2773",
                    # The function caches the key itself; a second cache would delay rotations.
                    "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED": "false",
                    Env.SECRET_MAX_AGE_SECONDS: max_age,
                }
            },
        },
    )
    layer_arns = json.dumps(synthesized[name].template["Mappings"])
    assert "AWS-Parameters-and-Secrets-Lambda-Extension-Arm64" in layer_arns


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_snap_start_and_canary_put_the_front_door_on_the_live_alias(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    stack = template(synthesized, name)
    snap_start = name in SNAP_START_VARIANTS
    stack.has_resource_properties(
        FUNCTION, {"SnapStart": {"ApplyOn": "PublishedVersions"} if snap_start else Match.absent()}
    )
    # CDK's "SnapStart only supports published versions" warning is answered: we publish and alias.
    assert ("@aws-cdk/aws-lambda:snapStartRequirePublish" in synthesized[name].acknowledged) is snap_start
    if name not in LIVE_ALIAS_VARIANTS:
        stack.resource_count_is("AWS::Lambda::Alias", 0)
        return
    version = Capture()
    stack.has_resource_properties(
        "AWS::Lambda::Alias", {"Name": LIVE_ALIAS, "FunctionVersion": {"Fn::GetAtt": [version, "Version"]}}
    )
    assert stack.find_resources("AWS::Lambda::Version")[version.as_string()]
    (alias_id,) = stack.find_resources("AWS::Lambda::Alias")
    if name in FUNCTION_URL_VARIANTS:
        stack.has_resource_properties("AWS::Lambda::Url", {"Qualifier": LIVE_ALIAS})
    else:
        permissions = stack.find_resources(
            "AWS::Lambda::Permission", {"Properties": {"Principal": "apigateway.amazonaws.com"}}
        )
        assert permissions
        assert all(p["Properties"]["FunctionName"] == {"Ref": alias_id} for p in permissions.values())
        integrations = json.dumps(
            stack.find_resources("AWS::ApiGatewayV2::Integration") | stack.find_resources("AWS::ApiGateway::Method")
        )
        assert alias_id in integrations


@pytest.mark.parametrize("name", REST_API_VARIANTS)
def test_rest_api_proxies_everything_with_cors_preflight_throttling_and_logs(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    stack = template(synthesized, name)
    stack.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "{proxy+}"})
    stack.has_resource_properties(
        "AWS::ApiGateway::Method", {"HttpMethod": "ANY", "Integration": Match.object_like({"Type": "AWS_PROXY"})}
    )
    stack.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "OPTIONS",
            "Integration": Match.object_like(
                {
                    "IntegrationResponses": [
                        Match.object_like(
                            {
                                "ResponseParameters": Match.object_like(
                                    {"method.response.header.Access-Control-Allow-Origin": "'*'"}
                                )
                            }
                        )
                    ]
                }
            ),
        },
    )
    stack.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "prod",
            "TracingEnabled": name not in UNTRACED_VARIANTS,
            "MethodSettings": [Match.object_like({"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 10})],
            "AccessLogSetting": Match.object_like({"Format": Match.serialized_json(Match.any_value())}),
        },
    )
    stack.has_output(Output.ENDPOINT_URL, {"Value": Match.any_value()})


@pytest.mark.parametrize("name", ALL_VARIANTS)
def test_outputs_name_the_endpoint_the_secret_and_the_function(synthesized: dict[str, Synthesized], name: str) -> None:
    outputs = set(synthesized[name].template["Outputs"])
    assert outputs >= {Output.ENDPOINT_URL, Output.SECRET_ARN, Output.FUNCTION_NAME}
    assert (Output.INVOKER_POLICY in outputs) is (name in IAM_FUNCTION_URL_VARIANTS)
