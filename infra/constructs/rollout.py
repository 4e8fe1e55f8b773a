"""Canary rollouts: CodeDeploy shifts the ``live`` alias to each new version, 10 % first, and rolls back on alarm."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# 10 % of invocations on the new version for 5 minutes, then all of them.
DEPLOYMENT_CONFIG = codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES
# The AWS-managed policy CodeDeploy's role gets from aws-cdk-lib (as cdk-nag names it).
CODEDEPLOY_LAMBDA_POLICY = "AWSCodeDeployRoleForLambdaLimited"


class CanaryRollout(Construct):
    """A CodeDeploy deployment group on ``alias``: a version that sets off one of ``alarms`` is rolled back."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alias: lambda_.Alias,
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id)
        if not alarms:
            raise ValueError("a canary needs at least one alarm to roll back on")
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "DeploymentGroup",
            alias=alias,
            deployment_config=DEPLOYMENT_CONFIG,
            alarms=list(alarms),
            auto_rollback=codedeploy.AutoRollbackConfig(failed_deployment=True, deployment_in_alarm=True),
        )
        Validations.of(self.deployment_group).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{CODEDEPLOY_LAMBDA_POLICY}]",
                reason="CodeDeploy's service role for Lambda: AWS maintains this policy for exactly this use "
                "(update and read aliases, read alarms, invoke CodeDeployHook_* functions only); a copy inlined "
                "here would miss AWS's changes to what CodeDeploy needs.",
            ),
        )
