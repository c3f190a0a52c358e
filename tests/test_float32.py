"""float32 everywhere it is supported: allocation and fitting reach the float64 answers within float32 precision."""

import jax.numpy as jnp
import numpy as np
import pytest

import optimal
from optimal import PrecisionError


def test_fit_in_float32_reaches_the_float64_optimum(epoch_runs, epoch_fit):
    f32 = optimal.fit(epoch_runs.n_params, epoch_runs.n_tokens, epoch_runs.loss, dtype=jnp.float32)
    assert f32.config["dtype"] == "float32" and f32.converged
    # A sum of 240 float32 terms carries ~1e-6 relative rounding; the optimum's objective agrees to 1e-5.
    assert f32.objective == pytest.approx(epoch_fit.objective, rel=1e-5)
    # The exponents agree to 1e-3 relative; A and B lie along nearly flat ridges with the exponents
    # (condition number ~1e11), where float32 rounding of the objective moves them by up to ~1%.
    for name in ("alpha", "beta", "E"):
        assert f32.params[name] == pytest.approx(epoch_fit.params[name], rel=1e-3), name
    for name in ("A", "B"):
        assert f32.params[name] == pytest.approx(epoch_fit.params[name], rel=2e-2), name
    best32 = optimal.compute_optimal(f32.law, 5.76e23)
    best64 = optimal.compute_optimal(epoch_fit.law, 5.76e23)
    assert float(best32.n_params) == pytest.approx(float(best64.n_params), rel=2e-2)


def test_synthetic_fit_in_float32_has_no_non_finite_best():
    runs = optimal.synthetic_runs(noise=0.01, seed=2)
    f32 = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, dtype=jnp.float32)
    f64 = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    assert np.isfinite(f32.objective)
    assert f32.objective == pytest.approx(f64.objective, rel=1e-5)


def test_allocation_float32_range():
    budgets = np.logspace(15, 30, 50)
    result = optimal.compute_optimal(optimal.preset(), budgets, dtype=jnp.float32)
    n, _ = optimal.closed_form(optimal.preset(), budgets)
    np.testing.assert_allclose(np.asarray(result.n_params, np.float64), n, rtol=1e-4)


def test_unsupported_dtype():
    with pytest.raises(PrecisionError, match="float64 or float32"):
        optimal.compute_optimal(optimal.preset(), 1e24, dtype=np.int32)
