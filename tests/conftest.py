import os
import sys
from pathlib import Path

# cocotb test modules live beside the tests; the runner passes sys.path on as PYTHONPATH.
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Every simulator process a test starts is bounded in wall time (tools/cosim/simulator.py): a
# deadlocked RTL mutant fails instead of hanging the suite. Simulated-time bounds inside the
# benches catch a deadlock much sooner; this is the backstop. Set it higher (or 0: none) to debug.
os.environ.setdefault("NEUROMESH_SIM_TIMEOUT_S", "600")
