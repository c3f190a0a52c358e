"""A user's own learning-rate or batch-size sweep (``optimal.hparam_sweep``): synthetic sweeps from a known law are
recovered exactly without noise (both forms), covered by the wild-bootstrap intervals with noise, a setting whose
optimum lies outside the values tried is left out and said, and bad input is a named error."""

import numpy as np
import pytest

import optimal
from optimal.errors import DataError, OptimalError
from optimal._util.jsonio import dumps_strict
from optimal._util.results import Result

SIZES, TOKENS = (1e7, 3e7, 1e8, 3e8), (1e9, 4e9, 1.6e10)
STEPS = 2.0 ** np.arange(-3, 4)  # 7 values, factors of 2 around the optimum


def sweep(best, noise=0.0, seed=0):
    """Runs over the (N, D) grid, ``STEPS`` x the optimum ``best(N, D)`` each; loss = 3 + 0.05 ln(h / h*)^2 + noise
    (nats)."""
    n, d = (np.repeat(v.ravel(), len(STEPS)) for v in np.meshgrid(SIZES, TOKENS, indexing="ij"))
    steps = np.tile(STEPS, len(SIZES) * len(TOKENS))
    loss = 3.0 + 0.05 * np.log(steps) ** 2 + noise * np.random.default_rng(seed).standard_normal(steps.size)
    return n, d, best(n, d) * steps, loss


def deepseek_like(n, d):
    return 0.3 * (6 * n * d) ** -0.125


def step_like(n, d):
    return 1.79 * n ** -0.713 * d ** 0.307


def test_a_noise_free_sweep_gives_its_law_back():
    s = optimal.hparam_sweep(*sweep(deepseek_like), n_resamples=0)
    assert s.coefficient == pytest.approx(0.3, rel=1e-9) and s.exponents["C"] == pytest.approx(-0.125, abs=1e-10)
    assert all(x["accepted"] for x in s.settings) and s.bootstrap is None
    t = optimal.hparam_sweep(*sweep(step_like), form="params_tokens", n_resamples=0)
    assert t.coefficient == pytest.approx(1.79, rel=1e-9)
    assert (t.exponents["N"], t.exponents["D"]) == pytest.approx((-0.713, 0.307), abs=1e-10)
    assert isinstance(t, Result) and not dumps_strict(t.to_dict())[1]


def test_noisy_sweep_intervals_cover_the_truth():
    """0.004 nats of noise per run: the bootstrap's 95% intervals of the exponent and of lr* at 1e22 FLOPs hold the
    law the runs were drawn from (seeded), and are not degenerate."""
    s = optimal.hparam_sweep(*sweep(deepseek_like, noise=0.004, seed=3), n_resamples=400, seed=1)
    b = s.bootstrap["intervals"]["C"]
    assert b["lo"] < -0.125 < b["hi"] and 0 < b["hi"] - b["lo"] < 0.02
    at = optimal.hparam_at(s, compute=1e22)
    assert at["lo"] < deepseek_like(1e22 / 6, 1.0) < at["hi"]
    assert at["value"] == pytest.approx(s.coefficient * 1e22 ** s.exponents["C"])


def test_too_few_resamples_for_the_level_are_warned():
    """20 resamples at 95%: each tail's 2.5% is under one draw in 21, the "few-draws" warning of
    ``few_draws_message``; 39 resamples suffice."""
    runs = sweep(deepseek_like, noise=0.004, seed=3)
    few = [w for w in optimal.hparam_sweep(*runs, n_resamples=20).warnings if w.code == "few-draws"]
    assert len(few) == 1 and "use at least 39 resamples" in few[0].message
    assert "few-draws" not in [w.code for w in optimal.hparam_sweep(*runs, n_resamples=39).warnings]


def test_an_optimum_outside_the_values_tried_is_left_out_and_said():
    n, d, h, loss = sweep(deepseek_like)
    first = (n == SIZES[0]) & (d == TOKENS[0])
    h[first] *= 16.0  # the values of one setting all above its optimum: its parabola's vertex lies below them
    loss[first] = 3.0 + 0.05 * np.log(h[first] / deepseek_like(SIZES[0], TOKENS[0])) ** 2
    s = optimal.hparam_sweep(n, d, h, loss, n_resamples=0)
    left = [x for x in s.settings if not x["accepted"]]
    assert len(left) == 1 and left[0]["N"] == SIZES[0] and "not inside" in left[0]["reason"]
    assert [w.code for w in s.warnings] == ["setting-left-out"]
    assert s.exponents["C"] == pytest.approx(-0.125, abs=1e-10)  # the others still give the law


@pytest.mark.parametrize("change, error, message", [
    (lambda c: c.update(loss=c["loss"][:-1]), DataError, "one entry per run"),
    (lambda c: c["hparam"].__setitem__(0, -1.0), DataError, "hparam must be finite and > 0"),
    (lambda c: c.update(param="momentum"), OptimalError, "param must be one of"),
    (lambda c: c.update(keep=lambda n, d: (n == SIZES[0]) & (d == TOKENS[0])), DataError, "needs at least 2"),
])
def test_bad_input_is_a_named_error(change, error, message):
    n, d, h, loss = sweep(deepseek_like)
    c = {"n_params": n, "n_tokens": d, "hparam": h, "loss": loss}
    change(c)
    keep = c.pop("keep", None)
    if keep is not None:
        rows = keep(c["n_params"], c["n_tokens"])
        c = {k: (v[rows] if isinstance(v, np.ndarray) else v) for k, v in c.items()}
    with pytest.raises(error, match=message):
        optimal.hparam_sweep(**c, n_resamples=0)
