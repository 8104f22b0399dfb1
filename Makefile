# The two commands that do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-boundscheck docs install bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Reinstall when the dependencies change. pyproject.toml states floors; constraints.txt pins
# the exact versions this project is tested with (torch 2.13.0 among them).
CONSTRAINTS := -c constraints.txt
$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install -q $(CONSTRAINTS) -e ".[all]" > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	# norse's own dependencies are in [bench]; itself without torchvision (broken with torch 2.13.0)
	$(PY) -m pip install -q $(CONSTRAINTS) --no-deps norse >> $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	# Lava 0.10.0 declares Python < 3.11 and numpy < 2 but runs here (hardware/loihi/lava_compat.py
	# gets it past its one import-time error); its other dependencies are in [loihi]
	$(PY) -m pip install -q $(CONSTRAINTS) --no-deps --ignore-requires-python lava-nc "asteval>=0.9.31,<0.10" >> $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	$(PY) -c "import importlib.util as u; assert u.find_spec('torchvision') is None, 'torchvision must stay out of .venv'"
	$(PY) -c "import neurosim, brian2, torch, tonic, snntorch, norse.torch, spynnaker, pyNN.spiNNaker; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	$(PY) -c "import hardware.loihi, lava.proc.lif.models"
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

# The documentation site: Sphinx with every warning an error (-W), the notebooks executed
# (cached in runs/docs/jupyter_cache), then a check that the API reference has every
# public name with its docstring. NEUROSIM_DOCS_EXECUTE=off skips executing the notebooks.
docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -q -b html docs runs/docs/html
	$(PY) docs/check_api.py runs/docs/html
	@echo "documentation: runs/docs/html/index.html"

bench: $(STAMP)
	$(PY) benchmarks/cuba.py --standalone --sizes 4000 32000
	$(PY) benchmarks/scale.py
	$(PY) benchmarks/input_memory.py

clean:
	rm -rf runs .pytest_cache
