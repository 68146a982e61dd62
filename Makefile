# Two commands matter: `make demo` and `make test`. Everything they need is
# installed by the targets below: the virtual environment with pinned Python
# dependencies, and the control-plane binaries (built once into ~/.cache).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit binaries crd docs bench clean help

help:
	@echo "make demo   local control plane + SageMaker emulator + operator; an LLMEndpoint goes Ready"
	@echo "make test   install everything, lint, type-check, run every test"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

binaries:
	bash tools/build-binaries.sh

demo: $(STAMP) binaries
	$(BIN)/python scripts/demo.py

lint: $(STAMP)
	$(BIN)/ruff check operator tests bench scripts
	$(BIN)/ruff format --check operator tests bench scripts
	$(BIN)/hadolint Dockerfile

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) binaries lint typecheck
	$(BIN)/pytest -p no:cacheprovider

crd: $(STAMP)
	$(BIN)/llm-operator crd > crds/llmendpoints.yaml
	cp crds/llmendpoints.yaml charts/llm-operator/crds/llmendpoints.yaml

docs: $(STAMP)
	$(BIN)/python -m llm_operator.docs

bench: $(STAMP) binaries
	$(BIN)/python bench/emulator_rps.py

clean:
	rm -rf $(VENV) build dist *.egg-info
