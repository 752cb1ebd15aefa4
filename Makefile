# tlcourse: one command to set up and open the course, one to set up and run every test.
#   make lab    virtualenv + pinned stack + assets of your profile, then JupyterLab on your workspace/
#   make test   the same setup, then unit tests and every solution notebook once, in the smoke profile: lesson
#               00 and the lessons with widgets in JupyterLab in a real browser (tests/test_browser.py), the
#               others under nbval
# Variables: PYTHON (interpreter for the venv), VENV (its folder), TF_EXTRA (tf-cpu or tf-gpu; auto-detected),
# LAB_ARGS (extra JupyterLab arguments), TLCOURSE_PROFILE (smoke|cpu|full; see README),
# CONSTRAINTS (the lock of exact versions, default constraints.txt; empty: pyproject's ranges only),
# WHEELS (a wheelhouse folder: install from it with the package index disabled; see `make wheelhouse`),
# TEST_WORKERS (pytest-xdist workers for make test, default 2; 0 runs in one process),
# INSTALLER (uv, the default, or pip: what installs the stack into the venv).

PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
TF_EXTRA ?= $(shell command -v nvidia-smi >/dev/null 2>&1 && echo tf-gpu || echo tf-cpu)
STAMP    := $(VENV)/.tlcourse-$(TF_EXTRA).stamp
LAB_ARGS ?=
WORKSPACE ?= workspace
ROOT_ARG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
NBVAL    := --nbval-lax --nbval-current-env
TEST_WORKERS ?= 2
# One test file (one notebook: its cells share a kernel, in order) per worker at a time, handed out in the
# order conftest.py sorts them (longest first), not xdist's default (most tests first: the browser test's
# four long tests came last, and one worker ran them while the other had nothing left).
XDIST    := $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)
CONSTRAINTS ?= constraints.txt
WHEELS   ?=
# Bytecode: Python's own cache, written on first import, into one folder of the venv (no __pycache__ in the
# checkout), also where PYTHONDONTWRITEBYTECODE is set (this CI machine sets it; then nothing would ever write
# a .pyc and every process would compile torch again: make test took 15.4 minutes so). Compiling only what is
# imported, once, beats compiling all 23,000 files of the stack at install (75 s of a fresh clone's setup).
export PYTHONDONTWRITEBYTECODE :=
export PYTHONPYCACHEPREFIX := $(abspath $(VENV))/pycache
PIP_ARGS := $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) $(if $(WHEELS),--no-index --find-links $(WHEELS))

.PHONY: setup sysdeps lab test test-browser unit notebooks build lint verify gpu-check site bench times lock wheelhouse clean

LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

setup: sysdeps $(STAMP) $(LAB_SETTINGS)

# The course's JupyterLab settings (no "get notified about Jupyter news?" pop-up), where JupyterLab reads
# overrides: the venv's share/jupyter/lab/settings/ (no `install -D`: macOS's BSD install lacks it).
$(LAB_SETTINGS): etc/jupyterlab/overrides.json $(STAMP)
	mkdir -p $(@D) && install -m 644 $< $@

# Debian's Fashion-MNIST is the offline source of the vision lessons' data. As root we install it;
# otherwise the fetcher uses `apt-get download` (no root needed) or the official URL.
sysdeps:
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null 2>&1 \
	    && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian package dataset-fashion-mnist"; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >/dev/null; \
	fi
	@# Debian's Chromium for the browser test of the lessons in JupyterLab (tests/test_browser.py; Playwright
	@# drives it: a Playwright browser download cannot work offline). Without root the test says how to get it.
	@if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian package chromium"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	  || echo "could not install chromium (no Debian archive here?): the browser test will say so; the course works without it" >&2; \
	fi

# pip installs uv (pinned in the lock), and uv installs the stack: the same versions, several GB of wheels
# downloaded and unpacked in parallel and kept in uv's cache (~/.cache/uv), so the next fresh clone links
# them instead of downloading again (pip took 3-4 minutes here, every time); bytecode is compiled on first
# import (PYTHONPYCACHEPREFIX, above; pip is told not to compile either). INSTALLER=pip: pip alone.
INSTALLER ?= uv
$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIP_ARGS) --upgrade "pip>=24" $(if $(filter uv,$(INSTALLER)),uv)
	$(if $(filter uv,$(INSTALLER)),$(BIN)/uv pip install --quiet --python $(BIN)/python,$(BIN)/python -m pip install --quiet --no-compile) \
	  $(PIP_ARGS) -e ".[$(TF_EXTRA),dev]"
	@touch $@

# JupyterLab opens your workspace (WORKSPACE, default workspace/, ignored by git): filled from notebooks/ on
# first start, never overwritten afterwards; lessons a course update adds appear beside your files.
# An asset that cannot be fetched does not keep the course closed: the lesson that needs it says so.
lab: setup
	@$(BIN)/python -m tlcourse profile >/dev/null  # a bad TLCOURSE_PROFILE stops here, in one line
	$(BIN)/python -m tlcourse fetch --profile $$($(BIN)/python -m tlcourse profile) \
	  || echo "make lab: some assets are missing (see above); the lessons that need them will say what to do." >&2
	$(BIN)/python -m tlcourse.workspace --workspace "$(WORKSPACE)" sync
	$(BIN)/jupyter lab --notebook-dir="$(WORKSPACE)" $(ROOT_ARG) $(LAB_ARGS)

# `make reset LESSON=03`: the course's copy of one lesson back into the workspace; yours is moved aside
# (renamed <name>.before-reset-<time>.ipynb), never deleted.
.PHONY: reset
reset: setup
	@test -n "$(LESSON)" || { echo "usage: make reset LESSON=03" >&2; exit 2; }
	$(BIN)/python -m tlcourse.workspace --workspace "$(WORKSPACE)" reset "$(LESSON)"

