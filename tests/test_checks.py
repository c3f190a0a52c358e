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



# --- a law's coefficients, checked where the law is first used ------------------------------------------------

EPOCH = optimal.preset("epoch2024")
MUENNIGHOFF = optimal.preset("muennighoff2023")
BAD_COEFFICIENTS = [("alpha", 0.0), ("beta", -0.3), ("A", -482.0), ("B", 0.0), ("E", -0.1), ("E", math.nan),
                    ("A", math.inf), ("alpha", math.nan)]
USES = {
    "compute_optimal": lambda law: optimal.compute_optimal(law, 1e22),
    "compute_for_loss": lambda law: optimal.compute_for_loss(law, 2.5),
    "recommend": lambda law: optimal.recommend(law, 1e22),
    "recommend_target_loss": lambda law: optimal.recommend(law, target_loss=2.5),
    "inference_optimal": lambda law: optimal.inference_optimal(law, 2.5, inference_tokens=1e12),
    "data_constrained_optimal": lambda law: optimal.data_constrained_optimal(
        MUENNIGHOFF._replace(**{k: v for k, v in law._asdict().items()}), 1e22, 1e11),
}


@pytest.mark.parametrize("name, value", BAD_COEFFICIENTS, ids=lambda x: repr(x))
@pytest.mark.parametrize("use", sorted(USES))
def test_a_law_outside_its_range_is_refused_naming_the_coefficient(use, name, value):
    # before: alpha = 0 or a negative A came back "converged", a NaN coefficient as NaN
    with pytest.raises(optimal.CoefficientsError, match=f"coefficient {name} of the"):
        USES[use](EPOCH._replace(**{name: value}))


@pytest.mark.parametrize("law, name", [(optimal.preset("kaplan2020")._replace(alpha_D=0.0), "alpha_D"),
                                       (MUENNIGHOFF._replace(rd_star=-1.0), "rd_star"),
                                       (MUENNIGHOFF._replace(unique_tokens=0.0), "unique_tokens")])
def test_every_shipped_law_has_its_range_checked(law, name):
    with pytest.raises(optimal.CoefficientsError, match=f"coefficient {name} "):
        optimal.compute_optimal(law, 1e22)


@pytest.mark.slow
def test_edge_values_inside_the_range_still_solve_and_tracers_pass_unchecked():
    import jax

    assert optimal.compute_optimal(EPOCH._replace(E=0.0), 1e22).converged  # E = 0: no irreducible loss
    assert optimal.compute_optimal(MUENNIGHOFF, 1e22).converged  # unlimited unique tokens (inf) is in range
    with jax.enable_x64(True):
        grad = jax.grad(lambda alpha: optimal.compute_optimal(EPOCH._replace(alpha=alpha), 1e22).n_params)(0.3478)
    assert np.isfinite(grad)
