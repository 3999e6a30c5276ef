# SafetyBoard: `make run` (install, build the demo cut, serve the dashboard) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SB     := $(VENV)/bin/safetyboard
DEMO   := var/demo-export
DB     := var/cuts/current.duckdb
PORT   ?= 8501

.PHONY: run test test-min test-fast install install-test demo-cut lint bench clean chromium

# Debian's python3 lacks ensurepip unless python3-venv is installed: fall back to virtualenv from PyPI
$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV); \
	  PIP_BREAK_SYSTEM_PACKAGES=1 $(PYTHON) -m pip install --quiet --user virtualenv && $(PYTHON) -m virtualenv --quiet $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(VENV)/bin/activate
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test chromium

# Debian's chromium for the browser tests (never `playwright install`: no downloads at run time).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo-cut: install
	$(SB) demo --out $(DEMO)
	$(SB) load $(DEMO) --db $(DB)

run: demo-cut
	$(SB) serve --db $(DB) --address 127.0.0.1 --port $(PORT)

test: install-test
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: install-test
	$(VENV)/bin/ruff check .

# benchmarks print their figures (program scale: 50,000 subjects; takes a while)
bench: install
	$(PY) bench/bench_load.py
	$(PY) bench/bench_checks.py
	$(PY) bench/bench_pages.py

# the whole suite on the oldest versions pyproject.toml allows (.ci/min-versions.txt), in .venv-min
test-min: chromium
	$(PYTHON) -m venv .venv-min 2>/dev/null || $(PYTHON) -m virtualenv --quiet .venv-min
	.venv-min/bin/python -m pip install --quiet --upgrade pip
	.venv-min/bin/python -m pip install --quiet -c .ci/min-versions.txt -e '.[test]'
	.venv-min/bin/python -m pytest

test-fast: install-test
	$(PY) -m pytest -m "not browser"

clean:
	rm -rf var .pytest_cache test-artifacts
