# The two commands of the README: `make run` and `make test`. Everything else is optional.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium

.PHONY: run test lint emulator iac-linters chromium screenshot quality bench bench-jobs bench-jobs-aws chaos clean

$(STAMP): pyproject.toml setup.py src/levelforge/generation/_core.pyx
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Orchestrator + 2 Workers on the embedded default (SQLite, local queue, inline results)
run: $(STAMP)
	$(BIN)/levelforge serve --host 127.0.0.1 --port $${PORT:-8000} --workers $${WORKERS:-2}

## lint, type-check and the whole test suite, with every service the tests use
test: $(STAMP) chromium emulator iac-linters lint
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts deploy
	$(BIN)/mypy

## ministack, the local AWS emulator of the AWS tests, in its own .emu/ virtualenv
emulator:
	scripts/install-emulator.sh

## cfn-lint and checkov, the CloudFormation template's linters, in their own .iac/ virtualenv
iac-linters:
	scripts/install-iac-linters.sh

## Debian's Chromium for the viewer's browser tests (no browser download: see shared/BROWSER.md)
chromium:
	@test -x $(CHROMIUM) || (apt-get update && apt-get install -y chromium)

## docs/viewer.png from a real run
screenshot: $(STAMP) chromium
	$(BIN)/python scripts/screenshot.py

## the generator's quality sweep: 10,000 seeds through the independent checker
quality: $(STAMP)
	$(BIN)/python benchmarks/quality.py

## the generator's speed against python-tcod's BSP (see benchmarks/README.md)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/bench_generation.py

## the job-throughput benchmark against Celery + Redis (see benchmarks/README.md)
BENCH_JOBS_ARGS ?=
bench-jobs: $(STAMP)
	command -v redis-server >/dev/null || (apt-get update && apt-get install -y redis-server)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]' -r benchmarks/requirements-peer.txt
	$(BIN)/python benchmarks/bench_jobs.py $(BENCH_JOBS_ARGS)

## the same burst on the AWS backends (ministack): CPU per process and where the time goes
BENCH_JOBS_AWS_ARGS ?=
bench-jobs-aws: $(STAMP) emulator
	$(BIN)/python benchmarks/bench_jobs_aws.py $(BENCH_JOBS_AWS_ARGS)

## fault campaigns on SQLite and AWS/ministack (benchmarks/chaos/README.md);
## CHAOS_ARGS=--short for about 12 minutes; the full run includes two 30-minute soaks
CHAOS_ARGS ?=
chaos: $(STAMP) emulator
	$(BIN)/python -m benchmarks.chaos $(CHAOS_ARGS)
	WEBHOOK_KILL_ROUNDS=50 $(BIN)/pytest -q -p no:cacheprovider --timeout 900 \
		tests/e2e/test_webhooks.py tests/aws/test_aws_webhooks.py -k killed

clean:
	rm -rf $(VENV) .emu .iac .pytest_cache .mypy_cache .ruff_cache levelforge.db*
