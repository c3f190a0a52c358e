"""How far an answer extrapolates, and the warnings for answers not to trust: well-posed runs stay quiet,
ill-posed runs warn (from Python and from the CLI), caps and missing ranges are reported."""

import json
import warnings

import numpy as np
import pytest

import optimal
from optimal.cli import main
from optimal.allocation.extrapolation import decades_outside, extrapolation, range_warnings

# The pathology seen on a public 81-run set, reproduced on synthetic runs: 40 runs with N over 1.3 decades
# (1e8..2e9), 3% log-noise, seed 0. The fit drives E to ~0 and alpha to ~0.08 (truth: E = 1.82, alpha = 0.348),
# so at 1e24 FLOPs the "optimum" is N* ~ 3.8e12 parameters on ~0.012 tokens per parameter, and the fit and the
# allocation both report convergence. Seeds 1-5 of the same setting give sane answers (N* 5e10..4e11): nothing
# in the convergence flags tells the two apart, which is why the answer itself must be checked.
ILL_POSED = dict(n_runs=40, noise=0.03, n_range=(1e8, 2e9), seed=0)


def _fit(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # identifiability warnings are the fit's business, tested in test_fit
        runs = optimal.synthetic_runs(**kwargs)
        return runs, optimal.fit(*runs[:3])


@pytest.fixture(scope="module")
def ill_posed():
    return _fit(**ILL_POSED)


@pytest.fixture(scope="module")
def well_posed():
    return _fit(n_runs=40, seed=3)


def codes(answer, budget=None):
    return {w["code"] for w in answer.warnings if budget is None or w["budget"] == budget}


def test_decades_outside_a_range():
    assert list(decades_outside([1e3, 1e5, 1e7, 1e10], 1e4, 1e8)) == pytest.approx([1.0, 0.0, 0.0, 2.0])


def test_range_warnings_name_the_value_farthest_out_on_its_side():
    """One warning per quantity, about the value farthest outside (NaN: no optimum, not a distance); the advice
    points the way the value lies; runs (optimum=False) are named N, D and get no advice."""
    rows = optimal.FittedRange(1e8, 1e9, 1e10, 1e11, 1e20)
    found = range_warnings(rows, [1e9, 1e6, np.nan, 1e5], [3e12, 1e11, 1e10, 1e13])
    assert [(i, code) for i, code, _ in found] == [(3, "N_outside_range"), (3, "D_outside_range")]
    assert found[0][2].startswith("N* = 1e+05 lies 3 decades below the smallest N fitted (1e+08..1e+09; threshold 1)")
    assert found[0][2].endswith("add runs at smaller N before trusting it")
    assert found[1][2].startswith("D* = 1e+13 lies 2 decades above the largest D") and "larger D" in found[1][2]
    (run,) = range_warnings(rows, 1e10 * 1.5, 1e11, optimum=False)
    assert run[2] == ("N = 1.5e+10 lies 1.18 decades above the largest N fitted (1e+08..1e+09; threshold 1): the "
                      "law's form is untested there")
    assert range_warnings(rows, 9e9, 1e12) == [] and range_warnings(None, 1e30, 1e30) == []


def test_distances_use_the_answers_k_and_only_fitted_rows():
    rows = optimal.FittedRange.from_runs([1e8, 1e9, 1e11], [1e10, 1e11, 1e9], weights=[1, 1, 0])
    assert (rows.n_max, rows.d_min, rows.max_param_tokens) == (1e9, 1e10, 1e20)  # the zero-weight row is not fitted
    six = extrapolation(rows, 6e21, 1e10, 1e11, 6.0)
    eight = extrapolation(rows, 6e21, 1e10, 1e11, 8.0)
    assert six["compute_decades"] == pytest.approx(1.0)
    assert eight["compute_decades"] == pytest.approx(1.0 - np.log10(8 / 6))
    assert six["N_decades_outside"] == pytest.approx(1.0) and six["D_decades_outside"] == 0.0


def test_every_preset_carries_the_range_it_was_fitted_on():
    assert set(optimal.PRESET_RANGES) == set(optimal.PRESETS)
    answer = optimal.recommend("epoch2024", 5.76e23)
    (record,) = answer.records
    # Chinchilla's 5.76e23 FLOPs is 1.65 decades beyond the largest of Epoch's 240 rows (1.30e22 FLOPs)
    assert record["extrapolation"]["compute_decades"] == pytest.approx(np.log10(5.76e23 / 1.2956e22))
    assert 0.5 < record["extrapolation"]["N_decades_outside"] < 0.8
    assert answer.warnings == ()
    far = optimal.recommend("kaplan2020", 5.76e23)
    assert "N_outside_range" in codes(far)  # 1.9e11 parameters from runs up to 1.5e9


def test_a_law_without_a_range_says_so_and_invents_none():
    answer = optimal.recommend(optimal.Chinchilla(1.8, 480.0, 2100.0, 0.35, 0.37), [1e22, 1e24])
    assert all(v is None for r in answer.records for v in r["extrapolation"].values())
    assert sum("unknown" in note for note in answer.notes) == 1
    assert answer.warnings == () and answer.to_dict()["fitted_range"] is None


def test_well_posed_runs_asked_within_a_decade_give_no_warning(well_posed):
    runs, result = well_posed
    largest = 6.0 * np.max(runs.n_params * runs.n_tokens)
    answer = optimal.recommend(result, 5 * largest)
    (record,) = answer.records
    assert record["extrapolation"]["compute_decades"] == pytest.approx(np.log10(5))
    assert answer.warnings == (), answer.warnings


def test_ill_posed_runs_asked_for_1e24_warn(ill_posed):
    runs, result = ill_posed
    answer = optimal.recommend(result, 1e24)
    (record,) = answer.records
    assert record["converged"] and record["N"] > 1e12 and record["tokens_per_param"] < 0.1  # the pathology
    assert {"tokens_per_param", "N_outside_range"} <= codes(answer, 1e24)
    assert record["extrapolation"]["N_decades_outside"] > 2.5
    assert all("decades" in w["message"] or "tokens per parameter" in w["message"]
               for w in answer.warnings if w["budget"] == 1e24)


def test_ill_posed_runs_warn_from_the_cli(ill_posed, tmp_path, capsys):
    runs, _ = ill_posed
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss\n" + "".join(f"{n!r},{d!r},{l!r}\n" for n, d, l in zip(*map(lambda x: x.tolist(), runs[:3]))))
    code = main(["fit", str(path), "--compute", "1e24", "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    warned = json.loads(out)["fits"][0]["recommendation"]["warnings"]
    assert {(w["budget"], w["code"]) for w in warned} >= {(1e24, "tokens_per_param"), (1e24, "N_outside_range")}
    lines = [line for line in err.splitlines() if line.startswith("warning: [1e+24 FLOPs]")]
    assert len(lines) == len([w for w in warned if w["budget"] == 1e24])  # each once, on stderr
    code = main(["fit", str(path), "--compute", "1e24"])
    out, err = capsys.readouterr()
    assert code == 0 and err.count("tokens per parameter is outside") == 1 and "warning" not in out.split("law:")[1]
    # the fit's own warnings are in its summary on stdout, once, and on stderr once (text and JSON mode alike)
    assert out.count("the runs do not identify E") == 1 and err.count("the runs do not identify E") == 1


def test_a_capped_allocation_reports_the_cap_and_its_distance(well_posed):
    _, result = well_posed
    free = optimal.recommend(result, 1e24).records[0]
    answer = optimal.recommend(result, 1e24, max_tokens=free["D"] / 10)
    (record,) = answer.records
    assert record["bound"] == "max_tokens" and record["D"] == pytest.approx(free["D"] / 10)
    assert record["extrapolation"]["N_decades_outside"] > free["extrapolation"]["N_decades_outside"]
    (cap,) = [w for w in answer.warnings if w["code"] == "at_cap"]
    assert cap["budget"] == 1e24 and f"D = {free['D'] / 10:.3g}" in cap["message"]


def test_no_interior_optimum_is_flagged():
    # a law that never rewards data puts every FLOP into N: D* falls below one token
    answer = optimal.recommend(optimal.CustomLaw(lambda n, d: 1.0 + 10.0 * n ** -0.3), 1e22)
    assert "no_interior_optimum" in codes(answer, 1e22)


def test_thresholds_are_settable_and_checked(ill_posed):
    _, result = ill_posed
    strict = optimal.recommend("epoch2024", 5.76e23, thresholds=optimal.Thresholds(max_decades_outside=0.5))
    assert {"N_outside_range", "D_outside_range"} <= codes(strict)
    lax = optimal.recommend(result, 1e24, thresholds={"min_tokens_per_param": 1e-3, "max_decades_outside": 5})
    assert codes(lax, 1e24) == set()
    assert optimal.Thresholds().max_tokens_per_param == optimal.MAX_TOKENS_PER_PARAM == 1e4
    with pytest.raises(optimal.OptimalError, match="non-negative"):
        optimal.Thresholds(max_decades_outside=-1)
    with pytest.raises(optimal.OptimalError, match="below"):
        optimal.Thresholds(min_tokens_per_param=10, max_tokens_per_param=1)


def test_share_of_draws_at_a_cap_is_counted_and_warned(well_posed):
    _, result = well_posed
    boot = optimal.bootstrap(result, n_resamples=30, seed=0)
    point = optimal.recommend(boot, 1e23).records[0]
    # a cap just above the point's D: the point is free, but the draws wanting more data sit at the cap
    answer = optimal.recommend(boot, 1e23, max_tokens=point["D"] * 1.05)
    (record,) = answer.records
    assert record["bound"] is None and 0 < record["draws"]["n_at_cap"] < record["draws"]["n_draws"]
    assert record["draws"]["n_at_cap"] / record["draws"]["n_draws"] > optimal.MAX_SHARE_AT_EDGE
    assert record["intervals"]["D"]["hi"] == pytest.approx(point["D"] * 1.05)  # the draws at the cap stay in
    assert "draws_at_cap" in codes(answer, 1e23)
    loose = optimal.recommend(boot, 1e23, max_tokens=point["D"] * 1.05, thresholds={"max_share_at_edge": 1.0})
    assert "draws_at_cap" not in codes(loose)
