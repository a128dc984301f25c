# Two commands set up everything on a fresh machine (see README.md):
#   make demo   trains StochEP 784-512-10 on Fashion-MNIST (installs the Debian dataset package)
#   make test   runs the whole test suite
#   make report writes runs/report/report.html, every figure and table in one page
#   make gpu-kit prepares gpu_kit/bundle for `bash gpu_kit/run.sh` on a GPU machine
# make demo ARGS='--config.neuron.name=crnn' passes flags to the launcher; the demo runs one
# XLA:CPU device per core (--cpu_devices=0; ARGS=--cpu_devices=1 for a single device).
PYTHON ?= $(shell .ci/python)
VENV   ?= .venv
PY      = $(VENV)/bin/python
FMNIST  = /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
CHROMIUM = /usr/bin/chromium
REPORT_DIR ?= runs/report
WORKDIR ?= runs/demo
CONFIG  ?= experiments/configs/fashion_mnist.py
ARGS    ?=

.PHONY: demo test lint format install clean gpu-kit report

install: $(VENV)/.installed

# The wheel holds stochep_jax only; the checkout's experiments/ (launchers, configs) is
# importable in this venv through a path file naming the checkout. uv installs the same
# versions as pip in a fraction of the time; pip does it where uv cannot (no wheel of uv for the
# platform, or no access to its index). Both compile the bytecode at install (uv only when asked):
# where PYTHONDONTWRITEBYTECODE is set, every process would otherwise compile jax from source.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	( $(PY) -m pip install -q uv \
	  && $(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) \
	    --upgrade-package pip pip -e '.[test]' ) \
	  || ( $(PY) -m pip install -q --upgrade pip && $(PY) -m pip install -q -e '.[test]' )
	$(PY) -c "import os, sysconfig; open(os.path.join(sysconfig.get_path('purelib'), 'stochep_jax_checkout.pth'), 'w').write(os.getcwd() + '\\n')"
	touch $@

$(FMNIST):
	(command -v apt-get >/dev/null && (apt-get update -qq || true) && apt-get install -y -qq dataset-fashion-mnist) \
	  || { echo "Install the Debian package dataset-fashion-mnist (or put the IDX files in $(dir $(FMNIST)))"; exit 1; }

# A headless browser: tests/test_report.py and `make report` look at the report as a person sees it.
$(CHROMIUM):
	(command -v apt-get >/dev/null && (apt-get update -qq || true) && apt-get install -y -qq chromium) \
	  || { echo "Install the Debian package chromium (the report's screenshot and its test use it)"; exit 1; }

demo: install $(FMNIST)
	$(PY) experiments/train.py --config=$(CONFIG) --workdir=$(WORKDIR) --cpu_devices=0 $(ARGS)

lint: install
	$(PY) -m ruff format --check --quiet . && $(PY) -m ruff check --quiet .

format: install
	$(PY) -m ruff format --quiet . && $(PY) -m ruff check --fix --quiet .

test: lint $(CHROMIUM)
	$(PY) -m pytest -q -n 2 --dist loadscope --no-loadscope-reorder --durations=15 tests

# The evidence in one page: $(REPORT_DIR)/report.html (and report.png, its screenshot); finished
# runs are reused through ARGS, e.g. ARGS='--demo_workdir=runs/demo --backprop_cnn_workdir=...'
# (runs/demo, the output of make demo, is reused when it exists, except with --smoke)
REPORT_ARGS ?= $(if $(findstring --smoke,$(ARGS)),,$(if $(wildcard runs/demo/metrics.json),--demo_workdir=runs/demo))
report: install $(FMNIST) $(CHROMIUM)
	$(PY) experiments/report.py --workdir=$(REPORT_DIR) $(REPORT_ARGS) $(ARGS)

# The GPU check kit's bundle (gpu_kit/bundle: wheels the GPU image lacks, Fashion-MNIST);
# on the GPU machine, with gpu_kit/bundle carried along: bash gpu_kit/run.sh
gpu-kit: install $(FMNIST)
	$(PY) gpu_kit/prepare.py --bundle=gpu_kit/bundle

clean:
	rm -rf $(VENV) runs .pytest_cache
