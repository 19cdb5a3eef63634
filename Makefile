# One entry point for learners, instructors and CI. Run `make help` for the list.
#   make lab   set up (if needed) and open the course in JupyterLab
#   make test  set up (if needed) and run every test

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAB_PORT ?= 8888
LAB_ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
NOTEBOOKS := $(shell $(PYTHON) tools/course.py chapters)

.PHONY: help setup lab test refresh bench clean lock wheelhouse check drift

help:
	@echo "make lab      set up, update your copies in learner/ and open them in JupyterLab (http://127.0.0.1:$(LAB_PORT)/lab)"
	@echo "make reset CHAPTER=03  a fresh learner copy of one chapter (yours is kept as a backup)"
	@echo "make test     set up and run all tests (helpers, notebooks with nbval, site)"
	@echo "make site     build the website into docs/_build/html (offline, from committed outputs)"
	@echo "make refresh  re-execute every notebook in place (updates the committed outputs)"
	@echo "make bench    time the notebook suite against its floor"
	@echo "make bench-copies    re-measure chapter 08's copy costs (notebooks/data/08_cost_sweep.json, ~4 min)"
	@echo "make bench-snapshot  Snapshot.refresh() against the memory-copy floor at 50M parameters"
	@echo "make lock     re-resolve requirements.in into requirements.lock and environment.yml"
	@echo "make check    pre-workshop check: versions, a kernel, a quiz and a figure; prints ready"
	@echo "make wheelhouse [PLATFORM=…]  download every pinned wheel into wheelhouse/<platform>/"
	@echo "make drift TORCH=2.14.1       run every notebook against another torch release"
	@echo "make clean    remove the virtual environment and build outputs"

# The venv is rebuilt from scratch whenever the lock changes. tools/install.py installs exactly
# the lock (CPU-only torch), from wheelhouse/<platform>/ or $(WHEELHOUSE) when there is one.
WHEELHOUSE ?=
$(STAMP): requirements.lock
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python tools/install.py $(if $(WHEELHOUSE),--wheelhouse "$(WHEELHOUSE)",)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python tools/lab_settings.py
	@# Fill mypy's cache of the pinned packages' types once per environment (about 15 s, like
	@# pip compiling .pyc files at install); `make test` then type-checks helpers/ in about 1 s.
	@# Findings are not set-up's business: tests/test_lint.py reports them.
	@$(BIN)/python -m mypy >/dev/null || true
	touch $(STAMP)

setup: $(STAMP)

# Learners work in copies generated from notebooks/ into $(LEARNER) (git-ignored): outputs
# cleared, exercise solutions replaced by stubs. A copy the learner edited is never overwritten.
LEARNER ?= learner

lab: $(STAMP)
	@$(BIN)/python tools/lab_settings.py
	$(BIN)/python tools/learner.py update --target $(LEARNER)
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
		--ServerApp.root_dir=$(abspath $(LEARNER)) \
		--LabApp.default_url=/lab/tree/$(notdir $(firstword $(NOTEBOOKS))) $(LAB_ARGS)

# make reset CHAPTER=03: a fresh learner copy of one chapter; the old one stays as a backup.
.PHONY: reset
reset: $(STAMP)
	@test -n "$(CHAPTER)" || { echo "usage: make reset CHAPTER=03  (a fresh copy of chapter 03; yours is kept as a backup)"; exit 2; }
	$(BIN)/python tools/learner.py reset $(CHAPTER) --target $(LEARNER)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder

# Widget state is never stored: it changes on every run and nothing needs it (quizzes store HTML).
refresh: $(STAMP)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.record_timing=False \
		--ExecutePreprocessor.store_widget_state=False \
		--ExecutePreprocessor.timeout=120 $(NOTEBOOKS)
	$(BIN)/python tools/learner.py clean $(NOTEBOOKS)

bench: $(STAMP)
	$(BIN)/python tools/bench.py

.PHONY: bench-copies bench-snapshot
bench-copies: $(STAMP)
	$(BIN)/python tools/bench_copies.py

bench-snapshot: $(STAMP)
	$(BIN)/python tools/bench_copies.py --snapshot-only

lock:
	$(PYTHON) tools/lock.py

# ---- classroom and other versions (tools/ready.py, wheelhouse.py, drift.py) -----------------
check: $(STAMP)
	$(BIN)/python tools/ready.py

PLATFORM ?=
wheelhouse: $(STAMP)
	$(BIN)/python tools/wheelhouse.py $(if $(PLATFORM),--platform $(PLATFORM),)

# Not part of `make test`: builds (once, cached) a venv with another torch and runs every notebook.
# TORCH_INDEX=https://download.pytorch.org/whl/cpu takes a CPU build where that index is reachable.
TORCH ?=
TORCH_INDEX ?=
drift: $(STAMP)
	@test -n "$(TORCH)" || { echo "usage: make drift TORCH=2.14.1 [TORCH_INDEX=url]"; exit 2; }
	$(BIN)/python tools/drift.py --torch $(TORCH) $(if $(TORCH_INDEX),--torch-index $(TORCH_INDEX),)

clean:
	rm -rf $(VENV) docs/_build .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# ---- course website (docs/): built from the committed outputs, never re-executed -------------
# Offline: quizzes are plain HTML and no page needs JavaScript of its own (nothing from npm or a
# CDN). A failed build drops its cache, so the next build reports the same warnings again.
.PHONY: site
site: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html \
		|| { rm -rf docs/_build/html/.doctrees; exit 1; }
	@echo "site: docs/_build/html/index.html"
