"""``optimal isoflop``: the text and JSON answers agree with ``optimal.isoflop``, the figure is drawn, and every bad
input is one line ``error: ...`` with exit status 2."""

import numpy as np
import pytest

import optimal
from optimal.laws import Chinchilla
from cli_helpers import assert_one_error, run, strict

BUDGETS = (1e18, 1e19, 1e20, 1e21)
LAW = Chinchilla(E=1.8, A=480.0, B=2000.0, alpha=0.30, beta=0.40)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_csv(path, runs, compute=None, extra=None, more=None):
    """Runs as a CSV: N, D, loss, then C (``compute``), split (``extra``) and ``more`` ({name: values}) when given."""
    more = more or {}
    header = "N,D,loss" + (",C" if compute is not None else "") + (",split" if extra is not None else "")
    lines = [header + "".join(f",{name}" for name in more)]
    for i, (n, d, loss) in enumerate(zip(runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist())):
        cells = [repr(n), repr(d), repr(loss)]
        if compute is not None:
            cells.append(repr(float(compute[i])))
        if extra is not None:
            cells.append(str(extra[i]))
        cells += [str(values[i]) for values in more.values()]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """28 noisy IsoFLOP runs (4 budgets x 7 sizes, alpha 0.30, beta 0.40), a compute column, and a split column."""
    runs = optimal.isoflop_runs(BUDGETS, LAW, width_decades=2.0, noise=0.003, seed=1)
    folder = tmp_path_factory.mktemp("isoflop")
    split = np.where(np.arange(len(runs.loss)) % 7 == 3, "b", "a")
    return runs, write_csv(folder / "runs.csv", runs, np.repeat(BUDGETS, 7), split), folder


def test_text_answer(capsys, grid):
    runs, csv, _ = grid
    code, out, err = run(capsys, ["isoflop", csv, "--no-parametric"])
    found = optimal.isoflop(runs, parametric=False)
    assert code == 0
    assert "a parabola of the loss (nats) in ln N" in out
    assert out.count("accepted") == 4
    assert f"a = {found.exponent:.4g}" in out
    assert f"{found.profiles[2].n_opt:.4g}" in out
    assert "the largest budget in the data (1e+21 FLOPs) and 100 x it" in out
    assert err == ""  # no parametric fit: nothing to warn about on a centred grid


def test_json_matches_the_library_and_is_strict(capsys, grid):
    runs, csv, _ = grid
    code, out, err = run(capsys, ["isoflop", csv, "--json", "--no-parametric", "--compute", "1e24"])
    answer = strict(out)
    found = optimal.isoflop(runs, parametric=False, targets=[1e24])
    assert code == 0
    assert set(answer) >= {"loss_scale", "budgets", "approach2", "approach3", "exponent_difference", "targets",
                           "predicted_bias", "warnings", "tolerance", "flops_per_param_token", "n_accepted"}
    assert answer["approach2"]["a"] == pytest.approx(found.exponent, rel=1e-12)
    assert [b["n_opt"] for b in answer["budgets"]] == pytest.approx([p.n_opt for p in found.profiles], rel=1e-12)
    assert set(answer["budgets"][0]) == {"compute", "compute_spread", "n_runs", "n_sizes", "n_min", "n_max",
                                         "width_decades", "coefficients", "curvature", "n_opt", "d_opt", "loss_opt",
                                         "offset_decades", "offset_half_widths", "accepted", "reason"}
    assert [t["compute"] for t in answer["targets"]] == [1e24] and answer["target_note"] == "as given"
    assert answer["approach3"] is None


@pytest.mark.slow
def test_parametric_beside_it_with_bootstrap_and_warnings(capsys, grid):
    _, csv, _ = grid
    code, out, err = run(capsys, ["isoflop", csv, "--json", "--bootstrap", "16", "--seed", "3"])
    answer = strict(out)
    assert code == 0
    assert answer["approach3"]["a"] == pytest.approx(0.4 / 0.7, abs=0.01)
    assert answer["approach2"]["bootstrap"]["n_resamples"] == 16
    assert answer["approach3"]["bootstrap"]["n_resamples"] == 16
    assert answer["targets"][0]["N_ratio"] < 1  # beta > alpha: Approach 2's vertices sit below N*
    assert "warning: asymmetric: " in err and "warning: bias: " in err
    assert {w["code"] for w in answer["warnings"]} >= {"asymmetric", "bias"}
    code, again, _ = run(capsys, ["isoflop", csv, "--json", "--bootstrap", "16", "--seed", "3"])
    assert strict(again)["approach2"]["bootstrap"] == answer["approach2"]["bootstrap"]  # same seed, same draws


