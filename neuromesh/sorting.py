"""Sorting helpers for the compiler, the placement and the functional engine: the same answers
as `np.argsort(kind="stable")` and `np.unique`, faster on the arrays this project sorts (a few
hundred thousand small non-negative integers: neuron numbers, tiles, keys).

- `stable_argsort`: NumPy sorts 16-bit integers with a radix sort (O(n), ~10x its timsort of
  int64), so a key of at most 48 bits is sorted 16 bits at a time from the lowest (an LSD radix
  sort: each pass stable, so the whole is the stable order); wider or negative keys, and arrays
  of more than 2^24 keys, fall back to NumPy's own stable sort (the radix passes hold ~3 more
  temporaries of 8 bytes a key: on the 67 M synapses of the million-neuron network that would
  raise the compiler's peak memory by ~1.6 GB, docs/scale.md).
- `unique`: sorted distinct values by one sort (NumPy 2's hash-based `unique` is slower here
  and sorts its answer anyway)."""
from __future__ import annotations

import numpy as np

_DIGIT = 16
_MAX_PASSES = 3
_MAX_KEYS = 1 << 24


def stable_argsort(keys) -> np.ndarray:
    """The permutation `np.argsort(keys, kind="stable")` returns, for a 1-D integer array."""
    keys = np.asarray(keys)
    if keys.dtype.kind not in "iu" or not len(keys) or len(keys) > _MAX_KEYS or keys.min() < 0:
        return np.argsort(keys, kind="stable")
    passes = max(1, -(-int(keys.max()).bit_length() // _DIGIT))
    if passes > _MAX_PASSES:
        return np.argsort(keys, kind="stable")
    keys = keys.astype(np.uint64, copy=False)
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    for k in range(1, passes):
        digit = ((keys[order] >> np.uint64(_DIGIT * k)) & np.uint64(0xFFFF)).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
    return order


def unique(values) -> np.ndarray:
    """`np.unique(values)` of a 1-D array."""
    v = np.sort(np.asarray(values))
    if len(v) < 2:
        return v
    return v[np.concatenate(([True], v[1:] != v[:-1]))]
