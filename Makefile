# kycreview: the two commands (`make run`, `make test`) and the checks around them.
# GNU make; needs only Python >= 3.11 on the PATH (python3.11, else python3).

.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV        := .venv
VPY         := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
HOST        ?= 127.0.0.1
PORT        ?= 8000
PYTEST_ARGS ?=
# The interpreter that creates the venv; override with `make PYTHON=/path/to/python3.x ...`.
ifeq ($(origin PYTHON),undefined)
PYTHON      := $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
endif

.PHONY: help venv var-dir run test lint fmt messages clean

help:
	@echo "make run       create .venv, migrate, load the demo data, start web + worker + beat"
	@echo "               (HOST=$(HOST) PORT=$(PORT); Ctrl-C stops everything)"
	@echo "make test      run the whole test suite (extra pytest arguments: PYTEST_ARGS=...)"
	@echo "make lint      ruff check, ruff format --check, mypy, lint-imports (the layers)"
	@echo "make fmt       ruff format and ruff check --fix"
	@echo "make messages  update and compile the zh_Hans and en translations"
	@echo "make clean     remove .venv and the tool caches (keeps var/: database and documents)"

venv: $(STAMP)

# Runtime data (SQLite files, the embedded Redis socket, documents); SQLite cannot create the
# directory of its database file itself.
var-dir:
	@mkdir -p "$${KYCREVIEW_VAR_DIR:-var}"

# The venv itself. A half-made one (e.g. no ensurepip) is removed so the next run starts clean.
$(VPY):
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: no python3.11 or python3 on the PATH; install Python 3.11 or newer." >&2; \
		exit 1; \
	fi
	@"$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "error: kycreview needs Python 3.11 or newer; $(PYTHON) is" \
			"$$("$(PYTHON)" -V 2>&1 || echo 'not runnable')." >&2; \
		echo "       Install Python 3.11+ or run: make PYTHON=/path/to/python3.11 ..." >&2; \
		exit 1; \
	}
	@echo "Creating $(VENV) with $(PYTHON) ($$("$(PYTHON)" -V 2>&1))"
	@"$(PYTHON)" -m venv $(VENV) || { \
		rm -rf $(VENV); \
		echo "error: '$(PYTHON) -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)." >&2; \
		exit 1; \
	}

# Installed once per change of requirements.txt; a second run reuses what is there.
$(STAMP): requirements.txt | $(VPY)
	$(VPY) -m pip install --disable-pip-version-check --quiet -r requirements.txt
	@touch $@

# The dev stack runs with DEBUG=1: the built-in development keys are refused without it.
# devstack runs `manage.py seed_demo` itself, once Redis is up: the demo cases queue
# notifications, which would otherwise fail one by one against a broker that is not there yet.
run: export DEBUG := 1
run: $(STAMP) var-dir
	$(VPY) manage.py migrate --noinput
	$(VPY) -m kycreview.devstack --host "$(HOST)" --port "$(PORT)" --seed-demo

test: $(STAMP) var-dir
	$(VPY) -m pytest $(PYTEST_ARGS)

# All three run even when one fails, so one pass shows every finding. mypy's Django plugin loads
# the settings, which need DEBUG=1 for their development keys.
lint: export DEBUG := 1
lint: $(STAMP)
	@status=0; \
	echo "$(VENV)/bin/ruff check ."; $(VENV)/bin/ruff check . || status=1; \
	echo "$(VENV)/bin/ruff format --check ."; $(VENV)/bin/ruff format --check . || status=1; \
	echo "$(VENV)/bin/mypy ."; $(VENV)/bin/mypy . || status=1; \
	echo "$(VENV)/bin/lint-imports"; $(VENV)/bin/lint-imports || status=1; \
	exit $$status

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# manage.py is django-admin with our settings and the project on the path.
messages: export DEBUG := 1
messages: $(STAMP)
	$(VPY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=var --ignore=tests --ignore=bench
	$(VPY) manage.py compilemessages --ignore=.venv --ignore=var

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache .grimp_cache
	rm -f var/test-*.sqlite3 var/test-*.sqlite3-wal var/test-*.sqlite3-shm
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
