# One task runner: every target calls uv (and npm for the CDK CLI). `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# `pip install uv` may put uv where PATH does not look (pyenv needs a rehash, pip --user uses
# ~/.local/bin): every recipe gets uv's own directory first on PATH, so `uv` (and cdk.json's
# `uv run`) work on a machine that had no uv when make started.
ORIGINAL_PATH := $(PATH)
UV_DIR = $(shell python3 -c 'import os, uv; print(os.path.dirname(uv.find_uv_bin()))' 2>/dev/null)
export PATH = $(if $(UV_DIR),$(UV_DIR):)$(ORIGINAL_PATH)
UV ?= uv
export UV_FROZEN := 1

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: uv
uv: ## install uv if this machine lacks it
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv

.venv: uv pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch .venv

.PHONY: install
install: .venv ## install the locked Python dependencies into .venv

.PHONY: chromium
chromium: ## Debian's Chromium for the browser CORS test (apt-get; without root the test is skipped)
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium is not installed: the browser test will be skipped"

.PHONY: test
test: install node_modules chromium ## run the whole test suite, Python then JavaScript (installs what it needs first)
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(UV) run pytest
	npm test --silent

.PHONY: unit
unit: install ## fast tests only: no servers, sockets blocked (tests/unit/conftest.py)
	$(UV) run pytest tests/unit

.PHONY: bench
bench: install node_modules ## benchmarks that print figures: cold start, warm path and memory, bundle size, client
	$(UV) run python bench/cold_start.py
	$(UV) run python bench/warm_path.py
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(UV) run python bench/bundle_size.py
	$(UV) run python bench/client_bench.py
	$(UV) run python bench/load.py

.PHONY: lint
lint: install ## ruff (rules, complexity <= 10, formatting) and mypy --strict; what is checked is set in pyproject.toml
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

.PHONY: format
format: install ## rewrite the Python sources the way `make lint` wants them: ruff format, then ruff's safe fixes
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

.PHONY: openapi
openapi: install ## regenerate openapi.json, the API contract, from the function's models and errors
	$(UV) run python -m infra.openapi

# Extra options for `make run` and `make bench-load`, e.g. ARGS="--port 0 --event rest" (see `uv run tvm-local --help`)
ARGS ?=

.PHONY: run
run: install node_modules ## run the whole vending machine locally, with the browser chat demo (no AWS, no Momento account)
	npm run --silent build:demo
	$(UV) run tvm-local $(ARGS)

.PHONY: bench-load
bench-load: install ## load the local stack: 50 concurrent clients, 2000 requests (ARGS="--clients 10 --requests 500")
	$(UV) run python bench/load.py $(ARGS)

.PHONY: smoke
smoke: install ## check a deployment end to end: make smoke URL=https://... [ARGS="--origin https://app.example.com"]
	@[ -n "$(URL)" ] || { echo 'usage: make smoke URL=<endpoint URL> [ARGS="--origin ... --header ... --sigv4"]' >&2; exit 2; }
	$(UV) run tvm smoke --url "$(URL)" $(ARGS)

# --- CDK app (infra/) --------------------------------------------------------------------------
# The CDK CLI pinned in package.json; no version check, notices or telemetry (see cdk.json).
CDK := CDK_DISABLE_VERSION_CHECK=1 npx --no-install cdk
# Synthesis needs no AWS account: dummy credentials keep the CLI from looking for real ones.
OFFLINE_AWS := env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=offline \
	AWS_SECRET_ACCESS_KEY=offline AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
# Extra context for synth/deploy/destroy, e.g. CDK_CONTEXT="-c frontDoor=httpApi -c existingSecret=momento/api-key"
CDK_CONTEXT ?=

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

.PHONY: synth
synth: install node_modules ## synthesize the stack into cdk.out, offline (builds the Lambda bundle without Docker)
	$(OFFLINE_AWS) $(CDK) synth --quiet $(CDK_CONTEXT)

.PHONY: cdk-check
cdk-check: install node_modules ## cdk-nag (AwsSolutions, Serverless) and cfn-lint on every front-door variant, offline
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(UV) run python -m infra.checks

.PHONY: bootstrap
bootstrap: install node_modules ## once per AWS account and region: create the CDK deployment resources
	$(CDK) bootstrap $(CDK_CONTEXT)

.PHONY: deploy
deploy: install node_modules ## deploy with your AWS credentials; first deploy needs MOMENTO_API_KEY (or -c existingSecret=...)
	rm -rf cdk.out
	@# INSTALL_BUNDLE_PYTHON: uv installs a CPython of the runtime's version to precompile the bundle.
	INSTALL_BUNDLE_PYTHON=1 $(CDK) synth --quiet $(CDK_CONTEXT)
	@# The key goes only to the NoEcho parameter, and only when the stack creates the secret.
	@if ! grep -qs '"MomentoApiKey"' cdk.out/*.template.json; then \
		$(CDK) deploy --app cdk.out --outputs-file cdk.out/outputs.json; \
	elif [ -n "$$MOMENTO_API_KEY" ]; then \
		echo "Storing MOMENTO_API_KEY in the stack's secret (NoEcho parameter MomentoApiKey)"; \
		$(CDK) deploy --app cdk.out --outputs-file cdk.out/outputs.json \
			--parameters "MomentoApiKey=$$MOMENTO_API_KEY"; \
	else \
		echo "MOMENTO_API_KEY is not set: keeping the key already in the secret (a first deploy needs it)"; \
		$(CDK) deploy --app cdk.out --outputs-file cdk.out/outputs.json; \
	fi

.PHONY: destroy
destroy: install node_modules ## delete the stack, its logs and the secret it created (an existing secret is kept)
	$(CDK) destroy --force $(CDK_CONTEXT)
