"""cdk-nag (AwsSolutions + Serverless) and cfn-lint pass on every variant, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks

from infra.checks import VARIANTS, Synthesized, cfn_lint, findings_in_report

CHECKED = [*VARIANTS, "custom"]


@pytest.mark.parametrize("name", CHECKED)
def test_cdk_nag_has_no_unacknowledged_findings(synthesized: dict[str, Synthesized], name: str) -> None:
    assert synthesized[name].nag_findings == []


@pytest.mark.parametrize("name", CHECKED)
def test_cfn_lint_is_clean(synthesized: dict[str, Synthesized], name: str) -> None:
    assert cfn_lint(synthesized[name].template) == []


def test_an_unacknowledged_finding_is_reported(tmp_path: Path) -> None:
    """GIVEN a queue nobody vouched for, WHEN synthesized with the pack, THEN its finding is in the report."""
    app = App(outdir=str(tmp_path))
    sqs.Queue(Stack(app, "Bare"), "Queue")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="Validation"):
        app.synth()
    findings = findings_in_report(json.loads((tmp_path / "validation-report.json").read_text()))
    assert any(finding.startswith("AwsSolutions-SQS3") for finding in findings)
