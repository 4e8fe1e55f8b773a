"""The function's front door, one of three: a Function URL, an HTTP API or a REST API.

Each one answers CORS preflights itself (the function serves POST only) and limits the request rate:
API Gateway with stage throttling, the Function URL with the function's reserved concurrency.
The function also adds CORS headers to its own responses (the REST API's proxy responses have no
others); a Function URL or HTTP API with CORS configured replaces them with its own, built from the
same ``corsAllowedOrigins``, so the two always agree.

Callers can be verified before the function runs: SigV4 on the Function URL (``functionUrlAuth``) or
a JWT authorizer on the HTTP API (``jwtIssuer`` + ``jwtAudience``).

The function trusts the identity in ``requestContext``, so it must be reachable only through its front
door. The API Gateway front doors expose ``api_id``, which the stack hands to the function (it refuses
identity-bearing events from any other API); that id cannot reach the function behind a Function URL
without a cycle (the URL resource references the function), so there IAM alone keeps direct
invocations out: only callers granted through :meth:`FunctionUrlFrontDoor.grant_invoke` get in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_authorizers import HttpJwtAuthorizer
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.names import FrontDoor, FunctionUrlAuth
from token_vending_machine.budget import API_GATEWAY_INTEGRATION_LIMIT_SECONDS

ALLOWED_METHODS = ("POST",)
ALLOWED_HEADERS = ("content-type",)
# Headers a SigV4-signing browser client sends to an AWS_IAM Function URL.
SIGV4_HEADERS = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")
# The bearer token a browser client sends to an HTTP API with a JWT authorizer.
BEARER_HEADERS = ("authorization",)
# API Gateway waits this long for the function; synth refuses a Lambda timeout beyond it (infra/config.py).
INTEGRATION_TIMEOUT = Duration.seconds(API_GATEWAY_INTEGRATION_LIMIT_SECONDS)
# Behind a JWT authorizer on $default, preflights need routes of their own without it (the bare path too:
# /{proxy+} needs at least one segment).
PREFLIGHT_PATHS = ("/{proxy+}", "/")

_PUBLIC_BY_DESIGN = (
    "The vending machine is public by design, like the original: callers are browsers and devices "
    "without AWS credentials, and what they get is a short-lived token scoped to one cache and topic. "
    "Put an authorizer in front (jwtIssuer + jwtAudience on the HTTP API, or frontDoor=functionUrl with "
    "functionUrlAuth=AWS_IAM) to restrict it."
)


@dataclass(frozen=True, kw_only=True)
class ServerErrorMetrics:
    """The front door's 5xx answers and all its requests (sums), for a 5xx rate."""

    label: str
    server_errors: cloudwatch.IMetric
    requests: cloudwatch.IMetric


@dataclass(frozen=True, kw_only=True)
class JwtAuthorizerConfig:
    """Who issues the callers' JWTs and which audiences (``aud`` or ``client_id``) the API accepts."""

    issuer: str
    audience: tuple[str, ...]


def invoker_policy_statements(function_arn: str) -> list[dict[str, Any]]:
    """What a caller of an AWS_IAM Function URL needs (AWS requires both for Function URLs created since
    October 2025): the same two statements ``grant_invoke_url`` grants, as text for operators."""
    return [
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunctionUrl",
            "Resource": function_arn,
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": FunctionUrlAuth.AWS_IAM.value}},
        },
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": function_arn,
            "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": True}},
        },
    ]


