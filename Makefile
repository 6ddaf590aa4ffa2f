# The two commands of the README. Both do their own set-up on a fresh machine (Python 3.11+ and npm are needed).
#   make demo   run the example app inside Pyodide under Node 26 with JSPI
#   make test   lint and format check (ruff), the JS unit tests under the cached Node 26, then every pytest test,
#               inside Pyodide in Node 26 and in headless Chromium

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# Prints the path of the Node 26 that `jspiprof setup` installed into the cache ($JSPIPROF_HOME or ~/.cache/jspiprof).
CACHED_NODE := $(BIN)/python -c 'from jspiprof.runtime.install import cache_home, install; print(install(cache_home(), quiet=True).node)'

.PHONY: demo test browser

demo: $(VENV)/.installed
	$(BIN)/jspiprof setup
	$(BIN)/jspiprof run --with requests examples/crawler.py

test: $(VENV)/.installed-test browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/jspiprof setup --pytest
	"$$($(CACHED_NODE))" --test js/
	$(BIN)/python -m pytest

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(VENV)/.installed $@

# Debian's python3 makes venvs only with python3-venv installed.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { \
		echo "Installing Debian's python3-venv..."; \
		$(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv \
		&& $(PYTHON) -m venv --clear $(VENV); }

# Debian's Chromium and its WebDriver (tests in the browser runtime), Firefox ESR (`jspiprof record --browser firefox`),
# and npm's puppeteer-core and esbuild in the cache (what `jspiprof record` drives them with).
browser: $(VENV)/.installed
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "Installing Debian's chromium and chromium-driver..."; \
		$(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	fi
	@if ! command -v firefox-esr >/dev/null; then \
		echo "Installing Debian's firefox-esr..."; \
		$(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q firefox-esr; \
	fi
	$(BIN)/jspiprof setup --browser
