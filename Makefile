# chatdash: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install chromium lint typecheck bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip
	@echo "Installing the locked dependencies (the first install compiles llama-cpp-python: 10-16 minutes on 2 cores; later installs reuse pip's wheel cache)"
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -r requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# The chat (web UI + APIs, port 8000) runs beside the dashboard (port 8501); Ctrl-C stops both.
run: install
	$(BIN)/chatdash init
	$(BIN)/chatdash data stats
	@trap 'kill $$serve 2>/dev/null' EXIT INT TERM; \
	$(BIN)/chatdash serve & serve=$$!; \
	$(BIN)/chatdash dashboard

test: install chromium phoenix
	$(BIN)/python -m pytest

# The browser test drives Debian's Chromium (Playwright never downloads one). Installed when we
# can (root with apt-get); otherwise that test skips and names the package.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is not installed and cannot be here (needs root and apt-get): the browser test will skip (Debian package: chromium)"; \
	  fi; }

# The OTLP export test's real receiver: Arize Phoenix, in a virtualenv of its own (.venv/phoenix: its
# dependencies are not the app's), pinned by requirements-phoenix.lock. Installed when the package
# index answers; otherwise that test skips and says what is missing.
PHOENIX := $(VENV)/phoenix
.PHONY: phoenix
phoenix: $(PHOENIX)/.installed

$(PHOENIX)/.installed: requirements-phoenix.lock
	@echo "Installing Arize Phoenix (the OTLP test's receiver) into $(PHOENIX)"
	@{ test -x $(PHOENIX)/bin/python || $(PYTHON) -m venv $(PHOENIX); } && \
	$(PHOENIX)/bin/python -m pip install --disable-pip-version-check -q -r requirements-phoenix.lock && \
	touch $@ || \
	echo "Arize Phoenix could not be installed into $(PHOENIX): the OTLP export test will skip"

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) var
