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
	$(PY) -m pip install -q -e .
	touch $@

install: $(STAMP)

# Tests use the CPU build of PyTorch (torch==2.13.0 is served from the local wheel here) and
# Debian's chromium for the browser test (installed when missing and apt is available).
$(TSTAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test]' 'torch==2.13.0'
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	    echo "chromium not installed: the browser test will be skipped"; }
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
