# epollkit: the two commands a reader needs are `make lab` and `make test`; `make site` builds the book.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.installed-test-stamp
NBVAL  := --nbval-lax --nbval-current-env --nbval-cell-timeout=180 \
          --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: lab test unit notebooks site execute record bench lint venv clean fuzz interrupts

venv: $(STAMP)

# The reader's set: what reading and running the notebooks need (make lab).
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# The tests' and the book's tools on top (make test, make site).
$(TEST_STAMP): $(STAMP) requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $(TEST_STAMP)

# root (containers, CI machines) must say --allow-root; only loopback is served
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)  ## open JupyterLab on the first notebook
	$(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 $(ALLOW_ROOT) notebooks/00_start_here.ipynb

# make test runs the suite in two parts. First the tests that execute the notebooks in kernels of their own
# and mostly wait for them -- in JupyterLab in Chromium (live), on a simulated machine without epoll and on
# Windows and macOS (recorded results) -- and the book and Binder builds: two pytest workers
# (pytest-xdist), the browser's notebooks in one of them. Then everything else one test at a time: the live
# measurements, and every notebook under nbval against its committed outputs.
KERNEL_TESTS := tests/test_browser.py tests/test_no_epoll.py tests/test_other_platforms.py tests/test_site.py \
                tests/test_binder.py

test: $(TEST_STAMP) lint  ## every unit test, every notebook (nbval), the book built and read in Chromium
	$(PY) -m pytest -n 2 --dist loadgroup $(KERNEL_TESTS)
	$(PY) -m pytest tests notebooks $(NBVAL) $(addprefix --ignore=,$(KERNEL_TESTS))

unit: $(TEST_STAMP)
	$(PY) -m pytest tests

fuzz: $(TEST_STAMP)  ## the property-based contract test with 400 examples per property (minutes)
	EPOLLKIT_FUZZ_EXAMPLES=400 $(PY) -m pytest -q tests/test_contract_fuzz.py

interrupts: $(TEST_STAMP)  ## Ctrl-C at 40 moments of every experiment, checking fds, threads and children
	EPOLLKIT_INTERRUPT_MOMENTS=40 $(PY) -m pytest -q tests/test_interrupts.py

notebooks: $(TEST_STAMP)
	$(PY) -m pytest notebooks $(NBVAL)

site: $(TEST_STAMP)  ## the book: HTML from the committed notebooks into build/site/html (offline, no execution)
	$(PY) book/build_site.py --out build/site

execute: $(STAMP)  ## re-run every notebook in place, strip widget metadata
	$(PY) -m epollkit.view.notebook execute notebooks/*.ipynb

record: $(STAMP)  ## refresh the reference results under data/reference
	$(PY) -m epollkit record --out data/reference

bench: $(STAMP)  ## print the performance figures
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

lint: $(TEST_STAMP)
	$(PY) -m ruff check epollkit tests benchmarks notebooks book

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output build/site
