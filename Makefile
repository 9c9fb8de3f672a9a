# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# sam build needs the Lambda runtime's interpreter; pyenv users get it without changing their default.
export PYENV_VERSION ?= $(shell pyenv versions --bare 2>/dev/null | grep -E '^3\.11' | tail -1):$(shell pyenv versions --bare 2>/dev/null | grep -E '^3\.13' | tail -1)
export SAM_CLI_TELEMETRY := 0

.PHONY: demo test lint format validate build bench clean

$(BIN)/.installed: requirements-dev.txt constraints.txt training/requirements.txt local/requirements.txt operations/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

demo: $(BIN)/.installed
	$(BIN)/python -m local.demo $(ARGS)

test: $(BIN)/.installed
	$(BIN)/pytest $(ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

validate: $(BIN)/.installed
	$(BIN)/sam validate --lint
	$(BIN)/cfn-lint template.yaml

build: $(BIN)/.installed
	$(BIN)/sam build

bench: $(BIN)/.installed
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache
