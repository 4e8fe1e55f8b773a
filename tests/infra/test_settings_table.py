"""One declaration per setting: the README's table and the CDK context keys come from the settings model."""

from __future__ import annotations

from infra.config import StackConfig
from infra.settings_table import README, settings_table, with_table
from token_vending_machine.settings import Settings, context_key, operator_settings


def test_the_readme_table_is_the_one_the_settings_model_writes() -> None:
    readme = README.read_text()

    assert with_table(readme) == readme, "README.md is stale: run `uv run python -m infra.settings_table`"


def test_every_setting_has_a_row_with_its_variable_and_description() -> None:
    table = settings_table()

    for name, info in Settings.model_fields.items():
        assert info.description, f"{name} has no description for the README"
        assert f"| `{info.alias}` |" in table


def test_every_operator_setting_is_read_from_its_context_key_and_reaches_the_environment() -> None:
    """A new setting needs one declaration in settings.py: the CDK app finds it from there."""
    context = {
        context_key(name): info.default if info.default not in (None, ()) else "x"
        for name, info in operator_settings().items()
    }
    context["corsAllowedOrigins"] = "https://one.example"
    context["policy"] = None  # one or the other: a POLICY document replaces the original policy settings
    read: list[str] = []

    def try_get_context(key: str) -> object:
        read.append(key)
        return context.get(key)

    environment = StackConfig.from_context(try_get_context).function_environment

    assert set(context) <= set(read)
    assert {info.alias for info in operator_settings().values()} - {"POLICY"} <= set(environment)
    assert environment["CORS_ALLOWED_ORIGINS"] == "https://one.example"
