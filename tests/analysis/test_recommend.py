"""One answer for "what should I train at budget C": the point, its intervals (same k, same caps), the fit's
own k and convergence, and target losses answered per draw. Each test names the CLI bug it guards against."""

import contextlib
import dataclasses
import io
import json

import numpy as np
import pytest

import optimal
from optimal.cli import main

K = 8.0  # a FLOP count other than the default 6, so that any place that forgets it shows


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


@pytest.fixture(scope="module")
def runs():
    return optimal.synthetic_runs(n_runs=40, seed=3)


@pytest.fixture(scope="module")
def flops_csv(runs, tmp_path_factory):
    """The runs with training compute counted as C = 8 N D (read back with --flops-col C --flops-per-param-token 8)."""
    path = tmp_path_factory.mktemp("runs") / "runs.csv"
    rows = [f"{n!r},{K * n * d!r},{l!r}" for n, d, l in zip(*(x.tolist() for x in runs[:3]))]
    path.write_text("N,C,loss\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def fitted(flops_csv, tmp_path_factory):
    """``fit --flops-col C --flops-per-param-token 8 --bootstrap 30 --budgets 1e22 --save --json``: record, output."""
    path = tmp_path_factory.mktemp("fit") / "fit.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["fit", str(flops_csv), "--flops-col", "C", "--flops-per-param-token", str(K), "--bootstrap", "30",
                     "--compute", "1e22", "--save", str(path), "--json"])
    assert code == 0
    return path, json.loads(printed.getvalue())["fits"][0]


@pytest.fixture(scope="module")
def saved(fitted):
    return fitted[0]


def fit_json(capsys, flops_csv, *extra):
    out, _ = cli(capsys, "fit", flops_csv, "--flops-col", "C", "--flops-per-param-token", K, "--json", *extra)
    return json.loads(out)["fits"][0]


def test_fit_budgets_text_uses_the_given_k(capsys, flops_csv, tmp_path):
    """Bug: the text output of ``fit --budgets`` allocated with k = 6 whatever --flops-per-param-token said."""
    record = tmp_path / "fit.json"
    out, _ = cli(capsys, "fit", flops_csv, "--flops-col", "C", "--flops-per-param-token", K, "--compute", "1e22",
                 "--save", record)
    law = optimal.load_fit(record).law
    right = optimal.compute_optimal(law, 1e22, flops_per_param_token=K)
    wrong = optimal.compute_optimal(law, 1e22)
    assert f"{float(right.n_params):.4g}" in out and f"{float(wrong.n_params):.4g}" not in out


def test_fit_budgets_json_without_bootstrap_has_the_allocation(capsys, flops_csv):
    """Bug: ``fit --budgets --json`` without ``--bootstrap`` dropped the allocation."""
    output = fit_json(capsys, flops_csv, "--compute", "1e22", "1e23")
    answers = output["recommendation"]["allocations"]
    assert [a["compute"] for a in answers] == [1e22, 1e23]
    assert {"N", "D", "tokens_per_param", "loss", "extrapolation"} <= set(answers[0])
    assert output["recommendation"]["flops_per_param_token"] == K


def test_bootstrap_intervals_use_the_given_k(saved):
    """Bug: every bootstrap interval was computed with k = 6. An allocation depends on C/k only, so intervals at
    (C, k = 8) must be those at (6C/8, k = 6)."""
    boot = optimal.load_bootstrap(saved)
    answer = optimal.recommend(boot, 1e22, flops_per_param_token=K)
    (expected,) = optimal.allocate_draws(boot, [1e22 * 6 / K], 6.0)
    (wrong,) = optimal.allocate_draws(boot, [1e22], 6.0)
    got = answer.records[0]["intervals"]
    for key in ("N", "D"):
        assert got[key]["lo"] == pytest.approx(expected[key]["lo"], rel=1e-9)
        assert got[key]["lo"] != pytest.approx(wrong[key]["lo"], rel=1e-3)


