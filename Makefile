# chatdash: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install system-packages lint typecheck bench clean

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

test: install system-packages phoenix deploy-tools llama-server
	$(BIN)/python -m pytest

# Debian packages the tests drive for real: chromium (the browser tests; Playwright never downloads
# one), nginx (the `chatdash stack` tests) and docker-compose (`config` validates deploy/compose.yml;
# no engine comes with it). Installed when we can (root with apt-get); otherwise those tests skip
# and name the package.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	{ command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx; } || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's$$missing for the tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Debian's$$missing cannot be installed here (needs root and apt-get): the tests that drive them will skip, naming the package"; \
	  fi; \
	fi
	@command -v docker-compose >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's docker-compose (the client only: no engine)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null || \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; }; \
	  else \
	    echo "docker-compose cannot be installed here: the compose client test will skip (Debian package: docker-compose)"; \
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

# The deploy/ checkers (hadolint, shellcheck, kubernetes-validate), test-only, in a virtualenv of their
# own (.venv/tools), pinned by requirements-tools.lock; the tests that need one skip, naming it, without.
TOOLS := $(VENV)/tools
.PHONY: deploy-tools
deploy-tools: $(TOOLS)/.installed

$(TOOLS)/.installed: requirements-tools.lock
	@echo "Installing the deploy/ checkers into $(TOOLS)"
	@{ test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS); } && \
	$(TOOLS)/bin/python -m pip install --disable-pip-version-check -q -r requirements-tools.lock && \
	touch $@ || \
	echo "The deploy/ checkers could not be installed into $(TOOLS): their tests will skip"

# llama.cpp's own server (continuous batching), which `chatdash lm serve` runs: built once (10-15 minutes
# on 2 cores) from the llama.cpp source that the pinned llama-cpp-python vendors, kept under
# ~/.cache/chatdash/llama-server-<version>/ and linked into .venv/bin. When it cannot be built, the
# tests that run it skip and say so.
LLAMA_SERVER_STAMP := $(VENV)/.llama-server
.PHONY: llama-server
llama-server: $(LLAMA_SERVER_STAMP)

$(LLAMA_SERVER_STAMP): requirements.lock deploy/llama-server/build.sh | $(STAMP)
	@binary="$$(deploy/llama-server/build.sh --print-path)" && \
	PYTHON=$(BIN)/python deploy/llama-server/build.sh && \
	ln -sf "$$binary" $(BIN)/llama-server && \
	touch $@ || \
	echo "llama-server could not be built (the error is above): the tests that run it (chatdash lm serve) will skip; \`make llama-server\` retries"

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) var
