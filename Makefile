# elmai: every target does its own set-up on a fresh Debian machine.
#   make demo   set up, then run the main job on the embedded default data
#   make test   set up, then run all tests (pytest drives the C++/C and Fortran tests too)
#   make bench  set up, then print benchmark ratios (bench-results/*.json)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# System packages (Debian names) and the commands/files that show they are present.
APT_PACKAGES := gfortran libnetcdf-dev pkg-config cmake ninja-build build-essential openmpi-bin libopenmpi-dev chromium
PY_DEPS := numpy scipy netCDF4 xarray tqdm matplotlib pyyaml global-land-mask pytest ruff "scikit-build-core>=0.10" "pybind11>=2.12" mpi4py SALib captum shap
# DeepSpeed (the --engine deepspeed path): no prebuilt ops, they compile on first use
DS_DEPS := deepspeed
CORE_SOURCES := $(shell find csrc fortran_bridge cmake -type f 2>/dev/null) CMakeLists.txt pyproject.toml

.PHONY: all setup sysdeps elm-deps demo test test-fast bench figures lint clean distclean pretrained fuzz
all: setup

sysdeps: $(VENV)/.sysdeps
$(VENV)/.sysdeps:
	@missing=""; \
	command -v gfortran >/dev/null || missing="$$missing gfortran"; \
	pkg-config --exists netcdf 2>/dev/null || missing="$$missing libnetcdf-dev"; \
	command -v pkg-config >/dev/null || missing="$$missing pkg-config"; \
	command -v cmake >/dev/null || missing="$$missing cmake"; \
	command -v ninja >/dev/null || missing="$$missing ninja-build"; \
	command -v g++ >/dev/null || missing="$$missing build-essential"; \
	command -v mpirun >/dev/null || missing="$$missing openmpi-bin"; \
	command -v mpicc >/dev/null || missing="$$missing libopenmpi-dev"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "[elmai] installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "[elmai] missing system packages:$$missing"; \
	    echo "        install them (Debian: sudo apt-get install$$missing; HPC: module load netcdf-c gcc cmake)"; \
	    exit 1; \
	  fi; \
	fi
	@mkdir -p $(VENV) && touch $@

# What building ELM itself needs besides the packages above (`elmai elm build`,
# docs/elm_in_the_loop.md): netCDF-Fortran, LAPACK/BLAS, and CIME's xmllint and Perl XML.
ELM_APT_PACKAGES := libnetcdff-dev liblapack-dev libblas-dev libxml2-utils libxml-libxml-perl
elm-deps: sysdeps
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "[elmai] installing ELM build packages: $(ELM_APT_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(ELM_APT_PACKAGES) >/dev/null; \
	else \
	  echo "[elmai] not root or no apt-get: install $(ELM_APT_PACKAGES) (HPC: module load netcdf-fortran, lapack)"; \
	fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.deps: $(VENV)/bin/python Makefile
	@echo "[elmai] installing $(TORCH_SPEC) and Python dependencies into $(VENV)"
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(TORCH_SPEC)"
	$(PIP) install -q $(PY_DEPS)
	DS_BUILD_OPS=0 $(PIP) install -q $(DS_DEPS)
	@touch $@

$(VENV)/.built: $(VENV)/.sysdeps $(VENV)/.deps $(CORE_SOURCES)
	@echo "[elmai] building the compiled core (C++/Fortran) against $$($(PY) -c 'import torch;print(torch.__version__)')"
	$(PIP) install -q --no-build-isolation --no-deps -e .
	@touch $@

setup: $(VENV)/.built

test: setup
	$(VENV)/bin/ruff check python tests benchmarks tools
	$(PY) -m pytest -q -ra $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check python tests benchmarks tools

# mutated ELM restarts through check, spinup, refine and the C ABI (resumable: stop and
# run again); FUZZ_FILES=10000 by default, outcomes in bench-results/fuzz, summary in results/
FUZZ_FILES ?= 10000
fuzz: setup
	$(PY) -m tests.fuzz_restarts --files $(FUZZ_FILES) --work bench-results/fuzz --out results/fuzz.json

# README/docs figure regions (<!-- figures:NAME -->) are rewritten from the JSON results:
# after the demo (when it wrote demo-output/summary.json), after a full `make bench`
# (not --quick), and on request (`make figures`; FIGURES_ARGS=--check to only compare).
demo: setup
	$(PY) -m elmai.apps.demo $(DEMO_ARGS)
	@if [ -f demo-output/summary.json ]; then \
	  $(PY) -m tools.docs_figures --summary demo-output/summary.json; \
	else echo "[elmai] no demo-output/summary.json: README figures left as they are"; fi

bench: setup
	$(PY) benchmarks/run.py $(BENCH_ARGS)
	@case " $(BENCH_ARGS) " in *" --quick "*) echo "[elmai] --quick: README figures left as they are";; \
	  *) $(PY) -m tools.docs_figures;; esac

figures: setup
	$(PY) -m tools.docs_figures $(FIGURES_ARGS)

# The shipped pre-trained spin-up model (python/elmai/pretrained), rebuilt deterministically
# from its four 2 deg source worlds (about 30 min on 2 cores; docs/pretrained_model.md).
pretrained: setup
	$(VENV)/bin/elmai pretrained build --work runs/pretrained

clean:
	rm -rf build bench-results demo-output

distclean: clean
	rm -rf $(VENV)
