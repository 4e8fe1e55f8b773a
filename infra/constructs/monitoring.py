"""Alarms on the function, its own metrics and its front door, an encrypted SNS topic for them, one dashboard.

Each alarm is declared once in ``alarm_specs`` with its threshold and the reason for it. Counters of
failures treat missing data as not breaching: the function publishes ``Error_<code>`` only when it
happens, and Lambda publishes nothing while nobody calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Aws, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.constructs.front_door import ServerErrorMetrics
from token_vending_machine.names import METRICS_NAMESPACE, SERVICE_NAME, ErrorCode

# Powertools Metrics puts every metric under this one dimension (the service name).
SERVICE_DIMENSION = "service"
# p99 duration above this share of the Lambda timeout: Momento retries have eaten nearly the whole budget.
DURATION_SHARE_OF_TIMEOUT = 0.8
ONE_MINUTE = Duration.minutes(1)
FIVE_MINUTES = Duration.minutes(5)
# Rates in percent: 5xx of all front-door requests, and requests answered `429 throttled` of all invocations.
SERVER_ERROR_RATE_PERCENT = 5
THROTTLED_RATE_PERCENT = 20
# Momento blips after every retry: a few per 5 minutes is an outage, one is noise.
MOMENTO_FAILURES_PER_5_MINUTES = 3
# Lambda refusing invocations over the reserved concurrency: a burst now and then is the designed cap.
LAMBDA_THROTTLES_PER_5_MINUTES = 10


def function_metric(name: str, *, statistic: str = "Sum", period: Duration = ONE_MINUTE) -> cloudwatch.Metric:
    """One of the function's own metrics (Powertools EMF: namespace and ``service`` dimension)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={SERVICE_DIMENSION: SERVICE_NAME},
        statistic=statistic,
        period=period,
    )


def error_metric(code: ErrorCode, *, period: Duration = ONE_MINUTE) -> cloudwatch.Metric:
    """Requests answered with this error code (the function emits ``Error_<code>`` per answer)."""
    return function_metric(f"Error_{code.value}", period=period)


def rate_percent(
    label: str, *, part: cloudwatch.IMetric, whole: cloudwatch.IMetric, period: Duration
) -> cloudwatch.MathExpression:
    """``part`` as a percentage of ``whole``; no data while ``whole`` has none (nobody called)."""
    return cloudwatch.MathExpression(
        expression="100 * FILL(part, 0) / whole",
        using_metrics={"part": part, "whole": whole},
        label=label,
        period=period,
    )


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    """One alarm: fires when ``datapoints`` of the last ``periods`` periods are at or above (or over) ``threshold``."""

    id: str
    metric: cloudwatch.IMetric
    threshold: float
    why: str
    comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    periods: int = 5
    datapoints: int = 1
    # A bad deployment shows here: CodeDeploy rolls a canary back when one of these fires.
    rolls_back: bool = False


def near_timeout_ms(timeout_seconds: int) -> int:
    """The duration alarm's threshold: the share of the Lambda timeout, in whole milliseconds."""
    return round(DURATION_SHARE_OF_TIMEOUT * timeout_seconds * 1000)


def alarm_specs(*, function: lambda_.Function, timeout_seconds: int, front_door: ServerErrorMetrics) -> list[AlarmSpec]:
    """Counters use 1-minute periods, 1 datapoint of 5: an alarm fires within a minute or two (in time for a
    canary's 5 minutes) and stays on for 5 minutes instead of flapping on sparse data."""
    # Failures that should never happen: one in a minute alarms. (id, metric, rolls back, why)
    any_failure: tuple[tuple[str, cloudwatch.IMetric, bool, str], ...] = (
        (
            "FunctionErrors",
            function.metric_errors(period=ONE_MINUTE, statistic="Sum"),
            True,
            "The function answers every failure it knows with JSON; a Lambda error is a crash or a timeout.",
        ),
        (
            "InternalErrors",
            error_metric(ErrorCode.INTERNAL_ERROR),
            True,
            "An exception the function did not expect: a bug.",
        ),
        (
            "ConfigurationErrors",
            error_metric(ErrorCode.CONFIGURATION_ERROR),
            True,
            "The secret is missing or malformed, or Momento rejects the key: no caller gets a token.",
        ),
        (
            "SecretUnavailable",
            error_metric(ErrorCode.SECRET_UNAVAILABLE),
            False,
            "Secrets Manager could not be read and no earlier key was at hand.",
        ),
        (
            "StaleKeyServed",
            function_metric("StaleKeyServed"),
            False,
            "Secrets Manager failed and the function kept vending with the key it had: a rotation may not arrive.",
        ),
    )
    return [
        *(
            AlarmSpec(id=alarm_id, metric=metric, threshold=1, rolls_back=rolls_back, why=why)
            for alarm_id, metric, rolls_back, why in any_failure
        ),
        *(
            AlarmSpec(
                id=alarm_id,
                metric=error_metric(code, period=FIVE_MINUTES),
                threshold=MOMENTO_FAILURES_PER_5_MINUTES,
                periods=1,
                why=f"Callers got {code.value} after every retry: Momento is failing, not blipping.",
            )
            for alarm_id, code in (
                ("MomentoUnavailable", ErrorCode.MOMENTO_UNAVAILABLE),
                ("MomentoTimeouts", ErrorCode.MOMENTO_TIMEOUT),
                ("MomentoRefused", ErrorCode.MOMENTO_REFUSED),
            )
        ),
        AlarmSpec(
            id="ThrottledRate",
            metric=rate_percent(
                "Requests answered 429 throttled (%)",
                part=error_metric(ErrorCode.THROTTLED, period=FIVE_MINUTES),
                whole=function.metric_invocations(period=FIVE_MINUTES, statistic="Sum"),
                period=FIVE_MINUTES,
            ),
            threshold=THROTTLED_RATE_PERCENT,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            periods=3,
            datapoints=2,
            why="Demand exceeds the Momento call budget (momentoCallRateLimit x concurrency) for 10 minutes.",
        ),
        AlarmSpec(
            id="LambdaThrottles",
            metric=function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
            threshold=LAMBDA_THROTTLES_PER_5_MINUTES,
            periods=1,
            why="Lambda refuses invocations beyond the reserved concurrency; a few are the designed cap.",
        ),
        AlarmSpec(
            id="DurationNearTimeout",
            metric=function.metric_duration(period=FIVE_MINUTES, statistic="p99"),
            threshold=near_timeout_ms(timeout_seconds),
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            periods=3,
            datapoints=2,
            why=f"p99 duration above {DURATION_SHARE_OF_TIMEOUT:.0%} of the {timeout_seconds} s timeout: "
            "requests are close to being cut off.",
        ),
        AlarmSpec(
            id="FrontDoorServerErrorRate",
            metric=rate_percent(
                f"{front_door.label} 5xx (%)",
                part=front_door.server_errors,
                whole=front_door.requests,
                period=FIVE_MINUTES,
            ),
            threshold=SERVER_ERROR_RATE_PERCENT,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            periods=3,
            datapoints=2,
            why=f"More than {SERVER_ERROR_RATE_PERCENT} % of requests to the {front_door.label} answered 5xx, "
            "whatever the cause (function, Momento, Secrets Manager, the front door itself).",
        ),
    ]