def test_fit_bootstrap_json_has_the_point_and_agrees_with_itself(fitted):
    """Bug: with ``--bootstrap`` the JSON had intervals but no point N*, and the intervals ignored k."""
    saved, output = fitted
    (answer,) = output["recommendation"]["allocations"]
    law = optimal.load_fit(saved).law
    assert answer["N"] == pytest.approx(float(optimal.compute_optimal(law, 1e22, flops_per_param_token=K).n_params), rel=1e-9)
    (legacy,) = output["bootstrap"]["allocation"]
    assert legacy["N"] == answer["intervals"]["N"]  # one computation, one answer
    assert answer["intervals"]["N"]["lo"] < answer["N"] < answer["intervals"]["N"]["hi"]


def test_caps_apply_to_the_intervals_too(saved, capsys):
    """Bug: --max-tokens capped the point but not its interval, so the point fell outside its own interval."""
    free = json.loads(cli(capsys, "solve", "--fit", saved, "--compute", "1e22", "--json")[0])["allocations"][0]
    cap = free["D"] / 3
    out, _ = cli(capsys, "solve", "--fit", saved, "--compute", "1e22", "--max-tokens", cap, "--json")
    (answer,) = json.loads(out)["allocations"]
    d, n = answer["intervals"]["D"], answer["intervals"]["N"]
    assert answer["bound"] == "max_tokens" and answer["D"] == pytest.approx(cap)
    assert d["hi"] <= cap * (1 + 1e-9) and n["lo"] <= answer["N"] * (1 + 1e-9) and answer["N"] <= n["hi"] * (1 + 1e-9)
    assert answer["draws"]["n_at_cap"] == answer["draws"]["n_draws"]


def test_the_fit_record_keeps_its_k_and_solve_uses_it(saved, capsys):
    """Bug: the record did not store the k of --flops-col, so ``solve --fit`` assumed 6."""
    assert json.loads(saved.read_text())["flops_per_param_token"] == K
    law = optimal.load_fit(saved).law
    by_record = json.loads(cli(capsys, "solve", "--fit", saved, "--compute", "1e22", "--json")[0])
    assert (by_record["flops_per_param_token"], by_record["flops_per_param_token_from"]) == (K, "fit record")
    assert by_record["allocations"][0]["N"] == pytest.approx(
        float(optimal.compute_optimal(law, 1e22, flops_per_param_token=K).n_params), rel=1e-9)
    override = json.loads(cli(capsys, "solve", "--fit", saved, "--compute", "1e22", "--flops-per-param-token", "6", "--json")[0])
    assert (override["flops_per_param_token"], override["flops_per_param_token_from"]) == (6.0, "argument")
    text, _ = cli(capsys, "solve", "--fit", saved, "--compute", "1e22")
    assert "k = 8 FLOPs per parameter per token (from the fit record)" in text


def test_target_loss_intervals_are_on_the_compute_per_draw(saved, capsys):
    """Bug: ``solve --fit --target-loss`` gave intervals of N* at the point's budget, not of the compute each draw
    needs to reach the loss. Draws that cannot reach it are counted and make the interval unbounded above."""
    boot = optimal.load_bootstrap(saved)
    e_draws = np.exp(boot.good[:, 0])
    target = float(np.quantile(e_draws, 0.85))  # above the point's E, at or below the E of ~15% of draws
    assert target > boot.fit.params["E"] * 1.0001
    out, err = cli(capsys, "solve", "--fit", saved, "--target-loss", target, "--json")
    (answer,) = json.loads(out)["allocations"]
    needed = []
    for theta in boot.good:  # the reference: compute_for_loss per draw, +inf where the draw cannot reach it
        try:
            needed.append(float(optimal.compute_for_loss(optimal.Chinchilla(*np.exp(theta[:3]), *theta[3:]), target, K).compute))
        except optimal.UnreachableLossError:
            needed.append(np.inf)
    needed = np.asarray(needed)
    assert answer["draws"]["n_unreachable"] == np.sum(~np.isfinite(needed)) >= np.sum(e_draws >= target) > 0
    lo = np.percentile(np.where(np.isfinite(needed), needed, 1e300), 2.5)
    assert answer["intervals"]["compute"]["lo"] == pytest.approx(lo, rel=1e-9)
    assert answer["intervals"]["compute"]["hi"] is None  # more than 2.5% of draws need unbounded compute
    assert answer["intervals"]["compute"]["lo"] < answer["compute"]
    assert "cannot reach loss" in err
    text, _ = cli(capsys, "solve", "--fit", saved, "--target-loss", target)
    assert "unbounded" in text


