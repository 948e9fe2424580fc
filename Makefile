# NeuroMesh make-driven flows. Every target is documented in README.md ("Make targets").
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
NM      := $(VENV)/bin/neuromesh
STAMP   := $(VENV)/.installed
JOBS    ?= 2
NET     ?= examples/tiny/network.json
STIM    ?= examples/tiny/stimulus.json
OUT     ?= build/run
HW      ?=
BOARD   ?= ulx3s
TARGET  ?= ice40-hx8k
FIT     ?=
NOROUTE ?=
NOFLOORPLAN ?=
BAUD    ?= 115200
PYTEST_FLAGS ?=

.PHONY: install demo example test test-long sim rtl verilog synth bitstream formal mutants waves bench digits clean help

help:
	@echo "make install | demo | test | test-long | sim | rtl | verilog | synth | bitstream | formal | mutants | waves | bench | digits | clean"

# One pip call for everything (TOOLCHAIN.md: a second call flips wasmtime back and forth).
$(STAMP): pyproject.toml
	@# FST wave traces (make waves, --waves) need Debian's lz4 headers; best effort, optional.
	@test -f /usr/include/lz4.h || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get install -y -qq liblz4-dev >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq liblz4-dev >/dev/null 2>&1)); } || \
	  echo "note: liblz4-dev not installed: FST traces unavailable (everything else works)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[dev,synth]"
	touch $(STAMP)

install: $(STAMP)

# Install, then run the bundled example end to end on the golden model.
demo: $(STAMP)
	$(NM) compile $(NET) -o $(OUT)/image.hex
	$(NM) run $(NET) --stimulus $(STIM) -o $(OUT)/result.json --plot $(OUT)/plots
example: demo

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_FLAGS)

test-long: $(STAMP)
	$(PY) -m pytest -q -m long -rs $(PYTEST_FLAGS)

sim: $(STAMP)
	$(NM) run $(NET) --stimulus $(STIM) -o $(OUT)/golden.json --plot $(OUT)/plots

rtl: $(STAMP)
	$(NM) run $(NET) --stimulus $(STIM) -o $(OUT)/rtl.json --engine rtl

waves: $(STAMP)
	$(NM) run $(NET) --stimulus $(STIM) -o $(OUT)/rtl.json --engine rtl --waves $(OUT)/waves.fst
	@echo "open $(OUT)/waves.fst with gtkwave or surfer"

verilog: $(STAMP)
	$(NM) verilog -o build/neuromesh_chip.v $(HW)

# FPGA synthesis and place and route (docs/fpga.md): TARGET=ice40-hx8k|ice40-up5k|ecp5-85k,
# FIT=1 to search what fits the part first, NOROUTE=1 to stop after placement (nextpnr's estimate),
# NOFLOORPLAN=1 to leave the block RAMs' places to nextpnr, HW="--width 2 ..." for another chip.
synth: $(STAMP)
	$(PY) -m neuromesh.tools.synth --target $(TARGET) --out build/synth/$(TARGET) $(if $(FIT),--fit) $(if $(NOROUTE),--no-route) $(if $(NOFLOORPLAN),--no-floorplan) $(HW)

# A bitstream for a board (docs/board.md): BOARD=ulx3s|icebreaker, BAUD, HW="--width 1 ...".
bitstream: $(STAMP)
	$(PY) -m neuromesh.tools.board.bitstream --board $(BOARD) --baud $(BAUD) --out build/bitstream/$(BOARD) $(HW)

# Formal proofs of the router and the asynchronous link (docs/formal.md); FORMAL="--quick" for one configuration of each.
FORMAL  ?=
formal: $(STAMP)
	$(PY) -m neuromesh.tools.formal --out build/formal $(FORMAL)

# Mutation testing of the regression (docs/mutants.md), hours; MUTANTS="--only 'router.*'",
# "--target hw", "--resume", "-j 2", "--sample" (the 6 of make test-long), "--list".
MUTANTS ?=
mutants: $(STAMP)
	$(PY) -m neuromesh.tools.mutants --out build/mutants $(MUTANTS)

bench: $(STAMP)
	$(PY) bench/run_all.py
	$(PY) bench/bench_engines.py
	$(PY) bench/bench_domains.py

digits: $(STAMP)
	$(PY) -m neuromesh.tools.workloads.digits --out build/digits

clean:
	rm -rf build .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
