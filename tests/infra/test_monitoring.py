"""Alarms, the alarm topic, the dashboard and canary rollouts: GIVEN a variant's context, WHEN synthesized, THEN ..."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

from infra.checks import EXAMPLE_ALARM_EMAIL, VARIANTS, Synthesized
from infra.config import StackConfig
from infra.names import LIVE_ALIAS, Context, FrontDoor, Output
from tests.infra.conftest import CUSTOM_CONTEXT
from token_vending_machine.budget import function_timeout_seconds
from token_vending_machine.names import METRICS_NAMESPACE, SERVICE_NAME

ALARM = "AWS::CloudWatch::Alarm"
GREATER_OR_EQUAL = "GreaterThanOrEqualToThreshold"
GREATER = "GreaterThanThreshold"
MONITORED_VARIANTS = [name for name in [*VARIANTS, "custom"] if name != "no-monitoring"]
CANARY_VARIANTS = ["function-url-canary-email", "http-api-canary-snapstart", "rest-api-canary-email"]
EMAIL_VARIANTS = ["function-url-canary-email", "rest-api-canary-email"]
SERVICE_DIMENSION = [{"Name": "service", "Value": SERVICE_NAME}]
DEFAULT_TIMEOUT_SECONDS = function_timeout_seconds(momento_timeout_seconds=2, momento_max_attempts=3)
# The custom variant: momentoTimeoutSeconds=1.5, momentoMaxAttempts=2 (tests/infra/conftest.py).
CUSTOM_TIMEOUT_SECONDS = function_timeout_seconds(momento_timeout_seconds=1.5, momento_max_attempts=2)

# (metric, namespace, statistic, threshold, comparison): one alarm each, on every monitored variant.
COUNT_ALARMS = [
    ("Errors", "AWS/Lambda", "Sum", 1, GREATER_OR_EQUAL),
    ("Throttles", "AWS/Lambda", "Sum", 10, GREATER_OR_EQUAL),
    ("Error_internal_error", METRICS_NAMESPACE, "Sum", 1, GREATER_OR_EQUAL),
    ("Error_configuration_error", METRICS_NAMESPACE, "Sum", 1, GREATER_OR_EQUAL),
    ("Error_secret_unavailable", METRICS_NAMESPACE, "Sum", 1, GREATER_OR_EQUAL),
    ("StaleKeyServed", METRICS_NAMESPACE, "Sum", 1, GREATER_OR_EQUAL),
    ("Error_momento_unavailable", METRICS_NAMESPACE, "Sum", 3, GREATER_OR_EQUAL),
    ("Error_momento_timeout", METRICS_NAMESPACE, "Sum", 3, GREATER_OR_EQUAL),
    ("Error_momento_refused", METRICS_NAMESPACE, "Sum", 3, GREATER_OR_EQUAL),
]
# The front door's (5xx, requests) metrics and their namespace, by the kind its variant uses.
FRONT_DOOR_METRICS = {
    FrontDoor.FUNCTION_URL: ("Url5xxCount", "UrlRequestCount", "AWS/Lambda"),
    FrontDoor.HTTP_API: ("5xx", "Count", "AWS/ApiGateway"),
    FrontDoor.REST_API: ("5XXError", "Count", "AWS/ApiGateway"),
}
CONTEXTS: dict[str, dict[str, Any]] = {**VARIANTS, "custom": CUSTOM_CONTEXT}
ROLLBACK_METRICS = {"Errors", "Error_internal_error", "Error_configuration_error"}


def template(synthesized: dict[str, Synthesized], name: str) -> Template:
    return Template.from_json(synthesized[name].template)


def front_door_kind(name: str) -> FrontDoor:
    return FrontDoor(CONTEXTS[name].get(Context.FRONT_DOOR, FrontDoor.FUNCTION_URL))


def math_alarm_metrics(stack: Template, expression_part: str) -> list[dict[str, Any]]:
    """The ``Metrics`` of the one metric-math alarm whose expression divides ``expression_part`` by a total."""
    alarms = [
        alarm["Properties"]["Metrics"]
        for alarm in stack.find_resources(ALARM).values()
        if "Metrics" in alarm["Properties"]
        and expression_part in json.dumps([m.get("MetricStat") for m in alarm["Properties"]["Metrics"]])
    ]
    assert len(alarms) == 1, alarms
    return alarms[0]


@pytest.mark.parametrize("name", MONITORED_VARIANTS)
@pytest.mark.parametrize(("metric", "namespace", "statistic", "threshold", "comparison"), COUNT_ALARMS)
def test_count_alarms_watch_lambda_and_the_functions_own_metrics(
    synthesized: dict[str, Synthesized],
    name: str,
    metric: str,
    namespace: str,
    statistic: str,
    threshold: float,
    comparison: str,
) -> None:
    template(synthesized, name).has_resource_properties(
        ALARM,
        {
            "MetricName": metric,
            "Namespace": namespace,
            "Statistic": statistic,
            "Dimensions": SERVICE_DIMENSION
            if namespace == METRICS_NAMESPACE
            else [{"Name": "FunctionName", "Value": Match.any_value()}],
            "Threshold": threshold,
            "ComparisonOperator": comparison,
            # Error counters are published only when an error happens: no data is good news.
            "TreatMissingData": "notBreaching",
        },
    )


@pytest.mark.parametrize("name", MONITORED_VARIANTS)
def test_duration_alarm_is_80_percent_of_the_functions_own_timeout(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    timeout = CUSTOM_TIMEOUT_SECONDS if name == "custom" else DEFAULT_TIMEOUT_SECONDS
    template(synthesized, name).has_resource_properties(
        ALARM,
        {
            "MetricName": "Duration",
            "Namespace": "AWS/Lambda",
            "ExtendedStatistic": "p99",
            "Threshold": round(0.8 * timeout * 1000),
            "ComparisonOperator": GREATER,
        },
    )
    template(synthesized, name).has_resource_properties("AWS::Lambda::Function", {"Timeout": timeout})


@pytest.mark.parametrize("name", MONITORED_VARIANTS)
def test_throttled_answers_alarm_as_a_share_of_invocations(synthesized: dict[str, Synthesized], name: str) -> None:
    stack = template(synthesized, name)
    metrics = math_alarm_metrics(stack, "Error_throttled")
    stats = {m["MetricStat"]["Metric"]["MetricName"]: m["MetricStat"] for m in metrics if "MetricStat" in m}
    assert stats["Error_throttled"]["Metric"]["Namespace"] == METRICS_NAMESPACE
    assert stats["Error_throttled"]["Metric"]["Dimensions"] == SERVICE_DIMENSION
    assert stats["Invocations"]["Metric"]["Namespace"] == "AWS/Lambda"
    (expression,) = [m["Expression"] for m in metrics if "Expression" in m]
    assert expression.startswith("100 *") and "/" in expression
    stack.has_resource_properties(
        ALARM, {"Metrics": metrics, "Threshold": 20, "ComparisonOperator": GREATER, "TreatMissingData": "notBreaching"}
    )


@pytest.mark.parametrize("name", MONITORED_VARIANTS)
def test_front_door_5xx_rate_alarm_uses_that_front_doors_metrics(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    server_errors, requests, namespace = FRONT_DOOR_METRICS[front_door_kind(name)]
    stack = template(synthesized, name)
    metrics = math_alarm_metrics(stack, f'"MetricName": "{server_errors}"')
    by_name = {m["MetricStat"]["Metric"]["MetricName"]: m["MetricStat"] for m in metrics if "MetricStat" in m}
    assert set(by_name) == {server_errors, requests}
    assert {stat["Metric"]["Namespace"] for stat in by_name.values()} == {namespace}
    assert {stat["Stat"] for stat in by_name.values()} == {"Sum"}
    stack.has_resource_properties(ALARM, {"Metrics": metrics, "Threshold": 5, "ComparisonOperator": GREATER})


@pytest.mark.parametrize("name", MONITORED_VARIANTS)
def test_every_alarm_notifies_the_encrypted_topic_over_tls_only(synthesized: dict[str, Synthesized], name: str) -> None:
    stack = template(synthesized, name)
    (topic_id,) = stack.find_resources("AWS::SNS::Topic")
    alarms = stack.find_resources(ALARM)
    assert len(alarms) == len(COUNT_ALARMS) + 3  # duration, throttled rate, front-door 5xx rate
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"
        assert alarm["Properties"]["AlarmDescription"]
    key = Capture()
    stack.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}})
    stack.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": Match.object_like(
                {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                                }
                            )
                        ]
                    )
                }
            ),
        },
    )
    assert key.as_string() in stack.find_resources("AWS::KMS::Key")
    stack.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": Match.object_like(
                {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            ),
                            Match.object_like(
                                {
                                    "Effect": "Allow",
                                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                    "Action": "sns:Publish",
                                }
                            ),
                        ]
                    )
                }
            )
        },
    )
    assert Output.ALARM_TOPIC_ARN in synthesized[name].template["Outputs"]


@pytest.mark.parametrize("name", MONITORED_VARIANTS)
def test_alarm_email_subscribes_to_the_topic_only_when_given(synthesized: dict[str, Synthesized], name: str) -> None:
    stack = template(synthesized, name)
    if name not in EMAIL_VARIANTS:
        stack.resource_count_is("AWS::SNS::Subscription", 0)
        return
    (topic_id,) = stack.find_resources("AWS::SNS::Topic")
    stack.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": EXAMPLE_ALARM_EMAIL, "TopicArn": {"Ref": topic_id}},
    )
    assert "Serverless-SNSRedrivePolicy" in synthesized[name].acknowledged


@pytest.mark.parametrize("name", MONITORED_VARIANTS)
def test_one_dashboard_shows_requests_errors_latency_and_the_front_door(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    stack = template(synthesized, name)
    dashboards = stack.find_resources("AWS::CloudWatch::Dashboard")
    assert len(dashboards) == 1
    body = json.dumps(next(iter(dashboards.values()))["Properties"]["DashboardBody"])
    server_errors, _, _ = FRONT_DOOR_METRICS[front_door_kind(name)]
    for shown in ("TokensVended", "TokenReuseHits", "MomentoCallLatency", "Error_momento_unavailable", "Duration"):
        assert shown in body
    assert server_errors in body
    assert "alarm" in body  # the alarm status widget


def test_monitoring_false_removes_alarms_topic_and_dashboard(synthesized: dict[str, Synthesized]) -> None:
    stack = template(synthesized, "no-monitoring")
    for resource in (ALARM, "AWS::CloudWatch::Dashboard", "AWS::SNS::Topic", "AWS::KMS::Key"):
        stack.resource_count_is(resource, 0)
    assert Output.ALARM_TOPIC_ARN not in synthesized["no-monitoring"].template["Outputs"]


@pytest.mark.parametrize("name", MONITORED_VARIANTS)
def test_canary_shifts_the_live_alias_and_rolls_back_on_the_error_alarms(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    stack = template(synthesized, name)
    if name not in CANARY_VARIANTS:
        stack.resource_count_is("AWS::CodeDeploy::DeploymentGroup", 0)
        return
    alarms = Capture()
    stack.has_resource_properties(
        "AWS::CodeDeploy::DeploymentGroup",
        {
            "DeploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
            "AlarmConfiguration": {"Enabled": True, "Alarms": alarms},
            "AutoRollbackConfiguration": {
                "Enabled": True,
                "Events": Match.array_with(["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]),
            },
        },
    )
    all_alarms = stack.find_resources(ALARM)
    watched = {all_alarms[alarm["Name"]["Ref"]]["Properties"]["MetricName"] for alarm in alarms.as_array()}
    assert watched == ROLLBACK_METRICS
    # CloudFormation hands each alias update to CodeDeploy instead of switching it at once.
    (alias_id, alias) = next(iter(stack.find_resources("AWS::Lambda::Alias").items()))
    assert alias["Properties"]["Name"] == LIVE_ALIAS
    (group_id,) = stack.find_resources("AWS::CodeDeploy::DeploymentGroup")
    assert alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"] == {"Ref": group_id}
    # The front door invokes the alias, so the shifted traffic is real traffic.
    front_door = json.dumps(
        stack.find_resources("AWS::Lambda::Url")
        | stack.find_resources("AWS::ApiGatewayV2::Integration")
        | stack.find_resources("AWS::ApiGateway::Method")
    )
    assert alias_id in front_door


def config(**context: Any) -> StackConfig:
    return StackConfig.from_context(context.get)


def test_monitoring_is_on_and_canary_off_by_default() -> None:
    defaults = config()
    assert (defaults.monitoring, defaults.alarm_email, defaults.canary, defaults.live_alias) == (
        True,
        None,
        False,
        False,
    )
    assert config(**{Context.CANARY: "true"}).live_alias


@pytest.mark.parametrize(
    ("context", "named"),
    [
        ({Context.MONITORING: "false", Context.ALARM_EMAIL: "ops@example.com"}, Context.ALARM_EMAIL),
        ({Context.MONITORING: "false", Context.CANARY: "true"}, Context.CANARY),
        ({Context.ALARM_EMAIL: "ops@example.com,dev@example.com"}, "alarmEmail: must be one e-mail"),
        ({Context.ALARM_EMAIL: "not-an-address"}, "alarmEmail: must be one e-mail"),
        ({Context.CANARY: "sometimes"}, "canary"),
    ],
)
def test_incompatible_or_malformed_operations_context_is_refused(context: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        config(**context)
