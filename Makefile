# Two commands on a fresh machine: `make run` (the product with its demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install browser run web worker beat test test-external fuzz screenshots bench stop token

$(INSTALLED): requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Vitrine needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(INSTALLED)

install: $(INSTALLED)

# The browser tests drive Debian's Chromium: installed when absent (the product itself needs no browser).
browser:
	./bin/setup-browser

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py setup_demo
	./bin/run-all

web: install
	$(BIN)/gunicorn config.wsgi --bind $${VITRINE_BIND:-127.0.0.1:8000} --access-logfile -

worker: install
	$(BIN)/celery --app config worker --queues default,score,train --loglevel INFO

beat: install
	$(BIN)/celery --app config beat --loglevel INFO

test: install browser
	$(BIN)/pytest

# The tests of the database, cache and broker settings again, on PostgreSQL and Redis reached over TCP as in
# production (bin/test-external); EXTERNAL_TESTS=... runs others.
EXTERNAL_TESTS ?= tests/config tests/catalog -m "not browser"
test-external: install
	./bin/test-external $(EXTERNAL_TESTS)

# The API fuzz test with many generated requests and a new seed each run (`make test` runs a bounded, fixed-seed pass).
fuzz: install
	VITRINE_FUZZ_EXAMPLES=$${VITRINE_FUZZ_EXAMPLES:-300} VITRINE_FUZZ_SEED=random $(BIN)/pytest tests/test_api_fuzz.py

# The README's console screenshots, taken by the browser tests that drive those pages (each test leaves its
# screenshot in test-artifacts/screenshots/).
SHOTS := test-artifacts/screenshots
screenshots: install browser
	$(BIN)/pytest -q tests/browser/test_preview_cards.py::test_the_draft_column_shows_new_moved_and_removed_cards_in_words \
		tests/browser/test_audit_revert.py tests/browser/test_experiments.py \
		tests/browser/test_preview_cards.py::test_the_preview_shows_cards_with_an_image_a_price_and_a_clamped_title
	mkdir -p docs/screenshots
	cp $(SHOTS)/test_the_draft_column_shows_new_moved_and_removed_cards_in_words.png docs/screenshots/preview-draft.png
	cp $(SHOTS)/test_the_preview_shows_cards_with_an_image_a_price_and_a_clamped_title.png docs/screenshots/preview-cards.png
	cp $(SHOTS)/test_a_retitle_is_shown_as_a_diff_in_the_audit_log_and_reverted_in_one_click.png docs/screenshots/audit-revert.png
	cp $(SHOTS)/test_a_draft_is_tested_started_and_shipped_from_the_console.png docs/screenshots/experiment.png

# The benchmarks' own tools (locust), kept out of the product's requirements.txt.
$(VENV)/.bench-installed: bench/requirements.txt $(INSTALLED)
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	touch $@

bench: install $(VENV)/.bench-installed
	$(BIN)/python -m bench

stop: install
	$(BIN)/python -m config.embedded stop

token: install
	$(BIN)/python manage.py create_api_token "storefront" --shop $${SHOP:-default}
