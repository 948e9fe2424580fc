"""`make bench`: the golden model's speed. Prints a table and writes build/bench/*.json.

Rates use the process's CPU time (the machine is shared; wall time is reported beside it).
Flit-hops are router-to-router link crossings.
"""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from network import full_run          # noqa: E402
from traffic import uniform_random    # noqa: E402

OUT = HERE.parent / "build" / "bench"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for load in (0.1, 0.3):
        r = uniform_random(load=load, cycles=4000)
        (OUT / f"uniform_8x8_{int(load * 100)}.json").write_text(json.dumps(r, indent=1) + "\n")
        rows.append(r)
    r = full_run()
    (OUT / "network_4x4.json").write_text(json.dumps(r, indent=1) + "\n")
    rows.append(r)
    print(f"golden model speed (Python {platform.python_version()}, one core, CPU time)")
    print(f"{'benchmark':46} {'cycles':>8} {'flit-hops':>10} {'CPU s':>7} {'wall s':>7} "
          f"{'flit-hops/s':>12} {'cycles/s':>10}")
    for r in rows:
        print(f"{r['name']:46} {r['cycles']:8d} {r['flit_hops']:10d} {r['cpu_s']:7.2f} {r['wall_s']:7.2f} "
              f"{r['flit_hops_per_s']:12,.0f} {r['cycles_per_s']:10,.0f}")
    print(f"written to {OUT}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
