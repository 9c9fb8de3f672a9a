# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARCHITECTURE ?= arm64
export SAM_CLI_TELEMETRY := 0

# `sam build` needs the Lambda runtime's interpreter, python3.13. With pyenv, the newest
# installed 3.13 is added after the current version; without pyenv nothing changes.
ifneq ($(shell command -v pyenv 2>/dev/null),)
ifndef PYENV_VERSION
  PYENV_PYTHON313 := $(shell pyenv versions --bare | grep -E '^3\.13\.' | sort -V | tail -1)
  ifneq ($(PYENV_PYTHON313),)
    export PYENV_VERSION := $(shell pyenv version-name):$(PYENV_PYTHON313)
  endif
endif
endif

# `sam deploy` asks for the parameters until samconfig.toml holds the ones it saved (or GUIDED=1).
GUIDED ?= $(shell grep -q 'EndpointName=' samconfig.toml || echo first-deploy)

.DEFAULT_GOAL := help
.PHONY: help demo review test lint format validate scan build invoke acceptance deploy delete bench clean

help: ## this list
	@awk -F ':.*## ' '/^[a-z]+:.*## / { printf "  make %-9s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

$(BIN)/.installed: requirements-dev.txt constraints.txt training/requirements.txt local/requirements.txt operations/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

demo: $(BIN)/.installed ## the whole workflow on this machine, no AWS account, no Docker (ARGS=...)
	$(BIN)/python -m local.demo $(ARGS)

review: $(BIN)/.installed ## the local workflow, then its review queue in a browser page until Ctrl-C (ARGS=...)
	$(BIN)/python -m local.review $(ARGS)

# On every core (pytest-xdist); each test file stays on one worker, so that a file's shared
# fixtures (a browser, a moto server, a trained model) start once. ARGS="-n 0" runs in one process.
test: $(BIN)/.installed ## the tests, on every core (ARGS=... for pytest)
	$(BIN)/pytest -n auto --dist loadfile $(ARGS)

lint: $(BIN)/.installed ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed ## ruff's fixes and formatting, applied
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

validate: $(BIN)/.installed ## sam validate --lint (which runs cfn-lint)
	$(BIN)/sam validate --lint

# checkov pins boto3 1.35, which the project's virtualenv cannot hold: it runs from a virtualenv of
# its own, every package of its tree pinned. cfn-lint's serverless rules are in the project's.
SCAN_VENV := .venv-scan
SCAN_REQUIREMENTS := tests/template/scan/requirements.txt
$(SCAN_VENV)/.installed: $(SCAN_REQUIREMENTS)
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --upgrade pip
	$(SCAN_VENV)/bin/pip install --quiet --no-deps -r $(SCAN_REQUIREMENTS)
	touch $@

scan: $(BIN)/.installed $(SCAN_VENV)/.installed ## policy scanners on the translated template; fails on a finding not accepted (ARGS=--template PATH)
	$(BIN)/python -m tests.template.scan --checkov $(SCAN_VENV)/bin/checkov $(ARGS)

build: $(BIN)/.installed ## sam build: the functions and the layer, into .aws-sam/build
	$(BIN)/sam build

invoke: $(BIN)/.installed ## sam local invoke of every sample event offline (EVENT=name, ARCHITECTURE=x86_64)
	$(BIN)/sam build --parameter-overrides Architecture=$(ARCHITECTURE)
	$(BIN)/python -m local.invoke --architecture $(ARCHITECTURE) $(EVENT) $(ARGS)

# LocalStack runs from a python3.13 virtualenv of its own: it cannot import on 3.11, and its
# pinned dependencies must not meet the project's.
LOCALSTACK_VENV := .venv-localstack
$(LOCALSTACK_VENV)/.installed: local/localstack/requirements.txt
	python3.13 -m venv $(LOCALSTACK_VENV)
	$(LOCALSTACK_VENV)/bin/pip install --quiet --upgrade pip
	$(LOCALSTACK_VENV)/bin/pip install --quiet --no-deps -r local/localstack/requirements.txt
	touch $@

acceptance: $(BIN)/.installed $(LOCALSTACK_VENV)/.installed ## the stack deployed into LocalStack, every path run on it (needs Docker)
	$(BIN)/python -m local.acceptance $(ARGS)

deploy: build ## sam deploy; asks for the parameters the first time (or with GUIDED=1)
	$(BIN)/sam deploy $(if $(GUIDED),--guided)

delete: $(BIN)/.installed ## sam delete: the stack (after confirmation)
	$(BIN)/sam delete

bench: $(BIN)/.installed ## the figures the project holds itself to (ARGS="--only ...")
	$(BIN)/python -m bench $(ARGS)

clean: ## remove the virtualenv and the build and tool caches
	rm -rf $(VENV) $(LOCALSTACK_VENV) $(SCAN_VENV) .aws-sam .pytest_cache .ruff_cache
