# BlueLedger: `make run` to try it, `make test` to check it. Both install what is missing.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app crm:create_app
PORT ?= 5000
STAMP := $(VENV)/.installed

.PHONY: run test deps sysdeps sysdeps-test translations messages migration worker clean

$(STAMP): requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	@touch $(STAMP)

deps: $(STAMP)

sysdeps: deps
	@$(PY) -m crm.system_check --install

sysdeps-test: deps
	@$(PY) -m crm.system_check --install --browser

# Compiled catalogues are build output (.mo files are not committed).
translations: deps
	@$(PY) -m crm.catalogs compile

# After changing user-visible strings: extract them into each feature's catalog, then translate.
messages: deps
	$(PY) -m crm.catalogs extract

# After changing models: write a new Alembic revision (review it before committing).
migration: deps
	$(FLASK) db migrate -m "$(or $(m),schema change)"

run: sysdeps translations
	$(FLASK) db upgrade
	$(FLASK) crm seed-demo
	@echo
	@echo "  BlueLedger is starting on http://127.0.0.1:$(PORT)  (Ctrl-C stops web and worker)"
	@echo "  sign in with one of the demo logins printed above"
	@$(if $(MAIL_SERVER),echo "  mail goes to $(MAIL_SERVER)",echo "  mail is caught locally: instance/mail/*.eml (no MAIL_SERVER set)")
	@echo
	@# Ctrl-C stops honcho's processes; the trap then stops the embedded Redis, if one was started.
	trap '$(PY) -m crm.embedded_redis stop' EXIT; \
	  PATH="$(abspath $(VENV))/bin:$$PATH" BIND_ADDRESS=127.0.0.1 $(VENV)/bin/honcho start -f Procfile -p $(PORT) web worker $(if $(MAIL_SERVER),,mailcatcher)

worker: deps translations
	$(PY) worker.py

test: sysdeps-test translations
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
