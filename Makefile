# storechat — `make run` starts the whole system with the demo shop,
# `make test` runs every test. Both set up what they need on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := run

VENV      := .venv
BOT_VENV  := .venv-bot
PY        := $(VENV)/bin/python
PIP_FLAGS := --quiet --disable-pip-version-check --no-input
# Compiled (and pytest's assertion-rewritten) modules are kept between runs, even where the
# environment says otherwise: recompiling every test module costs each run ~8 s.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: run test test-fast setup train evaluate bench bench-handoff bench-webhooks bench-complaints bench-reports bench-flood chaos typecheck system-deps clean

$(VENV)/.installed: pyproject.toml
	@echo "==> gateway environment ($(VENV), Python 3.11)"
	@test -x $(PY) || $$(scripts/find-python.sh 3.11) -m venv $(VENV)
	@$(PY) -m pip install $(PIP_FLAGS) -e '.[test]' 2> >(grep -v "^WARNING: Location" >&2)
	@touch $@

$(BOT_VENV)/.installed: bot/requirements.txt
	@echo "==> bot environment ($(BOT_VENV), Python 3.10, Rasa Open Source 3.6) — takes a few minutes the first time"
	@test -x $(BOT_VENV)/bin/python || $$(scripts/find-python.sh 3.10) -m venv $(BOT_VENV)
	@$(BOT_VENV)/bin/pip install $(PIP_FLAGS) -r bot/requirements.txt 2> >(grep -v -e "^WARNING: Location" -e "DEPRECATION" >&2)
	@touch $@

node_modules/.installed: package.json package-lock.json
	@echo "==> widget dependencies (npm)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.installed $(BOT_VENV)/.installed node_modules/.installed

# Trains only when the training data changed (fingerprint under bot/models/).
train: setup
	@$(VENV)/bin/storechat train

run: train
	@$(VENV)/bin/storechat run

# Debian's Chromium for the browser tests (never a browser download).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { echo "==> installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Everything: mypy first (its own step), then every test, Rasa and the browser included.
test: train system-deps typecheck
	@$(PY) -m pytest

# The edit–test loop, about a minute: no Rasa, no browser, nothing slow (no model, no Chromium
# needed), one pytest worker per core (each with its own Redis).
test-fast: setup
	@$(PY) -m pytest -m "not rasa and not browser and not slow" -n auto

# How well the bot understands shoppers: the held-out set in bot/tests/ (never trained on).
evaluate: train
	@cd bot && ../$(BOT_VENV)/bin/python evaluate.py

# Speed of a whole storechat turn against a stock `rasa init` assistant (benchmarks/).
bench: train
	@$(PY) benchmarks/bot_turns.py

# Handoff → visible in 50 agents' consoles across two gateway processes (benchmarks/).
bench-handoff: train
	@$(PY) benchmarks/handoff_latency.py

# Signed Twilio webhooks/s one gateway process accepts, against a bare aiohttp handler (benchmarks/).
bench-webhooks: setup
	@$(PY) benchmarks/webhook_ingest.py

# Complaint themes of 2,000 complaints, and the feedback classifier on its held-out file (benchmarks/).
bench-complaints: setup
	@$(PY) benchmarks/complaints.py

# Every report over 90 days × 2,000 conversations a day, and what keeping the rollups costs (benchmarks/).
bench-reports: setup
	@$(PY) benchmarks/reports.py

# Issue 14's web chat floods (one socket, one address, session_requests, typing) against the shipped limits (benchmarks/).
bench-flood: setup
	@$(PY) benchmarks/flood.py

# Issue 13's faults — kill -9 of a gateway, a Redis restart, Rasa killed or stopped, a failing
# SMS/Meta provider — against the real system: nothing acknowledged lost or doubled, nobody left in silence (benchmarks/).
chaos: train
	@$(PY) benchmarks/chaos.py

typecheck: setup
	@$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(BOT_VENV) node_modules var bot/models