class FunctionUrlFrontDoor(Construct):
    """``api_id`` is None: the function cannot be told its URL's id without a dependency cycle."""

    api_id: str | None = None

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        auth: FunctionUrlAuth,
        cors_allowed_origins: tuple[str, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        self._function = function
        self.auth = auth
        headers = ALLOWED_HEADERS + (SIGV4_HEADERS if auth is FunctionUrlAuth.AWS_IAM else ())
        function_url = lambda_.FunctionUrl(
            self,
            "Url",
            function=function,
            auth_type=lambda_.FunctionUrlAuthType[auth.value],
            cors=lambda_.FunctionUrlCorsOptions(
                allowed_origins=list(cors_allowed_origins),
                allowed_methods=[lambda_.HttpMethod[method] for method in ALLOWED_METHODS],
                allowed_headers=list(headers),
            ),
        )
        self.url = function_url.url
        # Dimension FunctionName: every URL of the function, on $LATEST or an alias (Lambda's "Monitoring
        # function URLs"). The bare name: an alias's function_name carries its qualifier.
        dimensions = {"FunctionName": function.latest_version.lambda_.function_name}
        self.server_error_metrics = ServerErrorMetrics(
            label="Function URL",
            server_errors=cloudwatch.Metric(
                namespace="AWS/Lambda", metric_name="Url5xxCount", dimensions_map=dimensions, statistic="Sum"
            ),
            requests=cloudwatch.Metric(
                namespace="AWS/Lambda", metric_name="UrlRequestCount", dimensions_map=dimensions, statistic="Sum"
            ),
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call the URL: ``lambda:InvokeFunctionUrl`` (``lambda:FunctionUrlAuthType`` =
        AWS_IAM) and ``lambda:InvokeFunction`` (``lambda:InvokedViaFunctionUrl`` = true), on the function or
        its ``live`` alias. aws-cdk-lib's ``grant_invoke_url`` grants exactly these two statements: in the
        grantee's policy when the stack owns it, else in the function's resource policy (an ``ArnPrincipal``)."""
        if self.auth is not FunctionUrlAuth.AWS_IAM:
            raise ValueError(f"the Function URL's auth is {self.auth}: anyone may call it, there is nothing to grant")
        return self._function.grant_invoke_url(grantee)

    @property
    def invoker_policy_json(self) -> str:
        """The identity policy a caller's role needs, as JSON (deploy-time tokens resolved by CloudFormation)."""
        document = {"Version": "2012-10-17", "Statement": invoker_policy_statements(self._function.function_arn)}
        return Stack.of(self).to_json_string(document)


@jsii.implements(apigwv2.IAccessLogSettings)
class _HttpApiAccessLog:
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        # HTTP APIs know $context.routeKey and $context.path, not the REST API's $context.resourcePath.
        return apigw.AccessLogFormat.custom(
            json.dumps(
                {
                    "requestId": "$context.requestId",
                    "ip": "$context.identity.sourceIp",
                    "requestTime": "$context.requestTime",
                    "httpMethod": "$context.httpMethod",
                    "routeKey": "$context.routeKey",
                    "path": "$context.path",
                    "status": "$context.status",
                    "protocol": "$context.protocol",
                    "responseLength": "$context.responseLength",
                    "responseLatency": "$context.responseLatency",
                    "integrationError": "$context.integrationErrorMessage",
                }
            )
        )


class HttpApiFrontDoor(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        cors_allowed_origins: tuple[str, ...],
        throttling_rate_limit: float,
        throttling_burst_limit: int,
        log_retention: logs.RetentionDays,
        jwt: JwtAuthorizerConfig | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        integration = HttpLambdaIntegration("Vend", function, timeout=INTEGRATION_TIMEOUT)
        api = apigwv2.HttpApi(
            self,
            "Api",
            api_name=Stack.of(self).stack_name,
            description="Momento token vending machine",
            default_integration=integration,
            # On $default, which also catches OPTIONS: the preflight routes below go without it.
            default_authorizer=(
                HttpJwtAuthorizer("Jwt", jwt.issuer, jwt_audience=list(jwt.audience)) if jwt is not None else None
            ),
            cors_preflight=apigwv2.CorsPreflightOptions(
                allow_origins=list(cors_allowed_origins),
                allow_methods=[apigwv2.CorsHttpMethod[method] for method in ALLOWED_METHODS],
                allow_headers=list(ALLOWED_HEADERS + (BEARER_HEADERS if jwt is not None else ())),
            ),
            create_default_stage=False,
        )
        stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=api,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=throttling_rate_limit, burst_limit=throttling_burst_limit),
            access_log_settings=_HttpApiAccessLog(_access_log_group(self, log_retention)),
        )
        self.url = stage.url
        self.api_id: str | None = api.api_id
        self.server_error_metrics = ServerErrorMetrics(
            label="HTTP API",
            server_errors=api.metric_server_error(statistic="Sum"),
            requests=api.metric_count(statistic="Sum"),
        )
        if jwt is None:
            Validations.of(api).acknowledge(
                Acknowledgment(id="AwsSolutions-APIG4", reason=_PUBLIC_BY_DESIGN),
            )
            return
        # AWS's documented fix for CORS with an authorizer on $default: OPTIONS routes without authorization,
        # with an integration; they outrank $default. A browser's preflight carries no credentials, by the spec.
        for path in PREFLIGHT_PATHS:
            for route in api.add_routes(
                path=path,
                methods=[apigwv2.HttpMethod.OPTIONS],
                integration=integration,
                authorizer=apigwv2.HttpNoneAuthorizer(),
            ):
                Validations.of(route).acknowledge(
                    Acknowledgment(
                        id="AwsSolutions-APIG4",
                        reason="CORS preflight route: browsers send OPTIONS without credentials, so a JWT "
                        "authorizer here would answer 401 and block every cross-origin request. It answers "
                        "CORS headers only; POST stays behind the JWT authorizer on $default.",
                    ),
                )


class RestApiFrontDoor(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        cors_allowed_origins: tuple[str, ...],
        throttling_rate_limit: float,
        throttling_burst_limit: int,
        log_retention: logs.RetentionDays,
        tracing: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        api = apigw.LambdaRestApi(
            self,
            "Api",
            handler=function,
            proxy=True,
            integration_options=apigw.LambdaIntegrationOptions(timeout=INTEGRATION_TIMEOUT),
            rest_api_name=Stack.of(self).stack_name,
            description="Momento token vending machine",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Execution logging would need an account-wide CloudWatch role; access logs need none.
            cloud_watch_role=False,
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=list(cors_allowed_origins),
                allow_methods=list(ALLOWED_METHODS),
                allow_headers=list(ALLOWED_HEADERS),
            ),
            deploy_options=apigw.StageOptions(
                stage_name="prod",
                throttling_rate_limit=throttling_rate_limit,
                throttling_burst_limit=throttling_burst_limit,
                tracing_enabled=tracing,
                access_log_destination=apigw.LogGroupLogDestination(_access_log_group(self, log_retention)),
                access_log_format=_rest_access_log_format(),
            ),
        )
        self.url = api.url
        self.api_id: str | None = api.rest_api_id
        self.server_error_metrics = ServerErrorMetrics(
            label="REST API",
            server_errors=api.metric_server_error(statistic="Sum"),
            requests=api.metric_count(statistic="Sum"),
        )
        if not tracing:
            Validations.of(api).acknowledge(
                Acknowledgment(
                    id="Serverless-APIGWXrayEnabled",
                    reason="Tracing switched off on purpose (context tracing=false), for the stage as for the "
                    "function: X-Ray adds cost per request; JSON access logs remain.",
                ),
            )
        Validations.of(api).acknowledge(
            Acknowledgment(id="AwsSolutions-APIG4", reason=_PUBLIC_BY_DESIGN),
            Acknowledgment(id="AwsSolutions-COG4", reason=_PUBLIC_BY_DESIGN),
            Acknowledgment(
                id="AwsSolutions-APIG2",
                reason="The function validates every body against its pydantic model and answers 400 with "
                "field-level details; a second schema in API Gateway would drift and hide those details.",
            ),
            Acknowledgment(
                id="AwsSolutions-APIG3",
                reason="Stage throttling already caps the rate near Momento's 5 auth operations/s; a WAF web "
                "ACL adds a fixed monthly cost. Associate one with the stage if your threat model needs it.",
            ),
            Acknowledgment(
                id="AwsSolutions-APIG6",
                reason="Execution logging needs the region-wide API Gateway CloudWatch role "
                "(AWS::ApiGateway::Account), a singleton this stack must not own; JSON access logs are on.",
            ),
        )


def _access_log_group(scope: Construct, retention: logs.RetentionDays) -> logs.LogGroup:
    return logs.LogGroup(scope, "AccessLogs", retention=retention, removal_policy=RemovalPolicy.DESTROY)


def _rest_access_log_format() -> apigw.AccessLogFormat:
    return apigw.AccessLogFormat.json_with_standard_fields(
        caller=False,
        http_method=True,
        ip=True,
        protocol=True,
        request_time=True,
        resource_path=True,
        response_length=True,
        status=True,
        user=False,
    )


def build_front_door(
    scope: Construct,
    construct_id: str,
    *,
    kind: FrontDoor,
    function: lambda_.IFunction,
    function_url_auth: FunctionUrlAuth,
    cors_allowed_origins: tuple[str, ...],
    throttling_rate_limit: float,
    throttling_burst_limit: int,
    log_retention: logs.RetentionDays,
    jwt: JwtAuthorizerConfig | None = None,
    tracing: bool = True,
) -> FunctionUrlFrontDoor | HttpApiFrontDoor | RestApiFrontDoor:
    """``function`` is what gets invoked: the function itself, or its ``live`` alias with SnapStart."""
    if jwt is not None and kind is not FrontDoor.HTTP_API:
        raise ValueError(f"a JWT authorizer needs the {FrontDoor.HTTP_API} front door, not {kind}")
    if kind is FrontDoor.FUNCTION_URL:
        return FunctionUrlFrontDoor(
            scope, construct_id, function=function, auth=function_url_auth, cors_allowed_origins=cors_allowed_origins
        )
    if kind is FrontDoor.HTTP_API:
        return HttpApiFrontDoor(
            scope,
            construct_id,
            function=function,
            cors_allowed_origins=cors_allowed_origins,
            throttling_rate_limit=throttling_rate_limit,
            throttling_burst_limit=throttling_burst_limit,
            log_retention=log_retention,
            jwt=jwt,
        )
    return RestApiFrontDoor(
        scope,
        construct_id,
        function=function,
        cors_allowed_origins=cors_allowed_origins,
        throttling_rate_limit=throttling_rate_limit,
        throttling_burst_limit=throttling_burst_limit,
        log_retention=log_retention,
        tracing=tracing,
    )
