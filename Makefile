# chatdash: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install lint typecheck bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip
	@echo "Installing the locked dependencies (the first install compiles llama-cpp-python: 10-16 minutes on 2 cores; later installs reuse pip's wheel cache)"
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -r requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/chatdash init
	$(BIN)/chatdash data stats

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) var
