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
# llama-cpp-python has no wheel for this platform; it is built once into WHEELS and installed from there.
LLAMA_CPP_VERSION := 0.3.36
WHEELS := .wheels
LLAMA_WHEEL_STAMP := $(WHEELS)/.llama-cpp-python-$(LLAMA_CPP_VERSION)

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

# Re-install when the project's dependencies change.
$(STAMP): pyproject.toml $(LLAMA_WHEEL_STAMP) | debs $(BIN)/python
	$(BIN)/pip install -q --upgrade pip wheel
	# The CPU build of torch, pinned first: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q --force-reinstall --no-deps $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	# aiortc's media stack only from wheels: a source build of av needs FFmpeg headers.
	$(BIN)/pip install -q --only-binary=av,aiortc,pylibsrtp,google-crc32c -e ".[dev,llm-1-5b]"
	touch $(STAMP)

# Built from source (about 10 minutes on 2 cores) for any x86-64-v3 CPU (AVX2, FMA, F16C), not for the build
# machine's own (-march=native): native code uses AMX on CPUs that advertise it, and dies with an illegal
# instruction where the kernel or hypervisor has not enabled it (seen on these machines); a box's image must also
# run on other CPUs. Not taken from pip's cache, which may hold a native build of the same version.
# For an NVIDIA GPU: rm -r .wheels && make LLAMA_CMAKE_ARGS=-DGGML_CUDA=on
$(LLAMA_WHEEL_STAMP): | debs $(BIN)/python
	mkdir -p $(WHEELS)
	CMAKE_ARGS="-DGGML_NATIVE=OFF $(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel -q --no-deps --no-cache-dir -w $(WHEELS) \
		"llama-cpp-python==$(LLAMA_CPP_VERSION)"
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

clean:
	rm -rf $(VENV) $(WHEELS) .pytest_cache .mypy_cache .ruff_cache
