"""The IsoFLOP bootstrap's default interval (``interval="auto"``): the studentized interval where every vertex is at
least z = Phi^-1((1 + confidence) / 2) delta-method standard errors inside its sizes and no budget was refused for
its losses, else the envelope of the percentile and studentized intervals read off the same draws. Checked against
the two intervals computed on their own (same seed, same draws), the rule's distance against a plain computation of
it, and the JSON (strict, the choice and why)."""

import dataclasses
import json
import math
import statistics

import numpy as np
import pytest

import optimal
from optimal.analysis.isoflop import auto_choice, interval_envelope

WIDE = dict(budgets=tuple(np.geomspace(1e18, 1e21, 8)), n_sizes=12, width_decades=2.5)  # every vertex far inside
# every optimum 0.4 decades beyond the largest size (a third of the sizes' width): extrapolated vertices, near the
# bound past which a budget is refused
BEYOND = dict(budgets=tuple(np.geomspace(1e18, 1e21, 8)), n_sizes=7, width_decades=1.2, offset_decades=-1.0)


def _read(found, method):
    """``found``'s Approach 2 intervals (a, b, every N_opt, N* at every target) read as ``method``."""
    relabelled = dataclasses.replace(found, bootstrap=found.bootstrap | {"interval_method": method})
    boot = relabelled.to_dict()["approach2"]["bootstrap"]
    return [boot["a"], boot["b"], *boot["n_opt"], *(t["approach2"]["N_interval"] for t in relabelled.comparison())]


def _plain_edge_z(found):
    """The smallest distance of a vertex from where its budget would be refused (half the width of its sizes, in ln N,
    beyond the smallest or largest), in delta-method standard errors."""
    variances = found.bootstrap["studentized"]["point"]["vertex"][0]
    distances = []
    for p, v in zip(found.accepted, variances):
        half_width = 0.5 * math.log(p.n_max / p.n_min)
        lowest, highest = math.log(p.n_min) - half_width, math.log(p.n_max) + half_width
        distances.append(min(math.log(p.n_opt) - lowest, highest - math.log(p.n_opt)) / math.sqrt(v))
    return min(distances)


def test_well_inside_it_is_the_studentized_interval():
    runs = optimal.isoflop_runs(noise=0.01, seed=2, **WIDE)
    found = optimal.isoflop(runs, n_resamples=300, seed=4, parametric=False)  # the default
    assert found.bootstrap["interval_method"] == "auto" and found.bootstrap["auto"]["chosen"] == "studentized"
    assert found.bootstrap["auto"]["edge_z"] == pytest.approx(_plain_edge_z(found), rel=1e-12)
    assert found.bootstrap["auto"]["edge_z"] > 1.96
    studentized = optimal.isoflop(runs, n_resamples=300, seed=4, parametric=False, interval="studentized")
    np.testing.assert_array_equal(found.bootstrap["a"], studentized.bootstrap["a"])  # the same draws
    assert _read(found, "auto") == _read(studentized, "studentized")


def test_near_an_edge_it_is_the_envelope_of_both():
    runs = optimal.isoflop_runs(noise=0.01, seed=1, **BEYOND)
    found = optimal.isoflop(runs, n_resamples=300, seed=4, parametric=False)
    choice = found.bootstrap["auto"]
    assert choice["chosen"] == "envelope" and choice["edge_z"] < statistics.NormalDist().inv_cdf(0.975)
    assert choice["edge_z"] == pytest.approx(_plain_edge_z(found), rel=1e-12)
    assert "standard errors from where its budget would be refused (0.5 of its sizes' width beyond them)" in \
        choice["reason"]
    auto, percentile, studentized = (_read(found, m) for m in ("auto", "percentile", "studentized"))
    widened = 0
    for both, one, two in zip(auto, percentile, studentized):
        for end, pick in (("lo", min), ("hi", max)):
            expected = None if one[end] is None or two[end] is None else pick(one[end], two[end])
            assert both[end] == expected
        widened += (one["lo"], one["hi"]) != (both["lo"], both["hi"])
    assert widened  # the envelope is not just the percentile interval here: the rule changed something
    answer = json.loads(json.dumps(found.to_dict(), allow_nan=False))["approach2"]["bootstrap"]
    assert answer["interval_method"] == "auto" and answer["auto"]["chosen"] == "envelope"
    assert "95% auto intervals, here envelope of percentile and studentized (the vertex at" in found.summary()


def test_a_budget_refused_for_its_losses_makes_it_the_envelope():
    runs = optimal.isoflop_runs(noise=0.01, seed=2, **WIDE)
    n, d, loss = (np.asarray(v, np.float64).copy() for v in runs[:3])
    last = np.arange(len(n)) >= len(n) - 12  # the largest budget: a loss that only falls with N (no minimum inside)
    loss[last] = 3.0 - 0.01 * np.log(n[last] / n[last].min())
    found = optimal.isoflop(n, d, loss, n_resamples=200, seed=1, parametric=False)
    assert len(found.accepted) == 7
    choice = found.bootstrap["auto"]
    # the budget is named once in the answer, in the 'selection' warning below; the reason points there
    assert choice["chosen"] == "envelope" and choice["reason"] == ("1 budget refused for its losses, named in the "
                                                                   "'selection' warning: noise decides which budgets "
                                                                   "are kept")
    assert choice["edge_z"] > 1.96  # the accepted vertices alone would have given the studentized interval
    # and it is said: the intervals can fall short, with the sizes to add (any interval method, only with draws)
    for method in ("auto", "percentile"):
        read = optimal.isoflop(n, d, loss, n_resamples=200, seed=1, parametric=False, interval=method)
        said = [w.message for w in read.warnings if w.code == "selection"]
        assert len(said) == 1 and said[0].startswith("1 budget was refused for its losses (curvature not positive "
                                                     "(no minimum) at 1e+21 FLOPs)") and "bracket the optimum" in said[0]
    assert not [w for w in optimal.isoflop(n, d, loss, parametric=False).warnings if w.code == "selection"]
    clean = optimal.isoflop(runs, n_resamples=200, seed=1, parametric=False)
    assert not [w for w in clean.warnings if w.code == "selection"]


def test_the_threshold_follows_the_confidence():
    class Budget:
        n_min, n_max, compute = 1e8, 1e10, 1e19

    point = math.log(1e7) + 1.5  # 1.5 standard errors (of 1) inside ln 1e7, half the sizes' width below the smallest
    assert auto_choice([Budget()], [point], [1.0], 0.95)["chosen"] == "envelope"  # under 1.96
    at_80 = auto_choice([Budget()], [point], [1.0], 0.80)
    assert at_80["chosen"] == "studentized" and at_80["z_threshold"] == pytest.approx(1.2815515655446004)
    # a budget with no scale (its losses on the parabola) gives no distance, and does not decide
    assert auto_choice([Budget()], [point], [0.0], 0.95) == {
        "chosen": "studentized", "edge_z": None, "z_threshold": pytest.approx(1.959963984540054),
        "reason": "every vertex at least 1.96 standard errors inside the bounds its budget is accepted within"}


def test_envelope_keeps_an_unbounded_end():
    assert interval_envelope({"lo": 1.0, "hi": 2.0, "se": 0.3}, {"lo": 0.5, "hi": None, "se": 0.4}) == {
        "lo": 0.5, "hi": None, "se": 0.3}
