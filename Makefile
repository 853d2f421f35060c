# Two entry points on a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.test-installed

.PHONY: demo test install install-test report validate bench serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[report,web,kernels]'
	touch $@

install: $(STAMP)

# Tests use the CPU build of PyTorch, asked for explicitly so that no multi-GB CUDA build is fetched:
# a local wheel when the machine has one (pip's find-links; its dependencies offline, else from the
# configured indexes), else PyTorch's CPU index. Debian's chromium serves the browser test (installed
# when missing and apt is available).
TORCH := torch==2.13.0+cpu
$(TSTAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[report,web,kernels,test]'
	$(PY) -m pip install -q --no-index '$(TORCH)' 2>/dev/null || \
	  $(PY) -m pip install -q '$(TORCH)' 2>/dev/null || \
	  $(PY) -m pip install -q '$(TORCH)' --index-url https://download.pytorch.org/whl/cpu
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	    { echo "Debian's chromium is needed for the browser test and could not be installed"; exit 1; }; }
	touch $@

install-test: $(TSTAMP)

demo: $(STAMP)
	$(VENV)/bin/infercast demo

test: $(TSTAMP)
	$(PY) -m pytest

validate: $(STAMP)
	$(VENV)/bin/infercast validate

bench: $(STAMP)
	$(PY) benchmarks/sweep.py --json

serve: $(STAMP)
	$(VENV)/bin/infercast serve

clean:
	rm -rf $(VENV) report build *.egg-info
