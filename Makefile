# The two commands that do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-boundscheck install bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Reinstall when the dependencies change.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[all]" > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	# norse's own dependencies are in [bench]; itself without torchvision (broken with torch 2.13.0)
	$(PY) -m pip install -q --no-deps norse==1.1.0 >> $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	# Lava 0.10.0 declares Python < 3.11 and numpy < 2 but runs here (hardware/loihi/lava_compat.py
	# gets it past its one import-time error); its other dependencies are in [loihi]
	$(PY) -m pip install -q --no-deps --ignore-requires-python lava-nc==0.10.0 "asteval>=0.9.31,<0.10" >> $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	$(PY) -c "import importlib.util as u; assert u.find_spec('torchvision') is None, 'torchvision must stay out of .venv'"
	$(PY) -c "import neurosim, brian2, torch, tonic, snntorch, norse.torch, spynnaker, pyNN.spiNNaker; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	$(PY) -c "from hardware.loihi import import_lava; import_lava(); import lava.proc.lif.models"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/neurosim worm --out runs/demo

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests

# The suite again with Numba's bounds checks in every kernel: an out-of-range index raises
# IndexError instead of corrupting memory. Cached machine code was compiled without the
# checks, so this run compiles into a fresh cache of its own.
BC_CACHE := $(CURDIR)/runs/numba-boundscheck-cache
test-boundscheck: $(STAMP)
	rm -rf $(BC_CACHE)
	NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR=$(BC_CACHE) $(PY) -c "import numba; assert numba.config.BOUNDSCHECK, 'bounds checks are off'"
	NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR=$(BC_CACHE) $(PY) -m pytest -q -p no:cacheprovider tests

bench: $(STAMP)
	$(PY) benchmarks/cuba.py --standalone --sizes 4000 32000
	$(PY) benchmarks/scale.py
	$(PY) benchmarks/input_memory.py

clean:
	rm -rf runs .pytest_cache