def test_compute_column_where_and_plot(capsys, grid):
    _, csv, folder = grid
    out_png = folder / "isoflop.png"
    code, out, err = run(capsys, ["isoflop", csv, "--compute-col", "C", "--tolerance", "0", "--where", "split=a",
                                  "--no-parametric", "--bootstrap", "8", "--plot", out_png, "--json"])
    answer = strict(out)
    assert code == 0
    assert [b["compute"] for b in answer["budgets"]] == list(BUDGETS)  # read from the column, exactly
    assert [b["n_runs"] for b in answer["budgets"]] == [6] * 4  # --where left out one size per budget
    assert answer["approach2"]["bootstrap"]["n_with_failure"] == 0  # every size kept in every resample
    assert answer["rows_selected"] == [{"where": "split=a", "kept": 24, "of": 28}]
    assert "kept 24 of 28 rows (split=a)" in err and f"wrote {out_png}" in err
    assert out_png.read_bytes()[:8] == PNG_MAGIC


def test_interval_method(capsys, grid):
    runs, csv, _ = grid
    found = optimal.isoflop(runs, n_resamples=32, seed=1, parametric=False, interval="bc").to_dict()["approach2"]
    code, out, err = run(capsys, ["isoflop", csv, "--bootstrap", "32", "--seed", "1", "--interval", "bc",
                                  "--no-parametric", "--json"])
    answer = strict(out)["approach2"]["bootstrap"]
    assert code == 0 and answer["interval_method"] == "bc"
    assert answer["a"] == pytest.approx(found["bootstrap"]["a"], rel=1e-12)
    code, out, err = run(capsys, ["isoflop", csv, "--bootstrap", "32", "--seed", "1", "--no-parametric", "--json"])
    plain = strict(out)["approach2"]["bootstrap"]
    assert code == 0 and plain["interval_method"] == "auto" and plain["a"] != answer["a"]  # the default
    code, out, err = run(capsys, ["isoflop", csv, "--bootstrap", "32", "--interval", "bc", "--no-parametric"])
    assert code == 0 and "95% bias-corrected (BC) percentile intervals" in out


@pytest.mark.parametrize("method, text", [
    ("calibrated", "95% double-bootstrap calibrated percentile intervals, 200 second-level resamples"),
    ("studentized", "95% studentized (bootstrap-t) intervals"),
    ("auto", "95% auto intervals, here studentized (every vertex at least 1.96 standard errors inside the bounds its budget "
              "is accepted within"),
])
def test_interval_methods_are_the_librarys(capsys, grid, method, text):
    runs, csv, _ = grid
    found = optimal.isoflop(runs, n_resamples=32, seed=1, parametric=False, interval=method).to_dict()
    code, out, err = run(capsys, ["isoflop", csv, "--bootstrap", "32", "--seed", "1", "--interval", method,
                                  "--no-parametric", "--json"])
    answer = strict(out)["approach2"]["bootstrap"]
    assert code == 0 and answer["interval_method"] == method
    assert answer.get("inner_resamples") == (200 if method == "calibrated" else None)
    assert answer["a"] == found["approach2"]["bootstrap"]["a"] and answer["n_opt"] == found["approach2"]["bootstrap"]["n_opt"]
    assert strict(out)["targets"][-1]["approach2"]["N_interval"] == found["targets"][-1]["approach2"]["N_interval"]
    code, out, err = run(capsys, ["isoflop", csv, "--bootstrap", "32", "--interval", method, "--no-parametric"])
    assert code == 0 and text in out


def test_weight_and_cluster_columns(capsys, grid, tmp_path):
    runs, _, _ = grid
    split = np.where(np.arange(len(runs.loss)) % 7 == 3, "b", "a")
    config = [f"size-{i % 7}" for i in range(len(runs.loss))]  # one model config per size, tried at every budget
    csv = write_csv(tmp_path / "w.csv", runs, extra=split,
                    more={"w": np.where(split == "a", 1.0, 0.0), "config": config})
    # a run of weight 0 takes no part: the same vertices as leaving those rows out
    code, out, _ = run(capsys, ["isoflop", csv, "--weight-col", "w", "--no-parametric", "--json"])
    code_where, out_where, _ = run(capsys, ["isoflop", csv, "--where", "split=a", "--no-parametric", "--json"])
    weighted, kept = strict(out), strict(out_where)
    assert code == code_where == 0
    assert weighted["approach2"]["a"] == pytest.approx(kept["approach2"]["a"], abs=1e-12)
    assert [b["n_sizes"] for b in weighted["budgets"]] == [6] * 4
    # --cluster-col: one sign per config in each resample (7 configs), the same as the library's
    code, out, err = run(capsys, ["isoflop", csv, "--bootstrap", "16", "--seed", "2", "--cluster-col", "config",
                                  "--no-parametric", "--json"])
    found = optimal.isoflop(runs, clusters=config, n_resamples=16, seed=2, parametric=False)
    answer = strict(out)["approach2"]["bootstrap"]
    assert code == 0 and answer["n_clusters"] == 7 and answer["scheme"] == "wild"
    assert answer["a"] == pytest.approx(found.to_dict()["approach2"]["bootstrap"]["a"], rel=1e-12)
    code, old, err = run(capsys, ["isoflop", csv, "--bootstrap", "16", "--seed", "2", "--group-col", "config",
                                  "--no-parametric", "--json"])
    assert code == 0 and strict(old)["approach2"]["bootstrap"] == answer
    assert "warning: --group-col is deprecated, use --cluster-col" in err
    code, out, err = run(capsys, ["isoflop", csv, "--cluster-col", "config", "--no-parametric"])
    assert_one_error(code, out, err, "--cluster-col is used by the cluster bootstrap: add --bootstrap N")
    code, out, err = run(capsys, ["isoflop", csv, "--weight-col", "weight", "--no-parametric"])
    assert_one_error(code, out, err, "'weight'")


