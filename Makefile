# One-command entry points for a fresh machine (see README).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA   ?= ../shared/data

.PHONY: install lint test demo bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# the CPU build of PyTorch that lies on this machine's disk, before the 'neural' extra's open range asks for one
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[all,dev]"
	touch $@

install: $(BIN)/.installed

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

demo: install
	$(BIN)/cofirec demo --data-dir $(DATA)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
