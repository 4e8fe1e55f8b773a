# One task runner: every target calls uv (and npm for the CDK CLI). `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# uv from PATH, else the one `pip install uv` put next to python3.
UV ?= $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export UV_FROZEN := 1

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: uv
uv: ## install uv if this machine lacks it
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

.venv: uv pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch .venv

.PHONY: install
install: .venv ## install the locked Python dependencies into .venv

.PHONY: test
test: install ## run the whole test suite (installs what it needs first)
	$(UV) run pytest

.PHONY: unit
unit: install ## fast tests only: no sockets, no servers
	$(UV) run pytest tests/unit

.PHONY: lint
lint: install ## ruff and mypy
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy lambdas/token_vending_machine
