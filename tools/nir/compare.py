"""Spike-train agreement between the float reference and the chip, per layer.

- `count_correlation`: Pearson correlation of the per-neuron spike counts (None when either side
  has the same count for every neuron, where a correlation is undefined; the report then shows
  whether the counts are equal);
- `matched_fraction`: spikes paired one-to-one within +-`tolerance` ticks (same neuron), divided
  by the larger of the two spike counts (1.0 when neither side spikes). Pairing in time order
  (take the earlier unpaired spike; pair it with the other side's if within tolerance, else drop
  it) is a maximum matching for an interval tolerance on a line.
"""
from __future__ import annotations

import numpy as np


def count_correlation(ref: np.ndarray, chip: np.ndarray):
    """ref, chip: (steps, neurons) booleans."""
    a, b = ref.sum(axis=0).astype(float), chip.sum(axis=0).astype(float)
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def matched_spikes(ref: np.ndarray, chip: np.ndarray, tolerance: int = 1) -> int:
    total = 0
    for j in range(ref.shape[1]):
        ta, tb = np.flatnonzero(ref[:, j]), np.flatnonzero(chip[:, j])
        i = k = 0
        while i < len(ta) and k < len(tb):
            if abs(int(ta[i]) - int(tb[k])) <= tolerance:
                total += 1
                i += 1
                k += 1
            elif ta[i] < tb[k]:
                i += 1
            else:
                k += 1
    return total


def matched_fraction(ref: np.ndarray, chip: np.ndarray, tolerance: int = 1) -> float:
    top = max(int(ref.sum()), int(chip.sum()))
    return 1.0 if top == 0 else matched_spikes(ref, chip, tolerance) / top


def layer_agreement(ref: np.ndarray, chip: np.ndarray, tolerance: int = 1) -> dict:
    return {"reference_spikes": int(ref.sum()), "chip_spikes": int(chip.sum()),
            "count_correlation": count_correlation(ref, chip),
            "equal_counts": bool(np.array_equal(ref.sum(axis=0), chip.sum(axis=0))),
            "matched": matched_spikes(ref, chip, tolerance),
            "matched_fraction": matched_fraction(ref, chip, tolerance),
            "identical": bool(np.array_equal(ref, chip))}
