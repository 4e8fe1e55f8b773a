"""CDK entry point (``cdk.json`` runs ``python -m infra.app``): context → config → one stack, checked by cdk-nag.

Synthesis makes no AWS call: the stack is environment-agnostic and reads nothing but context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from infra.config import StackConfig
from infra.stack import TokenVendingMachineStack


def build_app(
    context: Mapping[str, Any] | None = None, *, outdir: str | None = None
) -> tuple[App, TokenVendingMachineStack]:
    """The app with its one stack and the AwsSolutions + Serverless packs, which run at synth."""
    app = App(context=dict(context) if context else None, outdir=outdir)
    config = StackConfig.from_context(app.node.try_get_context)
    stack = TokenVendingMachineStack(
        app,
        config.stack_name,
        config=config,
        description="Momento token vending machine: vends short-lived Momento tokens scoped by policy",
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app, stack


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
