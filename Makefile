# Two entry points (see README "Quick start"): `make demo` and `make test`.
# Both build .venv from the committed lock (requirements/dev.txt) first, so they work on a fresh
# machine with only Python 3.11 (the lock's), make and gcc, and install the same versions every
# time; both are idempotent. The lock changes only through `make lock`.
#
#   make lock         re-resolve pyproject.toml's ranges (extras dev + server) into the lock, newest
#                     first; LOCK_UPGRADE= keeps existing pins and only adds what is new
#   make test-latest  the drift lane: the newest versions pyproject.toml allows, in .venv-latest
#   make proto        regenerate the gRPC messages from ensemble_service.proto

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.insitu-installed
# The store module (C) is a prerequisite of demo and test: define it before those rules, as
# make expands a rule's prerequisites when it reads the rule.
MODULE_SO := src/insitu/store/module/insitu_ai.so
PYTEST_ARGS ?=

LOCK        := requirements/dev.txt
LOCK_PYTHON := 3.11
# The tools that write generated files are pinned here, not in the lock: their output is
# committed, and changing them is a deliberate act.
PIP_TOOLS   := pip-tools==7.7.0
# protoc of protobuf 6.31.1: the gencode's version is the floor of `protobuf` in pyproject.toml.
PROTOC      := grpcio-tools==1.76.0
PROTO_DIR   := src/insitu/rules/service

# INSTALL=lock (default) builds the venv from the lock; INSTALL=latest re-resolves the newest
# allowed versions on every run (make test-latest).
INSTALL ?= lock

.PHONY: demo test lint typecheck bench clean lock lock-smartredis test-latest proto module FORCE

ifeq ($(INSTALL),latest)
$(STAMP): FORCE
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[dev,server]"
	$(PY) -m pip check
	@touch $(STAMP)
else
# The venv is a function of the lock: when the lock changed, it is rebuilt from scratch, so no
# package the lock dropped lingers in it.
$(STAMP): $(LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(0 if v == "$(LOCK_PYTHON)" else "$(LOCK) is for Python $(LOCK_PYTHON), $(PYTHON) is " + v + ": set PYTHON=python$(LOCK_PYTHON), or use make test-latest")'
	@if ! cmp -s $(LOCK) $(VENV)/.insitu-lock; then rm -rf $(VENV); fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$$(grep '^pip==' $(LOCK))"
	$(PY) -m pip install --quiet --requirement $(LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@cp $(LOCK) $(VENV)/.insitu-lock
	@touch $(STAMP)
endif

demo: $(STAMP) $(MODULE_SO)
	$(PY) examples/demo.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/ruff format --check src tests examples benchmarks
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict src

# As root, the Debian packages the tests use (redis-server, chromium, slurm-wlm, munge, Open MPI,
# libhiredis-dev) are installed first when missing (.ci/debian-packages); otherwise the tests
# that need them skip, saying so.
test: lint typecheck $(MODULE_SO)
	@bash .ci/debian-packages
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-latest:
	$(MAKE) test VENV=.venv-latest INSTALL=latest

# pip-compile resolves with this machine's pip configuration (its wheel directory holds the CPU
# build of torch, which the lock pins as torch==X+cpu); index and find-links options stay out of
# the lock, which names versions only. The project's own line (the dev extra names insitu[...])
# is dropped: `make test` installs the checkout itself, editable.
LOCK_UPGRADE ?= --upgrade
lock:
	@test -x .venv-lock/bin/pip-compile || ($(PYTHON) -m venv .venv-lock && \
	  .venv-lock/bin/pip install --quiet --upgrade pip '$(PIP_TOOLS)')
	CUSTOM_COMPILE_COMMAND="make lock" .venv-lock/bin/pip-compile --quiet $(LOCK_UPGRADE) \
	  --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
	  --extra dev --extra server --output-file $(LOCK) pyproject.toml requirements/pins.in
	.venv-lock/bin/python -c 'import pathlib, re; p = pathlib.Path("$(LOCK)"); \
	  p.write_text(re.sub(r"(?m)^insitu @ .*\n(    #.*\n)*", "", p.read_text()))'

proto:
	@test -x .venv-proto/bin/python || ($(PYTHON) -m venv .venv-proto && \
	  .venv-proto/bin/pip install --quiet '$(PROTOC)')
	.venv-proto/bin/python -m grpc_tools.protoc -Isrc --python_out=src --pyi_out=src \
	  $(PROTO_DIR)/ensemble_service.proto

bench: $(STAMP)
	$(PY) benchmarks/launch.py

clean:
	rm -rf $(VENV) .venv-latest .venv-lock .venv-proto .venv-smartredis build dist src/*.egg-info .mypy_cache \
	  .ruff_cache .pytest_cache

# The store module (C): built in place for a source checkout; the package build (setup.py)
# builds the same for wheels.
module: $(MODULE_SO)
$(MODULE_SO): $(wildcard src/insitu/store/module/*.c src/insitu/store/module/*.h) setup.py | $(STAMP)
	$(PY) setup.py --quiet build_ext --inplace

# The SmartRedis compatibility tests' own venv (tests/integration/smartredis/) is built from
# this lock; `make lock-smartredis` re-resolves it.
lock-smartredis:
	@test -x .venv-lock/bin/pip-compile || ($(PYTHON) -m venv .venv-lock && \
	  .venv-lock/bin/pip install --quiet --upgrade pip '$(PIP_TOOLS)')
	CUSTOM_COMPILE_COMMAND="make lock-smartredis" .venv-lock/bin/pip-compile --quiet \
	  --strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements/smartredis.txt \
	  requirements/smartredis.in
