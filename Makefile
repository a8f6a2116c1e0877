# Two commands: `make run` and `make test`. Both install everything first (idempotent; fast once done).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
APPLIANCE := $(BIN)/appliance
DEBIAN_PACKAGES := espeak-ng sox chromium
# The SIP peers the tests and benchmarks call through: kamailio (the trunk), sipp and baresip (callers). Not for
# `make run`: Debian starts kamailio as a service on port 5060, the port the appliance itself listens on.
TEST_DEBIAN_PACKAGES := kamailio sip-tester baresip-core
STAMP := $(VENV)/.installed

test bench: DEBIAN_PACKAGES += $(TEST_DEBIAN_PACKAGES)

.PHONY: run test bench lint install debs clean

run: install
	$(APPLIANCE) tenant create --from examples/tenants/example.toml --if-missing
	$(APPLIANCE) serve

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/dialogue.py
	$(BIN)/python bench/kb.py
	$(BIN)/python bench/sip_calls.py
	$(BIN)/python bench/web.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

install: $(STAMP)

# Re-install when the project's dependencies change. llama-cpp-python builds from source the first time
# (about 10 minutes on 2 cores); pip caches the wheel, so later installs take seconds.
$(STAMP): pyproject.toml | debs
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel
	# The CPU build of torch, pinned first: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/pip install -q "torch==2.13.0"
	# aiortc's media stack only from wheels: a source build of av needs FFmpeg headers.
	$(BIN)/pip install -q --only-binary=av,aiortc,pylibsrtp,google-crc32c -e ".[dev,llm-1-5b]"
	touch $(STAMP)

debs:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
		else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
