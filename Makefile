# make run   sets everything up from nothing and serves on 127.0.0.1:$(PORT)
# make test  runs the whole test suite (on PostgreSQL when DATABASE_URL says so)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
SCALE ?= full
KEYS_FILE := .local/field-encryption-keys
# The development server reaches only loopback unless told otherwise: the demo data
# names hosted systems, and a click on "Test connection" should not reach them.
OUTBOUND_LOOPBACK_ONLY ?= 1

.PHONY: run test lint format install migrate seed

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed

# A development key for stored secrets, outside version control. Production sets
# FIELD_ENCRYPTION_KEYS instead, and refuses to start without it.
$(KEYS_FILE): | $(BIN)/.installed
	mkdir -p $(dir $@)
	umask 077 && $(BIN)/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" > $@

migrate: install $(KEYS_FILE)
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py ensure_admin

run: seed
	@echo ""
	@echo "  Pages:  http://127.0.0.1:$(PORT)/"
	@echo "  Admin:  http://127.0.0.1:$(PORT)/admin/   (user: admin)"
	@echo "  API:    http://127.0.0.1:$(PORT)/api/     (docs: /api/docs, schema: /api/schema)"
	@echo "  Health: http://127.0.0.1:$(PORT)/healthz"
	@echo ""
	OUTBOUND_LOOPBACK_ONLY=$(OUTBOUND_LOOPBACK_ONLY) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# make bench  times the product against a floor without Django on a database of its
# own (SCALE=small for a tenth of the data, KEEP=1 to keep the database)
.PHONY: bench
bench: install
	SCALE=$(SCALE) $(BIN)/python -m bench.run

# Fuzz every API operation against a live server on loopback (schemathesis), as a team
# member and as staff. EXAMPLES bounds the generated cases per operation.
.PHONY: check-api
check-api: EXAMPLES ?= 25
check-api: install
	$(BIN)/python taxpoynt/tests/check_api.py --examples $(EXAMPLES)