class TokenVendingMonitoring(Construct):
    """``alarms`` by id; ``rollback_alarms`` are those a canary deployment watches; ``topic`` receives them all."""

    alarms: dict[str, cloudwatch.Alarm]
    rollback_alarms: list[cloudwatch.Alarm]
    topic: sns.Topic
    dashboard: cloudwatch.Dashboard

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        timeout_seconds: int,
        front_door: ServerErrorMetrics,
        alarm_email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = _alarm_topic(self)
        if alarm_email is not None:
            subscription = self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
            Validations.of(subscription).acknowledge(
                Acknowledgment(
                    id="Serverless-SNSRedrivePolicy",
                    reason="An e-mail subscription: SNS hands the message to its mail service, and a bounce is "
                    "no delivery failure a dead-letter queue would catch. The alarm's state and history stay "
                    "in CloudWatch and on the dashboard; a queue nobody reads would add nothing.",
                ),
            )
        notify = cloudwatch_actions.SnsAction(self.topic)

        specs = alarm_specs(function=function, timeout_seconds=timeout_seconds, front_door=front_door)
        self.alarms = {}
        for spec in specs:
            alarm = cloudwatch.Alarm(
                self,
                spec.id,
                metric=spec.metric,
                threshold=spec.threshold,
                comparison_operator=spec.comparison,
                evaluation_periods=spec.periods,
                datapoints_to_alarm=spec.datapoints,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=spec.why,
            )
            alarm.add_alarm_action(notify)
            alarm.add_ok_action(notify)
            self.alarms[spec.id] = alarm
        self.rollback_alarms = [self.alarms[spec.id] for spec in specs if spec.rolls_back]
        self.dashboard = _dashboard(
            self,
            function=function,
            timeout_seconds=timeout_seconds,
            front_door=front_door,
            alarms=list(self.alarms.values()),
        )


def _alarm_topic(scope: Construct) -> sns.Topic:
    """A customer-managed key: CloudWatch cannot publish to a topic under the AWS-managed ``aws/sns`` key."""
    key = kms.Key(
        scope,
        "AlarmTopicKey",
        description=f"{Stack.of(scope).stack_name}: encrypts the alarm topic",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.DESTROY,
        pending_window=Duration.days(7),
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudWatchAlarmsPublishToTheEncryptedTopic",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],  # in a key policy, "*" is this key
        )
    )
    topic = sns.Topic(scope, "AlarmTopic", master_key=key, enforce_ssl=True)
    # enforce_ssl writes the topic policy: name the publisher too, limited to this account's alarms.
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudWatchAlarmsOfThisAccountPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"},
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            },
        )
    )
    return topic


def _dashboard(
    scope: Construct,
    *,
    function: lambda_.Function,
    timeout_seconds: int,
    front_door: ServerErrorMetrics,
    alarms: Sequence[cloudwatch.Alarm],
) -> cloudwatch.Dashboard:
    timeout_ms = timeout_seconds * 1000
    dashboard = cloudwatch.Dashboard(
        scope, "Dashboard", dashboard_name=Stack.of(scope).stack_name, default_interval=Duration.hours(3)
    )
    dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=24, height=3))
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Requests",
            left=[
                function.metric_invocations(period=ONE_MINUTE, statistic="Sum", label="Invocations"),
                function_metric("TokensVended"),
                function_metric("TokenReuseHits"),
            ],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Error answers (Error_<code>)",
            left=[error_metric(code) for code in ErrorCode],
            stacked=True,
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Lambda errors, throttles, stale key",
            left=[
                function.metric_errors(period=ONE_MINUTE, statistic="Sum", label="Errors"),
                function.metric_throttles(period=ONE_MINUTE, statistic="Sum", label="Throttles"),
                function_metric("StaleKeyServed"),
            ],
            width=8,
        ),
    )
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Duration (ms)",
            left=[
                function.metric_duration(period=ONE_MINUTE, statistic=statistic, label=statistic)
                for statistic in ("p50", "p99", "Maximum")
            ],
            left_annotations=[
                cloudwatch.HorizontalAnnotation(value=timeout_ms, label="timeout"),
                cloudwatch.HorizontalAnnotation(
                    value=near_timeout_ms(timeout_seconds), label="alarm", color=cloudwatch.Color.ORANGE
                ),
            ],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Momento call latency (ms)",
            left=[
                function_metric("MomentoCallLatency", statistic=statistic).with_(label=statistic)
                for statistic in ("p50", "p99")
            ],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title=f"{front_door.label} 5xx (%)",
            left=[
                rate_percent("5xx (%)", part=front_door.server_errors, whole=front_door.requests, period=FIVE_MINUTES)
            ],
            left_annotations=[cloudwatch.HorizontalAnnotation(value=SERVER_ERROR_RATE_PERCENT, label="alarm")],
            width=8,
        ),
    )
    return dashboard
