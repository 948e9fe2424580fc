import sys
from pathlib import Path

# cocotb test modules live beside the tests; the runner passes sys.path on as PYTHONPATH.
sys.path.insert(0, str(Path(__file__).resolve().parent))
