# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint check bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --no-input
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py load_demo
	# The worker (evaluations, webhook deliveries, planned releases) runs beside the
	# web server and stops with it.
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(STAMP)
	$(BIN)/python -m ruff check .
	DEBUG=true $(BIN)/python manage.py check
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $${TEST_WORKERS:-2} $${PYTEST_ARGS:-}

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

# The scale benchmark at 10,000 prompts on SQLite, a few minutes; see bench/README.md.
bench: $(STAMP)
	$(BIN)/python bench/scale.py $${BENCH_ARGS:-}

clean:
	rm -rf $(VENV) var staticfiles
