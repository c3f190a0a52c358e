"""The shared argument checks of ``optimal.errors``: one confidence check, used by every function that takes a level."""

import math

import numpy as np
import pytest

import optimal
from optimal.errors import OptimalError, check_confidence

BAD_LEVELS = ["0.95", None, True, False, math.nan, 0, 0.0, 1, 1.0, -0.1, 1.5, math.inf, -math.inf, 10**400, [0.9],
              np.float64(math.nan), np.int64(1)]


@pytest.mark.parametrize("value", [0.5, 0.95, 1e-9, 1 - 1e-12, np.float64(0.9), np.float32(0.5)])
def test_check_confidence_returns_the_level_as_a_float(value):
    level = check_confidence(value)
    assert type(level) is float and level == float(value)


@pytest.mark.parametrize("value", BAD_LEVELS, ids=repr)
def test_check_confidence_refuses_a_bad_level_with_an_optimal_error_naming_it(value):
    with pytest.raises(OptimalError, match="^--level must be between 0 and 1"):
        check_confidence(value, "--level")


@pytest.fixture(scope="module")
def runs():
    return optimal.synthetic_runs(n_runs=40, seed=3)


@pytest.fixture(scope="module")
def fitted(runs):
    return optimal.fit(runs.n_params, runs.n_tokens, runs.loss)


ENTRIES = {
    "bootstrap": lambda runs, fitted, level: optimal.bootstrap(fitted, n_resamples=8, confidence=level),
    "predict": lambda runs, fitted, level: optimal.predict(fitted, 1e9, 2e10, confidence=level),
    "validate": lambda runs, fitted, level: optimal.validate(runs.n_params, runs.n_tokens, runs.loss, largest=5,
                                                             confidence=level),
    "isoflop": lambda runs, fitted, level: optimal.isoflop(optimal.isoflop_runs(), parametric=False, confidence=level),
}


@pytest.mark.parametrize("value", ["0.95", None, True, math.nan, 0, 1, 1.5], ids=repr)
@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_every_function_taking_a_level_refuses_a_bad_one_with_an_optimal_error(entry, value, runs, fitted):
    # validate and isoflop raised TypeError for a string or None before they shared check_confidence
    with pytest.raises(OptimalError, match="confidence must be between 0 and 1"):
        ENTRIES[entry](runs, fitted, value)

