"""Bad input found by the fuzz pass of the Python API (``optimal.__all__``, 2026-12-05 evening; the harness called each
entry point with bad and edge values and flagged every bare Python or JAX error, hang and non-finite answer). Each call
here raised a bare ``TypeError``/``ValueError``/``AttributeError``, hung, or answered what it should have refused; each
test was seen failing with its fix undone."""

import warnings

import numpy as np
import pytest

import optimal
from optimal.errors import BudgetError

LAW = optimal.preset("epoch2024")


@pytest.fixture(scope="module")
def boot():
    runs = optimal.synthetic_runs(n_runs=30, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, search=optimal.Search(n_polish=2))
        return optimal.bootstrap(result, n_resamples=8, refit=optimal.Refit(n_starts=1, max_iter=200))


BUDGET_CALLS = {  # each read its budgets with np.asarray: a string, an object or complex numbers were a bare error
    "compute_optimal": lambda c: optimal.compute_optimal(LAW, c),
    "closed_form": lambda c: optimal.closed_form(LAW, c),
    "compute_for_loss": lambda c: optimal.compute_for_loss(LAW, c),
    "max_tokens": lambda c: optimal.compute_optimal(LAW, 1e22, max_tokens=c),
    "flops_per_param_token": lambda c: optimal.compute_optimal(LAW, 1e22, flops_per_param_token=c),
    "data_constrained_optimal": lambda c: optimal.data_constrained_optimal(optimal.preset("muennighoff2023"), 1e22, c),
    "inference_tokens": lambda c: optimal.inference_optimal(LAW, compute=1e22, inference_tokens=c),
    "recommend": lambda c: optimal.recommend(LAW, c),
    "recommend target_loss": lambda c: optimal.recommend(LAW, target_loss=c),
    "snap_to_shape": lambda c: optimal.snap_to_shape(LAW, c),
    "compare_presets": lambda c: optimal.compare_presets(c),
}


@pytest.mark.parametrize("value", [[1e22, "x"], object(), 1e22 + 1j, np.array([1e22 + 1e21j])],
                         ids=["str in list", "object", "complex", "complex array"])
@pytest.mark.parametrize("call", sorted(BUDGET_CALLS))
def test_a_budget_that_is_not_real_numbers_is_a_budget_error(call, value):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning (the imaginary part dropped) is not an answer either
        with pytest.raises(BudgetError):
            BUDGET_CALLS[call](value)


@pytest.mark.parametrize("value", [[1e22, "x"], object(), 1e22 + 1j], ids=["str in list", "object", "complex"])
@pytest.mark.parametrize("call", ["allocate_draws", "delta_method_se", "decide"])
def test_draws_budgets_that_are_not_real_numbers_are_a_budget_error(boot, call, value):
    with pytest.raises(BudgetError):
        getattr(optimal, call)(boot, value)


def test_complex_runs_are_refused_not_cut_to_their_real_part():
    runs = optimal.synthetic_runs(n_runs=30, seed=0)
    with pytest.raises(optimal.DataError, match="n_params is not numeric"):
        optimal.fit(runs.n_params * (1 + 1j), runs.n_tokens, runs.loss)
