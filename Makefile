# Two commands: `make run` starts everything, `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
PORT ?= 8000

.PHONY: run test venv migrate seed lint bench clean

# Reuse .venv while requirements are unchanged; reinstall when they change.
$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)
	@mkdir -p var

run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_periodic_tasks
	$(BIN)/python manage.py seed_demo
	PORT=$(PORT) bash scripts/run.sh

# Debian's Chromium drives the browser tests; Playwright's own download is not reachable here.
/usr/bin/chromium:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Install Debian's chromium (sudo apt-get install chromium) for the browser tests."; exit 1; fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

test: venv /usr/bin/chromium lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: venv
	@echo "See bench/README.md: each script prints its figures next to its target."

clean:
	rm -rf $(VENV) var