# Two tests are left to `make unit`, because a lesson in the same run does the same work and asserts the same:
# tests/test_scaling.py (solutions/09 makes the same three launches: ranks, replicas, the single process's
# losses and weights) and tl.memory's three training processes (lesson 04 starts them on the real model and
# asserts each trained what it says, by the notebook's own counts; the unit test checks a hand-computed count).
test: setup
	$(BIN)/python -m tlcourse fetch --profile smoke
	TLCOURSE_PROFILE=smoke $(BIN)/python -m pytest tests solutions $(NBVAL) $(XDIST) --durations=25 \
	  --ignore=tests/test_scaling.py \
	  --deselect tests/test_memory.py::test_each_mode_trains_what_it_says_in_its_own_process

# Every student notebook in JupyterLab in Chromium (make test runs the solution copies of lesson 00 and of the
# lessons with widgets there, instead of under nbval: conftest.py).
test-browser: setup
	$(BIN)/python -m tlcourse fetch --profile smoke
	TLCOURSE_BROWSER=all TLCOURSE_PROFILE=smoke $(BIN)/python -m pytest tests/test_browser.py

# Unit tests write only into a temporary asset cache, TORCH_HOME and HF_HOME (tests/conftest.py), seeded with
# copies of what your cache already holds; anything else they need is fetched there, never into ~/.cache.
unit: setup
	TLCOURSE_PROFILE=smoke $(BIN)/python -m pytest tests

notebooks: setup
	TLCOURSE_PROFILE=smoke $(BIN)/python -m pytest notebooks solutions $(NBVAL)

build: setup
	$(BIN)/python -m tlcourse build

# ruff, and no `# fmt:` comments: the line style is made by hand and no formatter runs (CONTRIBUTING.md).
lint: setup
	$(BIN)/ruff check tlcourse tests scripts benchmarks conftest.py notebooks solutions
	$(BIN)/python scripts/lint_fmt.py

# `make verify [LESSON=03 | LESSON="02 03"] [SEEDS=5]`: run solution notebooks top to bottom (fresh kernel
# each, no output timeout) in $$TLCOURSE_PROFILE (default cpu), seeds 42, 43, ... (default 5 seeds in cpu,
# 3 in smoke, 1 in full; the ledger and arguments are checked first); merge times and recorded
# numbers into docs/results.json and docs/results.md. Fails when a notebook fails. Run it alone on the machine.
verify: setup
	$(BIN)/python scripts/verify.py --check --profile $${TLCOURSE_PROFILE:-cpu} --lessons $(or $(LESSON),all) $(if $(SEEDS),--seeds $(SEEDS))
	$(BIN)/python -m tlcourse fetch --profile $${TLCOURSE_PROFILE:-cpu}
	$(BIN)/python scripts/verify.py --profile $${TLCOURSE_PROFILE:-cpu} --lessons $(or $(LESSON),all) $(if $(SEEDS),--seeds $(SEEDS))

# On a GPU machine: every solution notebook on a GPU kernel in the full profile, into the same ledger as verify
# (refuses to run without a CUDA GPU). `make gpu-check [LESSON=03] [SEEDS=1]`.
gpu-check: setup
	$(BIN)/python -m tlcourse fetch --profile full
	$(BIN)/python scripts/gpu_check.py --lessons $(or $(LESSON),all) --seeds $(or $(SEEDS),1)

# The recipes against their limits on this machine: benchmarks/results.{json,md} and README's Performance table.
# A measurement, not a test: run it alone on the machine.
bench: setup
	$(BIN)/python -m tlcourse fetch --profile cpu
	$(BIN)/python benchmarks/bench.py

# The course as a static HTML site (executed student notebooks, smoke profile by default) in build/site/,
# with a self-contained slide deck per lesson in build/site/slides/ (scripts/build_slides.py).
site: setup
	$(BIN)/python -m tlcourse fetch --profile $${TLCOURSE_PROFILE:-smoke}
	$(BIN)/python scripts/build_site.py --profile $${TLCOURSE_PROFILE:-smoke}

# The times a learner reads (each lesson's Time line, the README map) from docs/results.json; rebuilds notebooks/.
times: setup
	$(BIN)/python scripts/sync_times.py
	$(BIN)/python -m tlcourse build

# After `make test` passed: write the venv's exact versions to constraints.txt, add the pins that only macOS
# arm64 and Windows x86_64 need (pip resolves the same stack for each of the three platforms, index metadata
# only, and it fails unless every platform resolves with everything pinned), and README's Tested stack.
# `scripts/lock.py --platforms` checks an existing lock the same way without rewriting it. Both need the
# package index and took 2-4 minutes here (README "Supported platforms"): so only here, not in `make test`.
lock: setup
	$(BIN)/python scripts/lock.py
	@touch $(STAMP)  # the venv is what the new lock says: no reinstall on the next make

# On a connected machine (any Python >= 3.11 with pip; no course venv needed): every wheel of the locked stack
# in one folder (WHEELHOUSE, default wheelhouse/), for PLATFORM (a pip platform tag, e.g. manylinux_2_28_x86_64)
# and PYTHON_VERSION (e.g. 3.11); both default to this machine. Install from it offline: `make setup WHEELS=<folder>`.
WHEELHOUSE ?= wheelhouse
wheelhouse:
	$(PYTHON) scripts/wheelhouse.py --dest $(WHEELHOUSE) --extra $(TF_EXTRA) \
	  $(if $(PYTHON_VERSION),--python $(PYTHON_VERSION)) $(if $(PLATFORM),--platform $(PLATFORM))

clean:
	rm -rf $(VENV) build
