"""Sweeps: every setting's fit is the fit a user would get by hand with that setting."""

import numpy as np
import pytest

import optimal
from optimal.errors import OptimalError
from optimal.fitting.sweep import smallest_dropped


def test_each_setting_equals_its_own_fit():
    runs = optimal.synthetic_runs(n_runs=80, noise=0.01, n_groups=16, seed=2)  # 16 model sizes
    found = optimal.sweep(runs.n_params, runs.n_tokens, runs.loss, delta=[1e-3, 1e-2], drop_smallest=[0, 2])
    assert [s for s, _ in found] == [{"law": "chinchilla", "delta": d, "drop_smallest": k}
                                     for d in (1e-3, 1e-2) for k in (0, 2)]
    sizes = np.unique(runs.n_params)
    for setting, result in found:
        keep = runs.n_params > sizes[setting["drop_smallest"] - 1] if setting["drop_smallest"] else slice(None)
        alone = optimal.fit(runs.n_params[keep], runs.n_tokens[keep], runs.loss[keep], delta=setting["delta"])
        assert result.n_rows == alone.n_rows
        assert result.objective == pytest.approx(alone.objective, rel=1e-12)
        # rows left out weigh 0 but still change the order of the sums: rounding, then a flat ridge (cond ~1e11)
        assert result.params["alpha"] == pytest.approx(alone.params["alpha"], rel=1e-6)


def test_drop_smallest_mask():
    n = np.array([3.0, 1.0, 2.0, 1.0, 3.0])
    np.testing.assert_array_equal(smallest_dropped(n, 0), [True] * 5)
    np.testing.assert_array_equal(smallest_dropped(n, 1), [True, False, True, False, True])
    with pytest.raises(OptimalError, match="every one of the 3 model sizes"):
        smallest_dropped(n, 3)
