"""neuromesh.sorting against NumPy's own answers (the reference it must equal exactly), on keys
of every width the radix passes handle, and on the cases that fall back."""
from __future__ import annotations

import numpy as np
import pytest

from neuromesh.sorting import stable_argsort, unique


@pytest.mark.parametrize("high", [1, 3, 1000, 1 << 16, (1 << 16) + 1, 1 << 20, 1 << 33, 1 << 48, 1 << 50])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint32, np.uint64, np.int16])
def test_stable_argsort_and_unique_equal_numpys(high, dtype):
    if high > np.iinfo(dtype).max:
        pytest.skip("keys wider than the dtype")
    keys = np.random.default_rng(high).integers(0, high, 5000).astype(dtype)
    assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))
    assert np.array_equal(unique(keys), np.unique(keys))


def test_ties_keep_their_order_and_edge_cases():
    keys = np.array([70000, 5, 70000, 5, 0, 1 << 40, 5], dtype=np.int64)
    assert stable_argsort(keys).tolist() == [4, 1, 3, 6, 0, 2, 5]    # by hand: ties in index order
    for keys in ([], [7], [-3, 2, -3, 1], [2.5, 1.0, 2.5]):
        keys = np.array(keys, dtype=np.float64 if keys and isinstance(keys[0], float) else np.int64)
        assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))
        assert np.array_equal(unique(keys), np.unique(keys))


def test_more_keys_than_the_radix_limit_sort_the_same(monkeypatch):
    import neuromesh.sorting as sorting
    keys = np.random.default_rng(7).integers(0, 1 << 20, 3000)
    monkeypatch.setattr(sorting, "_MAX_KEYS", 1000)   # the fallback, as on 67 M synapses
    assert np.array_equal(sorting.stable_argsort(keys), np.argsort(keys, kind="stable"))