def test_an_unconverged_fit_says_so_in_its_allocation(runs, tmp_path, capsys):
    """Bug: the allocation said "converged yes" from a fit that had not converged."""
    converged = optimal.fit(*runs[:3])
    # as the fit reports a start that ran out of iterations (a real one needs another compile: max_iter is static)
    result = dataclasses.replace(converged, converged=False, reason="max iterations")
    answer = optimal.recommend(result, 1e22)
    assert answer.records[0]["fit_converged"] is False and answer.records[0]["converged"]
    assert [w["code"] for w in answer.warnings].count("fit_not_converged") == 1
    path = tmp_path / "unconverged.json"
    optimal.save_fit(path, result)
    text, err = cli(capsys, "solve", "--fit", path, "--compute", "1e22")
    assert "yes, fit NO" in text and "the fit did not converge" in err
    assert optimal.recommend(converged, 1e22).records[0]["fit_converged"] is True


def test_one_function_for_every_source(saved):
    """A record path, a FitResult, a BootstrapResult and a law give the same point; only provenance differs."""
    boot = optimal.load_bootstrap(saved)
    answers = [optimal.recommend(s, 1e22, flops_per_param_token=K) for s in (saved, boot.fit, boot, boot.fit.law)]
    assert len({a.records[0]["N"] for a in answers}) == 1
    assert [a.confidence is not None for a in answers] == [True, False, True, False]
    assert [a.fitted_range is not None for a in answers] == [True, True, True, False]
    assert optimal.recommend(saved, 1e22, bootstrap=False).confidence is None
    with pytest.raises(optimal.OptimalError, match="either compute or target_loss"):
        optimal.recommend(saved)
    with pytest.raises(optimal.UnknownPresetError):
        optimal.recommend("nope", 1e22)


def _compute_for_loss_per_draw(boot, targets, **caps):
    """The reference (the loop ``recommend`` ran before it was vmapped): ``compute_for_loss`` per draw and target,
    +inf (N, D, compute), NaN tokens per parameter, not converged and bound 0 where the draw cannot reach it."""
    shape = (len(boot.good), len(targets))
    out = {key: np.full(shape, np.inf) for key in ("compute", "N", "D")}
    out.update(tokens_per_param=np.full(shape, np.nan), converged=np.zeros(shape, bool), bound=np.zeros(shape, int))
    for j, theta in enumerate(boot.good):
        law = boot.fit.family.law_from_theta(np.asarray(theta))
        for i, target in enumerate(targets):
            try:
                found = optimal.compute_for_loss(law, target, **caps)
            except optimal.UnreachableLossError:
                continue
            for key, value in zip(("compute", "N", "D", "tokens_per_param", "converged", "bound"),
                                  (found.compute, found.n_params, found.n_tokens, found.tokens_per_param, found.converged,
                                   found.bound)):
                out[key][j, i] = value
    return out


