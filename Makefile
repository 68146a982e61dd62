# Two commands matter: `make demo` and `make test`. Everything they need is
# installed by the targets below: the virtual environment with pinned Python
# dependencies, and the control-plane binaries (built once into ~/.cache).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Every Python package, transitive ones included, is pinned with its hashes for
# Python 3.11 on Linux x86_64: requirements/dev.txt is what `make` installs,
# requirements/runtime.txt (the same versions, the runtime dependencies and the
# emulator's, so the image can also run `sagemaker-emulator` with moto) is what
# the Docker image installs. `make lock` regenerates both from pyproject.toml,
# keeping every pin that still satisfies it; `make lock LOCK_ARGS=--upgrade`
# moves every pin to the newest version pyproject.toml allows.
DEV_LOCK     := requirements/dev.txt
RUNTIME_LOCK := requirements/runtime.txt
UV_VERSION   := 0.13.9
LOCK_ARGS    ?=
UV_COMPILE    = $(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes \
                --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
                --custom-compile-command 'make lock' $(LOCK_ARGS)

.PHONY: demo test lint typecheck unit binaries crd docs regions bench lock clean help

help:
	@echo "make demo   local control plane + SageMaker emulator + operator; an LLMEndpoint goes Ready"
	@echo "make test   install everything, lint, type-check, run every test"
	@echo "make unit   only the pure tests (tests/unit), in seconds"
	@echo "make lock   re-pin requirements/*.txt from pyproject.toml (LOCK_ARGS=--upgrade: newest allowed)"

$(STAMP): pyproject.toml $(DEV_LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# Resolve the dev set first (the superset), then the runtime set within its pins,
# so the image and the dev environment run the same versions.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/uv --version 2>/dev/null | grep -q '^uv $(UV_VERSION)\( \|$$\)' \
		|| $(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)'
	$(UV_COMPILE) --extra dev --output-file $(DEV_LOCK)
	$(UV_COMPILE) --extra emulator --constraint $(DEV_LOCK) --output-file $(RUNTIME_LOCK)

binaries:
	bash tools/build-binaries.sh

demo: $(STAMP) binaries
	$(BIN)/python scripts/demo.py

# The workflows: actionlint (built like the control-plane binaries, with the locked
# shellcheck for their scripts) and zizmor, offline unless ZIZMOR_ARGS says otherwise
# (CI runs its online audits too, with a token). The chart: `helm lint --strict` with
# both Helm majors.
ZIZMOR_ARGS ?= --offline
tool = $$(bash tools/build-binaries.sh --path $(1))

lint: $(STAMP)
	$(BIN)/ruff check operator tests bench scripts
	$(BIN)/ruff format --check operator tests bench scripts
	$(BIN)/hadolint Dockerfile
	$(BIN)/lint-imports
	bash tools/build-binaries.sh actionlint helm helm4 >/dev/null
	$(call tool,actionlint) -shellcheck $(BIN)/shellcheck -pyflakes=
	$(BIN)/zizmor $(ZIZMOR_ARGS) --persona pedantic .github
	$(call tool,helm) lint --strict charts/llm-operator
	$(call tool,helm4) lint --strict charts/llm-operator

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) binaries lint typecheck
	$(BIN)/pytest -p no:cacheprovider

# The pure tests alone: tests/unit/conftest.py refuses processes, sockets and the
# service fixtures there, so this never starts kube-apiserver or the emulator.
unit: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider -q tests/unit

crd: $(STAMP)
	$(BIN)/llm-operator crd > crds/llmendpoints.yaml
	cp crds/llmendpoints.yaml charts/llm-operator/crds/llmendpoints.yaml
	$(BIN)/llm-operator crd --policy > crds/llmendpointpolicies.yaml
	cp crds/llmendpointpolicies.yaml charts/llm-operator/crds/llmendpointpolicies.yaml
	$(BIN)/llm-operator crd --pool > crds/llmendpointpools.yaml
	cp crds/llmendpointpools.yaml charts/llm-operator/crds/llmendpointpools.yaml

docs: $(STAMP)
	$(BIN)/python -m llm_operator.docs

# Regions where SageMaker exists (the CRD refuses others), from the locked botocore.
regions: $(STAMP)
	$(BIN)/python scripts/regions.py

bench: $(STAMP) binaries
	$(BIN)/python bench/emulator_rps.py

clean:
	rm -rf $(VENV) build dist *.egg-info
