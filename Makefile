# capgen — common tasks. `make install` once, then `make generate` / `make test`.
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
CAPGEN ?= $(PYTHON) -m generator

.PHONY: install generate check test nightly lint corpus bench clean

install:
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -e '.[test]'

generate:
	$(CAPGEN) generate capabilities --out generated

check:
	$(CAPGEN) generate capabilities --out generated --check -q
	$(PYTHON) -m ruff check generated
	$(PYTHON) -m black --check -q generated

test:
	$(PYTHON) -m pytest -q

nightly:
	CAPGEN_HYPOTHESIS_PROFILE=nightly $(PYTHON) -m pytest -q tests/test_property.py

lint:
	$(PYTHON) -m ruff check generator generated tests
	$(PYTHON) -m black --check -q generator generated

corpus:
	$(PYTHON) scripts/corpus.py

bench:
	$(PYTHON) bench/bench.py

clean:
	rm -rf .pytest_cache .ruff_cache corpus-report.md bench/results.json
