# Two commands do all set-up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
# llama-cpp-python compiles from source (~6-9 min on 2 cores). Build for a portable x86-64
# baseline (AVX2/FMA) rather than -march=native: a native build on one host has crashed with
# "Illegal instruction" on another, and CI runs on whatever machine it gets.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DLLAMA_CURL=OFF
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
export HF_HUB_OFFLINE := 1

.PHONY: install system-deps run test lint unit clean

install: system-deps $(VENV)/.installed

# Debian packages: espeak-ng voices the synthetic benchmark corpus (`voice corpus synth`);
# chromium is the browser the talk page's test drives (Playwright never downloads one);
# sip-tester (SIPp) and baresip-core are the phone callers of the SIP tests (tests/telephony),
# kamailio the proxy of the scale-out test (deploy/kamailio).
system-deps:
	@missing=""; command -v espeak-ng >/dev/null 2>&1 || missing="$$missing espeak-ng"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v sipp >/dev/null 2>&1 || missing="$$missing sip-tester"; \
	command -v baresip >/dev/null 2>&1 || missing="$$missing baresip-core"; \
	command -v kamailio >/dev/null 2>&1 || missing="$$missing kamailio"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing; \
	  else echo "note: install the Debian packages$$missing (sudo apt-get install$$missing)"; fi; \
	fi

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,peers]'
	$(VENV)/bin/voice doctor
	touch $@

# The main job: the talk page on the embedded local default, fully offline; open the printed URL.
# (`voice talk --demo --out reply.wav` is the offline check without a browser.)
run: install
	$(VENV)/bin/voice serve

# Lint, types and the whole test suite (unit + integration with the real models).
test: install lint
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy voice telephony

unit: install
	$(PY) -m pytest -m "not slow"

clean:
	rm -rf $(VENV) build *.egg-info
