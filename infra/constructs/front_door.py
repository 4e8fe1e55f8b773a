"""The function's front door, one of three: a Function URL, an HTTP API or a REST API.

Each one answers CORS preflights itself (the function serves POST only) and limits the request rate:
API Gateway with stage throttling, the Function URL with the function's reserved concurrency.
The function also adds CORS headers to its own responses (the REST API's proxy responses have no
others); a Function URL or HTTP API with CORS configured replaces them with its own, built from the
same ``corsAllowedOrigins``, so the two always agree.

Callers can be verified before the function runs: SigV4 on the Function URL (``functionUrlAuth``) or
a JWT authorizer on the HTTP API (``jwtIssuer`` + ``jwtAudience``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import jsii
from aws_cdk import Acknowledgment, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_authorizers import HttpJwtAuthorizer
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.names import FrontDoor, FunctionUrlAuth

ALLOWED_METHODS = ("POST",)
ALLOWED_HEADERS = ("content-type",)
# Headers a SigV4-signing browser client sends to an AWS_IAM Function URL.
SIGV4_HEADERS = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")
# The bearer token a browser client sends to an HTTP API with a JWT authorizer.
BEARER_HEADERS = ("authorization",)

_PUBLIC_BY_DESIGN = (
    "The vending machine is public by design, like the original: callers are browsers and devices "
    "without AWS credentials, and what they get is a short-lived token scoped to one cache and topic. "
    "Put an authorizer in front (jwtIssuer + jwtAudience on the HTTP API, or frontDoor=functionUrl with "
    "functionUrlAuth=AWS_IAM) to restrict it."
)


@dataclass(frozen=True, kw_only=True)
class JwtAuthorizerConfig:
    """Who issues the callers' JWTs and which audiences (``aud`` or ``client_id``) the API accepts."""

    issuer: str
    audience: tuple[str, ...]


class FunctionUrlFrontDoor(Construct):
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
        api = apigwv2.HttpApi(
            self,
            "Api",
            api_name=Stack.of(self).stack_name,
            description="Momento token vending machine",
            default_integration=HttpLambdaIntegration("Vend", function),
            # On every route; API Gateway still answers CORS preflights without asking for a token.
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
        if jwt is None:
            Validations.of(api).acknowledge(
                Acknowledgment(id="AwsSolutions-APIG4", reason=_PUBLIC_BY_DESIGN),
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
