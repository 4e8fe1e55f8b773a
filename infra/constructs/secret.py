"""Where the Momento API key lives: a secret created from a NoEcho parameter, or an existing secret.

The key's value never enters the template: CloudFormation resolves ``{"Ref": "MomentoApiKey"}`` at
deploy time, and an imported secret is referenced by name or ARN only.
"""

from __future__ import annotations

import re

from aws_cdk import Acknowledgment, Arn, ArnFormat, CfnParameter, RemovalPolicy, SecretValue, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.names import API_KEY_PARAMETER

# Secrets Manager appends "-" and 6 random characters to a secret's name to make its complete ARN.
_COMPLETE_ARN_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


class ApiKeySecret(Construct):
    """``secret`` is what the function may read; ``secret_id`` is what it is told to read (name or ARN)."""

    secret: secretsmanager.ISecret
    secret_id: str

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        existing_secret: str | None = None,
        kms_key_arn: str | None = None,
        momento_endpoint: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._kms_key_arn = kms_key_arn
        if existing_secret is None:
            self.secret = self._create(momento_endpoint)
            self.secret_id = self.secret.secret_arn
        else:
            self.secret = self._import(existing_secret)
            self.secret_id = existing_secret

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """GetSecretValue + DescribeSecret on this one secret; kms:Decrypt only for a customer-managed key."""
        self.secret.grant_read(grantee)
        if self._kms_key_arn is not None:
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[self._kms_key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"secretsmanager.{Stack.of(self).region}.amazonaws.com"}
                    },
                )
            )

    def _create(self, momento_endpoint: str | None) -> secretsmanager.ISecret:
        api_key = CfnParameter(
            Stack.of(self),
            API_KEY_PARAMETER,
            type="String",
            no_echo=True,
            min_length=1,
            description="Momento API key, stored in Secrets Manager. Pass it with "
            f"--parameters {API_KEY_PARAMETER}=$MOMENTO_API_KEY (make deploy does).",
        )
        key_value = SecretValue.cfn_parameter(api_key)
        secret = secretsmanager.Secret(
            self,
            "Secret",
            description="Momento API key of the token vending machine",
            # A v2 key needs its endpoint beside it; a legacy key carries its own.
            secret_object_value=(
                # The endpoint is a public host name, not a secret.
                {"apiKey": key_value, "endpoint": SecretValue.unsafe_plain_text(momento_endpoint)}
                if momento_endpoint
                else None
            ),
            secret_string_value=None if momento_endpoint else key_value,
            removal_policy=RemovalPolicy.DESTROY,
        )
        Validations.of(secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="Momento issues the API key; no rotation Lambda can mint a new one. Rotate by "
                "redeploying with the new key (or put-secret-value); the function re-reads the secret "
                "after SECRET_MAX_AGE_SECONDS.",
            )
        )
        return secret

    def _import(self, name_or_arn: str) -> secretsmanager.ISecret:
        if not name_or_arn.startswith("arn:"):
            # Grants then cover "name-??????", the complete ARN of a secret with that name.
            return secretsmanager.Secret.from_secret_name_v2(self, "Imported", name_or_arn)
        name = Arn.split(name_or_arn, ArnFormat.COLON_RESOURCE_NAME).resource_name or ""
        if _COMPLETE_ARN_SUFFIX.search(name):
            return secretsmanager.Secret.from_secret_complete_arn(self, "Imported", name_or_arn)
        return secretsmanager.Secret.from_secret_partial_arn(self, "Imported", name_or_arn)