@pytest.mark.parametrize("caps", [{}, {"max_tokens": 1e13}], ids=["free", "capped"])
def test_target_loss_draws_are_one_vmapped_program_equal_to_compute_for_loss_per_draw(saved, caps):
    """``recommend(target_loss=)`` solved every draw in a Python loop (0.95 s per target at 2000 draws); the
    vmapped program must give the loop's numbers (to XLA's vectorised rounding, 1e-12 relative; bit for bit on
    these draws here), the same unreachable draws (+inf), and so the same intervals."""
    from optimal._util.stats import interval, unbounded_interval
    from optimal.allocation.allocate import compute_for_loss_draws

    boot = optimal.load_bootstrap(saved)
    e_draws = np.sort(np.exp(boot.good[:, 0]))
    # one target every draw reaches, one some draws cannot (their E is above it), one no draw reaches
    targets = np.array([float(boot.fit.params["E"]) * 1.3, float(np.quantile(e_draws, 0.85)), 0.5 * e_draws[0]])
    reference = _compute_for_loss_per_draw(boot, targets, flops_per_param_token=K, **caps)
    found = compute_for_loss_draws(boot.good, targets, K, family=boot.fit.family, **caps)
    for key, value in zip(("compute", "N", "D", "tokens_per_param", "converged", "bound"),
                          (found.compute, found.n_params, found.n_tokens, found.tokens_per_param, found.converged,
                           found.bound)):
        if value.dtype == bool or key == "bound":
            np.testing.assert_array_equal(value, reference[key], err_msg=key)
        else:  # equal infinities and NaNs, finite values to 1e-12
            np.testing.assert_allclose(value, reference[key], rtol=1e-12, err_msg=key)
    unreachable = ~np.isfinite(reference["compute"])
    assert not unreachable[:, 0].any() and 0 < unreachable[:, 1].sum() < len(boot.good) and unreachable[:, 2].all()
    if caps:
        assert (reference["bound"] == 1).any()  # the cap binds for some draws
    answer = optimal.recommend(boot, target_loss=targets[:2], flops_per_param_token=K, **caps)
    for i, record in enumerate(answer.records):
        tpp = reference["tokens_per_param"][:, i]
        expected = {key: unbounded_interval(reference[key][:, i], boot.confidence) for key in ("compute", "N", "D")}
        expected["tokens_per_param"] = (interval(tpp, boot.confidence) if not unreachable[:, i].any()
                                        else {"lo": None, "hi": None, "se": None})
        for key, bounds in expected.items():
            got = record["intervals"][key]
            assert {k: v is None for k, v in got.items()} == {k: v is None for k, v in bounds.items()}, key
            assert {k: v for k, v in got.items() if v is not None} == pytest.approx(
                {k: v for k, v in bounds.items() if v is not None}, rel=1e-12), key
        assert record["draws"]["n_unreachable"] == unreachable[:, i].sum()


@pytest.mark.parametrize("name", sorted(optimal.PRESETS))
def test_a_preset_passed_as_a_law_keeps_its_fitted_range(name):
    """Bug: ``recommend(optimal.preset("epoch2024"), 1e26)`` lost the preset's fitted range (no extrapolation
    distances, no warnings, even at 1e26) while ``recommend("epoch2024", 1e26)`` kept it."""
    by_name = optimal.recommend(name, 1e26).to_dict()
    by_law = optimal.recommend(optimal.preset(name), 1e26).to_dict()
    assert by_law == by_name
    assert by_law["fitted_range"] is not None and by_law["allocations"][0]["extrapolation"]["compute_decades"] > 1
    assert by_law["warnings"]  # 1e26 lies far beyond every preset's runs


def test_a_law_that_is_not_a_preset_has_no_range():
    moved = optimal.preset("epoch2024")._replace(E=1.8)
    answer = optimal.recommend(moved, 1e26)
    assert answer.fitted_range is None and answer.source == "law Chinchilla"
    assert optimal.recommend(moved, 1e26, fitted_range=optimal.recommend("epoch2024", 1e26).fitted_range).fitted_range


def test_a_loss_flat_along_the_budget_line_says_n_star_is_not_determined():
    law = optimal.preset("muennighoff2023")
    for unique, flat in ((1e6, True), (1e8, True), (1e10, False)):
        answer = optimal.recommend(law, 1e22, unique_tokens=unique)
        said = [w for w in answer.warnings if w["code"] == "not_determined"]
        record = answer.records[0]
        n, d, k = record["N"], record["D"], answer.flops_per_param_token
        # independently: the law's own loss at 3 N* and N* / 3 along the line C = k N D
        at = law._replace(unique_tokens=unique)
        losses = [float(at.loss(n * f, 1e22 / (k * n * f))) for f in (1.0, 3.0, 1 / 3)]
        assert (max(abs(v - losses[0]) for v in losses[1:]) < 1e-9 * losses[0]) == flat
        assert bool(said) == flat, (unique, said)
    assert not [w for w in optimal.recommend(optimal.preset("hoffmann2022"), [1e20, 1e24]).warnings
                if w["code"] == "not_determined"]


def test_solve_json_writes_the_unique_tokens_it_answered_with(capsys):
    code = main(["solve", "--compute", "1e22", "--unique-tokens", "1e9", "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and "non-finite" not in err
    assert json.loads(out)["law"]["params"]["unique_tokens"] == 1e9
    code = main(["solve", "--compute", "1e22", "--preset", "muennighoff2023", "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and "non-finite" not in err and json.loads(out)["law"]["params"]["unique_tokens"] is None
