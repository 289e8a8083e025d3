# The book's two commands are `make serve` and `make test`; see README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

export NO_MKDOCS_2_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install test unit examples site linkcheck browser serve gpu-check bench clean

install: $(STAMP)

# Reinstall only when the pinned set or the package metadata changes.
$(STAMP): constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[docs,test]'
	touch $(STAMP)

## Everything: unit tests, every chapter and docstring example, the site, links, the browser.
test: install
	$(BIN)/python -m pytest -m "not browser" tests coursekit docs
	$(BIN)/mkdocs build --strict --quiet
	$(BIN)/python -m bookhooks.linkcheck site
	$(BIN)/python -m pytest -m browser tests/test_browser.py

## Only run the examples on the pages and in docstrings.
examples: install
	$(BIN)/python -m pytest -q coursekit docs

site: install
	$(BIN)/mkdocs build --strict

serve: install
	$(BIN)/python -m bookhooks.portcheck 127.0.0.1 $(PORT)
	$(BIN)/python -m pytest -q coursekit docs
	$(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:$(PORT)

## The CUDA tests and the GPU benchmark, in one short run (on a machine with an NVIDIA GPU).
gpu-check: install
	$(BIN)/python -m pytest -m cuda -rs tests
	$(BIN)/python benchmarks/train_throughput.py --gpu

## Time each stage of `make test` and print the figures.
bench: install
	$(BIN)/python benchmarks/stages.py

clean:
	rm -rf site .cache .pytest_cache .hypothesis