def test_figure_structure():
    from optimal.plot.isoflop import isoflop_figure

    runs = optimal.isoflop_runs(BUDGETS, LAW, noise=0.002, seed=0)
    found = optimal.isoflop(runs, n_resamples=8, parametric=False)
    left, right, _ = isoflop_figure(found).axes  # the profiles, N*(C), the colour bar of the budgets
    assert left.get_xscale() == "log" and right.get_yscale() == "log"
    assert len(left.collections) == 4  # one scatter per budget
    labels = [line.get_label() for line in right.get_lines()]
    assert any(label.startswith("Approach 2: N*") for label in labels) and "accepted vertices" in labels
    with pytest.raises(optimal.PlotError, match="draws an optimal.IsoflopResult"):
        isoflop_figure(runs)


def test_refused_budget_is_shown(capsys, tmp_path):
    base = optimal.isoflop_runs(BUDGETS, LAW, noise=0.002, seed=0)
    off = optimal.isoflop_runs((1e22,), LAW, width_decades=1.0, offset_decades=-1.5)
    runs = optimal.Runs(*(np.r_[a, b] for a, b in zip(base[:4], off[:4])), None)
    code, out, err = run(capsys, ["isoflop", write_csv(tmp_path / "runs.csv", runs), "--no-parametric"])
    assert code == 0
    assert "REFUSED: vertex outside the sizes tried by more than 0.5 of their width" in out
    assert "warning: refused: budget 1e+22 FLOPs refused (vertex outside the sizes tried by more than 0.5" in err


@pytest.mark.parametrize("options, message", [
    (["--tolerance", "1.5"], "tolerance must be a number from 0 up to (not including) 1, e.g. 0.05, got 1.5"),
    (["--tolerance", "-0.1"], "tolerance must be a number from 0 up to"),
    (["--tolerance", "x"], "argument --tolerance: 'x' is not a number"),
    (["--bootstrap", "1"], "--bootstrap must be an integer from 2 to"),
    (["--seed", "-3"], "--seed must be an integer from 0 to"),
    (["--confidence", "1"], "--confidence must be between 0 and 1"),
    (["--compute", "0"], "--compute: compute must be positive and finite, got 0"),
    (["--where", "N=>3"], "--where"),
    (["--plot", "out.xyz"], "cannot tell the image format"),
    (["--interval", "bc"], "--interval says how the bootstrap intervals are read: add --bootstrap N"),
    (["--bootstrap", "8", "--interval", "bca"], "argument --interval: invalid choice: 'bca'"),
])
def test_bad_options_fail_before_reading(capsys, tmp_path, options, message):
    # the runs file does not exist: an option error must come first
    code, out, err = run(capsys, ["isoflop", tmp_path / "missing.csv", *options])
    assert_one_error(code, out, err, message)


def test_bad_files_and_columns(capsys, grid, tmp_path):
    runs, csv, _ = grid
    code, out, err = run(capsys, ["isoflop", csv, "--compute-col", "budget", "--no-parametric"])
    assert_one_error(code, out, err, "'budget'")
    code, out, err = run(capsys, ["isoflop", csv, "--loss-col", "val_loss", "--no-parametric"])
    assert_one_error(code, out, err, "'val_loss'")
    code, out, err = run(capsys, ["isoflop", tmp_path / "missing.csv"])
    assert_one_error(code, out, err, "missing.csv")
    two_sizes = optimal.isoflop_runs(BUDGETS, LAW, n_sizes=2)
    code, out, err = run(capsys, ["isoflop", write_csv(tmp_path / "two.csv", two_sizes), "--no-parametric"])
    assert_one_error(code, out, err, "need at least 2 budgets with an accepted IsoFLOP vertex to fit N*(C), got 0 of 4")
    bad = tmp_path / "bad.csv"
    bad.write_text("N,D,loss\n1e9,1e10,2.5\n-1e9,1e10,2.4\n")
    code, out, err = run(capsys, ["isoflop", bad])
    assert_one_error(code, out, err, "not positive")
