# Two commands for a new user: `make run` (the demo, nothing to install) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT
# honcho gives each process its own PORT; the simulator must send webhooks to the web process.
PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
export PUBLIC_BASE_URL
# The channel simulator's port (Procfile, seed_demo_channels and config/settings.py read it).
SIMULATOR_PORT ?= 8765
export SIMULATOR_PORT
# Two processes on two cores; tests that start Celery workers share one (loadgroup).
PYTEST_ARGS ?= -n 2 --dist loadgroup

.PHONY: run preflight test install migrate lint check-deploy screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when requirements.txt changes.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

# A busy port is one line naming the variable to set, checked before anything starts (rather than a
# traceback from the one process that cannot bind, which makes honcho stop them all). Standard library only.
preflight:
	@$(PYTHON) -m simulator.preflight PORT=$(PORT) SIMULATOR_PORT=$(SIMULATOR_PORT)

# The demo's channels are served by the local simulator on 127.0.0.1, which core/outbound.py refuses
# unless private targets are allowed (the default only while DEBUG is on): say so explicitly for the demo.
run: export ALLOW_PRIVATE_OUTBOUND ?= 1
run: preflight migrate
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py seed_demo_catalogue
	$(BIN)/python manage.py seed_demo_channels
	$(BIN)/python manage.py seed_demo_workflows
	$(BIN)/python manage.py seed_tracking_demo
	$(BIN)/honcho start -f Procfile -p $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests, refreshing the screenshots README and docs/ show.
screenshots: install
	BROWSER_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest tests/browser -q

lint: install
	$(BIN)/ruff check .

# Django's deployment checklist under production settings (a throwaway key; set yours in production).
check-deploy: install
	DEBUG=0 SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(60))')" \
	FIELD_ENCRYPTION_KEYS="$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
	ALLOWED_HOSTS=$${ALLOWED_HOSTS:-hub.example.com} $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var .pytest_cache
