"""Warnings point at the caller's line: the first frame outside the ``optimal`` package, not a wrapper of it (every
fit warning was once attributed to ``optimal/precision.py``)."""

import warnings

import pytest

import optimal
from optimal import ConvergenceWarning, IdentifiabilityWarning


def caught(call):
    with warnings.catch_warnings(record=True) as found:
        warnings.simplefilter("always")
        result = call()
    return result, found


@pytest.mark.parametrize("options", [{}, {"solver": optimal.Solver(max_iter=2)}], ids=["identifiability", "convergence"])
def test_fit_warnings_name_the_callers_file(options):
    runs = optimal.synthetic_runs(n_range=(1e8, 5e8), tokens_per_param=(15, 25), seed=7)  # N over 0.7 decades
    _, found = caught(lambda: optimal.fit(runs.n_params, runs.n_tokens, runs.loss, **options))
    category = ConvergenceWarning if options else IdentifiabilityWarning
    ours = [w for w in found if issubclass(w.category, category)]
    assert ours, [str(w.message) for w in found]
    assert {w.filename for w in ours} == {__file__}, [(w.filename, w.lineno) for w in ours]


def test_bootstrap_warnings_name_the_callers_file():
    runs = optimal.synthetic_runs(n_runs=81, n_range=(1e8, 2e9), tokens_per_param=(5, 100), noise=0.03, seed=1)
    result, _ = caught(lambda: optimal.fit(runs.n_params, runs.n_tokens, runs.loss))
    _, found = caught(lambda: optimal.bootstrap(result, n_resamples=100, seed=0))
    ours = [w for w in found if issubclass(w.category, IdentifiabilityWarning)]
    assert ours and {w.filename for w in ours} == {__file__}, [(w.filename, w.lineno) for w in found]

