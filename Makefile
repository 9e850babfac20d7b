SHELL := /bin/bash
# Two commands on a fresh machine: `make run` and `make test`.
# Everything else here is what those two need, kept incremental with stamps.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PY_STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run test setup lint sealer check-sealer regions translations lock bench clean

setup: $(PY_STAMP) $(NODE_STAMP) translations

$(PY_STAMP): pyproject.toml requirements/review.txt requirements/server.txt requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Compiled catalogs are build output (not committed); sources are the .po files.
translations: $(PY_STAMP)
	@if [ -d tipbox/translations ]; then $(BIN)/pybabel -q compile -d tipbox/translations; fi

# Rebuild the committed browser sealer from package-lock.json.
sealer: $(NODE_STAMP)
	node crypto/js/build.mjs

# Copy the official region codes from the pinned npm package (a test checks they match).
regions: $(NODE_STAMP)
	cp node_modules/idn-area-data/data/provinces.csv node_modules/idn-area-data/data/regencies.csv crypto/data/regions/

check-sealer: $(NODE_STAMP)
	node crypto/js/build.mjs --check

run: setup
	$(BIN)/tipbox init
	$(BIN)/tipbox demo-setup --url http://$(HOST):$(PORT)/
	$(BIN)/gunicorn --config tipbox/gunicorn_conf.py --bind $(HOST):$(PORT) wsgi:app

test: setup
	$(MAKE) --no-print-directory check-sealer
	node --test crypto/js/test/
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check crypto tipbox review_cli tests bench migrations
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/envelope.py

# Re-resolve the pinned Python dependencies from pyproject.toml (needs network).
lock:
	rm -rf /tmp/tipbox-lock && $(PYTHON) -m venv /tmp/tipbox-lock
	/tmp/tipbox-lock/bin/pip install --quiet . && /tmp/tipbox-lock/bin/pip freeze --exclude tipbox > /tmp/tipbox-lock/review
	/tmp/tipbox-lock/bin/pip install --quiet ".[server]" && /tmp/tipbox-lock/bin/pip freeze --exclude tipbox > /tmp/tipbox-lock/server
	/tmp/tipbox-lock/bin/pip install --quiet ".[server,dev]" && /tmp/tipbox-lock/bin/pip freeze --exclude tipbox > /tmp/tipbox-lock/dev
	{ echo "# Pinned: reviewer's offline install. Regenerate with: make lock"; cat /tmp/tipbox-lock/review; } > requirements/review.txt
	{ echo "# Pinned: server (tipbox[server]). Regenerate with: make lock"; echo "-r review.txt"; comm -13 <(sort /tmp/tipbox-lock/review) <(sort /tmp/tipbox-lock/server); } > requirements/server.txt
	{ echo "# Pinned: tests and tools. Regenerate with: make lock"; echo "-r server.txt"; comm -13 <(sort /tmp/tipbox-lock/server) <(sort /tmp/tipbox-lock/dev); } > requirements/dev.txt

clean:
	rm -rf $(VENV) node_modules .pytest_cache

# Re-extract the source strings (tipbox/translations/babel.cfg) and merge them into every catalog.
# New or changed strings then need translating in the id catalog (no fuzzy
# entries; tests/tipbox/test_i18n.py checks), and `make translations` compiles.
.PHONY: messages
messages: $(PY_STAMP)
	$(BIN)/pybabel extract -F tipbox/translations/babel.cfg -k _l -k lazy_gettext --add-comments=TRANSLATORS: \
		--project=tipbox --copyright-holder="tipbox contributors" -o tipbox/translations/messages.pot tipbox
	$(BIN)/pybabel update --no-fuzzy-matching -i tipbox/translations/messages.pot -d tipbox/translations

# Load benchmark: tipbox under gunicorn + PostgreSQL + Redis against a bare insert endpoint (bench/README.md).
.PHONY: bench-load
bench-load: setup
	$(BIN)/python bench/load.py

# Mutation testing (docs/testing.md): mutmut on the security-critical modules, then a report of
# the survivors. Not part of `make test` or CI. On 2 cores: MUTATE=crypto ~6 min, everything >1 h.
# Narrow it with MUTATE, e.g. `make mutate MUTATE=crypto/header.py` or `MUTATE="crypto tipbox/security"`.
# Starts from scratch each time (mutmut's cache in mutants/ would keep stale verdicts).
MUTATE ?=
.PHONY: mutate
mutate: setup
	rm -rf mutants && mkdir mutants && ln -s ../node_modules mutants/node_modules
	$(BIN)/python tests/mutation/mutate.py run $(MUTATE)
	$(BIN)/python tests/mutation/mutate.py report $(MUTATE)
