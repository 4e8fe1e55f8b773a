"""Offline checks over every front-door variant: cdk-nag findings left unacknowledged, and cfn-lint.

``make cdk-check`` runs ``python -m infra.checks``; the infra tests reuse the same variants and functions.
No network, no AWS credentials: bundling is skipped (the template does not depend on the bundle).
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.app import build_app
from infra.names import Context, FrontDoor, FunctionUrlAuth

SKIP_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
EXAMPLE_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:momento/api-key-AbC123"
EXAMPLE_KMS_KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXAMPLE_JWT_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
EXAMPLE_JWT_AUDIENCE = "example-app-client-id"
# A caller role in the stack's own account and one in a partner account (with a path).
EXAMPLE_INVOKER_ROLE_ARNS = (
    "arn:aws:iam::111122223333:role/tvm-callers",
    "arn:aws:iam::444455556666:role/partner/tvm-callers",
)
EXAMPLE_ALARM_EMAIL = "tvm-alarms@example.com"

VARIANTS: dict[str, dict[str, str]] = {
    "function-url": {Context.FRONT_DOOR: FrontDoor.FUNCTION_URL},
    "function-url-iam": {
        Context.FRONT_DOOR: FrontDoor.FUNCTION_URL,
        Context.FUNCTION_URL_AUTH: FunctionUrlAuth.AWS_IAM,
        Context.INVOKER_ROLE_ARNS: ",".join(EXAMPLE_INVOKER_ROLE_ARNS),
    },
    "http-api": {Context.FRONT_DOOR: FrontDoor.HTTP_API},
    "rest-api": {Context.FRONT_DOOR: FrontDoor.REST_API},
    "existing-secret-name": {Context.FRONT_DOOR: FrontDoor.HTTP_API, Context.EXISTING_SECRET: "momento/api-key"},
    "existing-secret-arn-cmk": {
        Context.FRONT_DOOR: FrontDoor.REST_API,
        Context.EXISTING_SECRET: EXAMPLE_SECRET_ARN,
        Context.EXISTING_SECRET_KMS_KEY_ARN: EXAMPLE_KMS_KEY_ARN,
    },
    # Locked down: verified callers, each on its own topics, within an allowed cache and topic pattern.
    "http-api-jwt": {
        Context.FRONT_DOOR: FrontDoor.HTTP_API,
        Context.JWT_ISSUER: EXAMPLE_JWT_ISSUER,
        Context.JWT_AUDIENCE: EXAMPLE_JWT_AUDIENCE,
        "topicsPerIdentity": "true",
        "allowedCaches": "chat",
        "allowedTopics": "room-*",
        "allowedPermissions": "subscribe,publish",
    },
    "function-url-iam-snapstart": {
        Context.FRONT_DOOR: FrontDoor.FUNCTION_URL,
        Context.FUNCTION_URL_AUTH: FunctionUrlAuth.AWS_IAM,
        "topicsPerIdentity": "true",
        Context.SNAP_START: "true",
        Context.INVOKER_ROLE_ARNS: EXAMPLE_INVOKER_ROLE_ARNS[0],
    },
    "rest-api-snapstart-untraced": {
        Context.FRONT_DOOR: FrontDoor.REST_API,
        Context.SNAP_START: "true",
        Context.TRACING: "false",
        Context.SECRETS_EXTENSION: "false",
    },
    # Operations: canary rollouts on each front door (the alias without SnapStart, and with it), alarm e-mail.
    "function-url-canary-email": {
        Context.FRONT_DOOR: FrontDoor.FUNCTION_URL,
        Context.CANARY: "true",
        Context.ALARM_EMAIL: EXAMPLE_ALARM_EMAIL,
    },
    "http-api-canary-snapstart": {
        Context.FRONT_DOOR: FrontDoor.HTTP_API,
        Context.CANARY: "true",
        Context.SNAP_START: "true",
    },
    "rest-api-canary-email": {
        Context.FRONT_DOOR: FrontDoor.REST_API,
        Context.CANARY: "true",
        Context.ALARM_EMAIL: EXAMPLE_ALARM_EMAIL,
    },
    "no-monitoring": {Context.FRONT_DOOR: FrontDoor.FUNCTION_URL, Context.MONITORING: "false"},
}


@dataclass(frozen=True)
class Synthesized:
    """One variant's cloud assembly: the stack's template, cdk-nag's unacknowledged findings, the acknowledgements."""

    outdir: Path
    stack_name: str
    template: dict[str, Any]
    nag_findings: list[str]
    acknowledged: dict[str, str]  # rule id -> reason, over every construct of the stack


def synthesize(context: dict[str, Any], outdir: Path) -> Synthesized:
    """Synthesize with cdk-nag active; findings are collected from the validation report, not raised."""
    app, stack = build_app({**SKIP_BUNDLING, **context}, outdir=str(outdir))
    try:
        app.synth()
        findings: list[str] = []
    except Exception:
        report_file = outdir / "validation-report.json"
        if not report_file.exists():
            raise
        findings = findings_in_report(json.loads(report_file.read_text()))
    template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    metadata_file = outdir / f"{stack.stack_name}.metadata.json"
    acknowledged = acknowledged_rules(json.loads(metadata_file.read_text())) if metadata_file.exists() else {}
    return Synthesized(
        outdir=outdir,
        stack_name=stack.stack_name,
        template=template,
        nag_findings=findings,
        acknowledged=acknowledged,
    )


def acknowledged_rules(metadata: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """``Validations.acknowledge`` leaves ``aws:cdk:acknowledged-rules`` entries in the stack's metadata."""
    return {
        rule.removeprefix("Annotation::"): reason
        for entries in metadata.values()
        for entry in entries
        if entry.get("type") == "aws:cdk:acknowledged-rules"
        for rule, reason in entry.get("data", {}).items()
    }


def findings_in_report(report: dict[str, Any]) -> list[str]:
    return [
        f"{violation['ruleName']} at {construct['constructPath']}: {violation['description']}"
        for plugin in report.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]


# W3005: aws-cdk-lib's Function always adds DependsOn on its role, which it also references with
# GetAtt. The duplicate edge is harmless and not ours to remove.
CFN_LINT_IGNORED = ("W3005",)


def cfn_lint(template: dict[str, Any]) -> list[str]:
    """cfn-lint errors and warnings, checked against the us-east-1 resource specification."""
    from cfnlint.api import ManualArgs, lint

    config = ManualArgs(regions=["us-east-1"], ignore_checks=list(CFN_LINT_IGNORED))
    matches = lint(json.dumps(template), config=config)
    return [f"{match.rule.id} {'/'.join(map(str, match.path))}: {match.message}" for match in matches]


def main() -> int:
    failed = False
    with tempfile.TemporaryDirectory(prefix="tvm-cdk-check-") as workdir:
        for name, context in VARIANTS.items():
            synthesized = synthesize(context, Path(workdir) / name)
            problems = [f"cdk-nag {f}" for f in synthesized.nag_findings] + [
                f"cfn-lint {f}" for f in cfn_lint(synthesized.template)
            ]
            print(f"{name:<28} {'ok' if not problems else f'{len(problems)} problem(s)'}")
            for problem in problems:
                print(f"    {problem}")
            failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
