"""The one CLI convention (docs/cli.md): shared flags, deprecated spellings that say so, one JSON object with a
schema and the law, "wrote" lines on stderr, warnings on stderr, output failures as one error line."""

import subprocess
import sys

import numpy as np
import pytest

import optimal
from cli_helpers import assert_one_error, files, run, strict  # noqa: F401 (files is a fixture)
from optimal.cli.common import resolve_deprecated
from optimal.cli.main import build_parser


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A runs CSV (40 synthetic runs, with a cluster column) and a fit record saved with 8 bootstrap draws."""
    folder = tmp_path_factory.mktemp("convention")
    runs = optimal.synthetic_runs(n_runs=40)
    csv = folder / "runs.csv"
    csv.write_text("N,D,loss,config\n" + "".join(
        f"{n!r},{d!r},{l!r},c{i % 8}\n" for i, (n, d, l) in
        enumerate(zip(runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist()))))
    result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss)
    record = folder / "fit.json"
    optimal.save_fit(record, result, bootstrap=optimal.bootstrap(result, n_resamples=8), flops_per_param_token=6)
    return {"csv": csv, "record": record, "folder": folder, "result": result}


# --- deprecated spellings: each works, and says so once ------------------------------------------------------------

ALIASES = [  # (argv with the old spelling, the old spelling's name in the warning, what it becomes: (dest, value))
    (["plot", "F.json", "--kind", "fit", "--out", "x.png"], "the positional FIT.json", ("fit", "F.json")),
    (["predict", "F.json", "--params", "1e9", "--tokens", "2e10"], "the positional FIT.json", ("fit", "F.json")),
    (["suggest", "F.json", "--compute", "1e24", "--spend", "1e21"], "the positional FIT.json", ("fit", "F.json")),
    (["fit", "r.csv", "--budgets", "1e22", "1e23"], "--budgets", ("compute", [1e22, 1e23])),
    (["isoflop", "r.csv", "--budgets", "1e24"], "--budgets", ("compute", [1e24])),
    (["suggest", "--fit", "F.json", "--target-compute", "1e24", "--spend", "1e21"], "--target-compute",
     ("compute", 1e24)),
    (["fit", "r.csv", "--group-col", "config", "--bootstrap", "10"], "--group-col", ("cluster_col", "config")),
    (["validate", "r.csv", "--rolling", "--max-iter", "50"], "--max-iter", ("bootstrap_max_iter", 50)),
]


@pytest.mark.parametrize("argv, old, becomes", ALIASES, ids=[f"{a[0]} {o}" for a, o, _ in ALIASES])
def test_a_deprecated_spelling_works_and_says_so_once(capsys, argv, old, becomes):
    args = resolve_deprecated(build_parser().parse_args(argv))
    err = capsys.readouterr().err
    dest, value = becomes
    assert getattr(args, dest) == value
    assert err.count("\n") == 1 and err.startswith(f"warning: {old} is deprecated, use "), err


def test_deprecated_spellings_are_hidden_from_help():
    text = build_parser()._subparsers._group_actions[0].choices["fit"].format_help()
    assert "--budgets" not in text and "--group-col" not in text and "--cluster-col" in text


def test_an_old_and_a_new_spelling_together_is_an_error(capsys, files):
    code, out, err = run(capsys, ["fit", files["csv"], "--budgets", "1e22", "--compute", "1e23"])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: --budgets and --compute are the same option"), err


def test_the_positional_record_end_to_end(capsys, files):
    code, out, err = run(capsys, ["predict", files["record"], "--params", "1e9", "--tokens", "2e10", "--json"])
    new = run(capsys, ["predict", "--fit", files["record"], "--params", "1e9", "--tokens", "2e10", "--json"])
    assert code == 0 and "warning: the positional FIT.json is deprecated, use --fit FIT.json" in err
    assert strict(out) == strict(new[1])


def test_fit_max_iter_is_the_polish_budget_and_says_so_beside_a_bootstrap(capsys, files):
    code, out, err = run(capsys, ["fit", files["csv"], "--max-iter", "1", "--json"])
    fitted = strict(out)["fits"][0]
    assert code == 0 and fitted["config"]["max_iter"] == 1 and not fitted["converged"]
    code, out, err = run(capsys, ["fit", files["csv"], "--max-iter", "300", "--bootstrap", "4", "--json"])
    assert code == 0 and "warning: --max-iter sets each fit's polish budget" in err
    code, out, err = run(capsys, ["fit", files["csv"], "--bootstrap", "20", "--bootstrap-max-iter", "1", "--json"])
    summary = strict(out)["fits"][0]["bootstrap"]
    assert code == 0 and summary["n_failed"] > 0 and "--max-iter sets" not in err


# --- JSON: one strict object with a schema and the law -------------------------------------------------------------

def test_every_json_output_is_one_object_with_schema_and_law(capsys, files):
    record, csv = files["record"], files["csv"]
    law = files["result"].law
    commands = {
        "solve": ["solve", "--compute", "1e24", "--fit", record, "--json"],
        "plan": ["plan", "--compute", "1e24", "--fit", record, "--json"],
        "predict": ["predict", "--fit", record, "--params", "1e9", "--tokens", "2e10", "--json"],
        "suggest": ["suggest", "--fit", record, "--compute", "1e24", "--spend", "1e21", "--json"],
        "fit": ["fit", csv, "--compute", "1e22", "--json"],
    }
    for command, argv in commands.items():
        code, out, err = run(capsys, argv)
        answer = strict(out)
        assert code == 0 and isinstance(answer, dict), (command, err)
        assert answer["schema"] == f"optimal.{command}/1"
        assert answer["law"]["family"] == "chinchilla"
        assert answer["law"]["params"] == pytest.approx(law._asdict(), rel=1e-9), command


def test_grouped_fits_are_one_object_with_every_groups_law(capsys, tmp_path):
    runs = optimal.synthetic_runs(n_runs=48, seed=1)
    csv = tmp_path / "runs.csv"
    csv.write_text("N,D,loss,set\n" + "".join(f"{n!r},{d!r},{l!r},{'ab'[i % 2]}\n" for i, (n, d, l) in
                                              enumerate(zip(runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist()))))
    code, out, _ = run(capsys, ["fit", csv, "--by", "set", "--json"])
    answer = strict(out)
    assert code == 0 and answer["schema"] == "optimal.fit/1" and "law" not in answer  # two laws, one each
    assert [f["group"] for f in answer["fits"]] == ["a", "b"]
    assert all(set(f["law"]["params"]) == {"E", "A", "B", "alpha", "beta"} for f in answer["fits"])
    code, out, _ = run(capsys, ["fit", csv, "--by", "set", "--shared", "alpha", "beta", "--json"])
    answer = strict(out)
    assert code == 0 and set(answer["law"]["params"]) == {"a", "b"}


# --- files written, warnings, text -----------------------------------------------------------------------------------

def test_every_file_written_says_so_on_stderr(capsys, files, tmp_path):
    saved, figure = tmp_path / "saved.json", tmp_path / "fit.png"
    code, out, err = run(capsys, ["fit", files["csv"], "--save", saved, "--json"])
    assert code == 0 and f"wrote {saved}\n" in err and "wrote" not in out
    code, out, err = run(capsys, ["plot", "--fit", saved, "--kind", "fit", "--out", figure])
    assert code == 0 and out == "" and err == f"wrote {figure}\n"


def test_fit_in_text_mode_prints_its_warnings_on_stderr(capsys, tmp_path):
    runs = optimal.synthetic_runs(n_runs=80)
    keep = runs.n_params < 10 ** (np.log10(runs.n_params.min()) + 0.6)  # N spans 0.6 decades: weakly identified
    n, d, loss = (x[keep] for x in runs[:3])
    csv = tmp_path / "runs.csv"
    csv.write_text("N,D,loss\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in zip(n.tolist(), d.tolist(),
                                                                                   loss.tolist())))
    code, out, err = run(capsys, ["fit", csv])
    with pytest.warns(Warning):
        result = optimal.fit(n, d, loss)
    assert code == 0 and result.warnings
    for w in result.warnings:
        assert f"warning: fit: {' '.join(str(w).split())}" in err


def test_plan_with_a_given_price_does_not_call_it_a_placeholder(capsys):
    code, out, _ = run(capsys, ["plan", "--compute", "1e23", "--price-per-hour", "2.5"])
    assert code == 0 and "placeholder" not in out and "given" in out
    code, out, _ = run(capsys, ["plan", "--compute", "1e23"])
    assert code == 0 and "placeholder" in out  # the default price is one


def test_plan_prints_no_zero_width_intervals(capsys, files):
    code, out, _ = run(capsys, ["plan", "--fit", files["record"], "--compute", "1e23", "--accelerators", "64"])
    assert code == 0
    for line in out.splitlines():
        if "%:" in line:
            lo, hi = line.split("%:")[1].split("]")[0].split("..")
            assert lo.strip() != hi.strip(), line
    assert "no interval for accelerator hours, wall clock days, energy kwh, cost" in out
    code, out, _ = run(capsys, ["plan", "--fit", files["record"], "--compute", "1e23", "--json"])
    intervals = strict(out)["intervals"]
    assert "cost" not in intervals and intervals["weights_bytes"]["lo"] < intervals["weights_bytes"]["hi"]


def test_n_polish_with_a_joint_fit_is_refused(capsys, files):
    code, out, err = run(capsys, ["fit", files["csv"], "--by", "config", "--shared", "alpha", "--n-polish", "4"])
    assert code == 2 and out == "" and err.startswith("error: --n-polish does not apply to a joint fit"), err


def test_shared_on_a_column_with_one_group_says_so_in_the_flags_given(capsys, tmp_path, files):
    text = files["csv"].read_text().splitlines()
    csv = tmp_path / "one.csv"
    csv.write_text("\n".join([text[0]] + [",".join(line.split(",")[:3] + ["same"]) for line in text[1:]]) + "\n")
    code, out, err = run(capsys, ["fit", csv, "--by", "config", "--shared", "alpha"])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--by gave 1 group ('same')" in err and "need groups" not in err, err


def test_isoflop_tolerance_zero_keeps_a_budget_computed_in_floating_point(capsys, tmp_path):
    runs = optimal.isoflop_runs(budgets=(1e19, 1e20, 1e21), n_sizes=7, seed=0)
    c = 6 * runs.n_params * runs.n_tokens  # each budget's k N D differs from its neighbours' by an ulp or two
    assert len(np.unique(c)) > 3  # the rounding this test is about
    csv = tmp_path / "runs.csv"
    csv.write_text("N,D,loss\n" + "".join(f"{n!r},{d!r},{l!r}\n" for n, d, l in
                                          zip(runs.n_params.tolist(), runs.n_tokens.tolist(), runs.loss.tolist())))
    code, out, err = run(capsys, ["isoflop", csv, "--tolerance", "0", "--no-parametric", "--json"])
    assert code == 0, err
    assert len(strict(out)["budgets"]) == 3


# --- output that cannot be written ---------------------------------------------------------------------------------

def _program(command, shell_redirect):
    return subprocess.run(f"{sys.executable} -m optimal {command} {shell_redirect}", shell=True,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("redirect, reason", [("> /dev/full", "no space left"), (">&-", "stdout is closed")])
def test_output_that_cannot_be_written_is_one_error_line(redirect, reason):
    proc = _program("solve --compute 1e24", redirect)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: cannot write the output: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert reason in proc.stderr


@pytest.mark.parametrize("command", ["--help", "--version", "validate --help"])
def test_help_and_version_into_a_full_disk_are_one_error_line(command):
    """argparse prints --help and --version itself and swallowed the failed write: both exited 0 into /dev/full."""
    proc = _program(command, "> /dev/full")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "error: cannot write the output: no space left on the device stdout writes to\n"


def test_output_into_a_closed_pipe_is_one_error_line():
    # (and ends quietly: no traceback, no BrokenPipeError; tests/cli/test_cli.py's own run of this was merged here)
    budgets = " ".join(f"{c:.6g}" for c in np.logspace(18, 26, 2000))  # ~400 KB of JSON: more than a pipe holds
    proc = subprocess.run(f"{sys.executable} -m optimal solve --compute {budgets} --json | head -c 10; "
                          "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert proc.stderr.startswith("error: cannot write the output: ") and proc.stderr.count("\n") == 1


def test_plot_compute_reaches_the_figure(tmp_path, monkeypatch):
    """`optimal plot --compute C` marks the user's budgets: the value reaches figure_from_record (before it did not
    exist, and every figure marked Chinchilla's 5.76e23)."""
    from optimal import plot
    from optimal.cli.main import main

    seen = {}
    real = plot.figure_from_record

    def spy(path, kind, preset=None, *, compute=None, **options):
        seen["compute"] = compute
        return real(path, kind, preset=preset, compute=compute, **options)

    monkeypatch.setattr(plot, "figure_from_record", spy)
    out = tmp_path / "frontier.png"
    assert main(["plot", "--preset", "hoffmann2022", "--kind", "frontier", "--compute", "1e22", "3e24",
                 "--out", str(out)]) == 0
    assert list(seen["compute"]) == [1e22, 3e24] and out.stat().st_size > 0


def _spy_frontier(monkeypatch):
    """What ``optimal plot --kind frontier`` draws: the law and k given to ``frontier`` (no figure is drawn)."""
    from optimal.plot import figures

    seen = {}

    class Drawn(Exception):
        pass

    def frontier(law, *args, flops_per_param_token, **kwargs):
        seen.update(law=law, k=flops_per_param_token)
        raise Drawn

    monkeypatch.setattr(figures, "frontier", frontier)
    return seen, Drawn


def test_plot_k_is_given_else_the_records_else_6(capsys, tmp_path, files, monkeypatch):
    """plot --flops-per-param-token K reaches where the figure turns N, D into C; without it, the record's k, and
    6 for a preset (before, plot had no such option: every figure used 6)."""
    seen, drawn = _spy_frontier(monkeypatch)
    record = optimal.load_record(files["record"])
    with_k = tmp_path / "k8.json"
    optimal.save_fit(with_k, record.fit, flops_per_param_token=8.0)
    for argv, k in [(["--fit", with_k], 8.0), (["--fit", with_k, "--flops-per-param-token", 7], 7.0),
                    (["--fit", files["record"]], 6.0), (["--preset", "hoffmann2022", "--flops-per-param-token", 7], 7.0)]:
        with pytest.raises(drawn):
            run(capsys, ["plot", *argv, "--kind", "frontier", "--out", tmp_path / "f.png"])
        assert seen["k"] == k, argv
    for value in ("0", "-6", "nan"):
        assert_one_error(*run(capsys, ["plot", "--fit", with_k, "--kind", "frontier", "--flops-per-param-token", value,
                                       "--out", tmp_path / "f.png"]), "k in C = k N D")


def test_plot_group_of_a_record_of_one_fit_is_refused(capsys, tmp_path, files):
    assert_one_error(*run(capsys, ["plot", "--fit", files["record"], "--group", "a", "--kind", "frontier", "--out",
                                   tmp_path / "f.png"]), "holds one law, not a joint fit of several groups")


@pytest.mark.slow
def test_plot_group_draws_that_groups_law_of_a_joint_fit(capsys, tmp_path, monkeypatch):
    """plot --fit JOINT.json --group b draws group b's law (and its draws); without --group, one error line naming
    the groups (before, a joint fit's record could not be plotted at all)."""
    runs = optimal.synthetic_runs(n_runs=60, noise=0.01, seed=11)
    labels = np.where(np.arange(60) % 2, "b", "a")
    result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, groups=labels, shared=["alpha", "beta"])
    record = tmp_path / "joint.json"
    optimal.save_fit(record, result, bootstrap=optimal.bootstrap(result, n_resamples=4))
    out = tmp_path / "b.png"
    code, _, err = run(capsys, ["plot", "--fit", record, "--group", "b", "--kind", "bootstrap", "--out", out])
    assert code == 0 and out.stat().st_size > 0, err
    assert_one_error(*run(capsys, ["plot", "--fit", record, "--kind", "frontier", "--out", out]),
                     "holds a joint fit of groups a, b, one law per group: name one")
    assert_one_error(*run(capsys, ["plot", "--fit", record, "--group", "c", "--kind", "frontier", "--out", out]),
                     "'c' is not one")
    seen, drawn = _spy_frontier(monkeypatch)
    with pytest.raises(drawn):
        run(capsys, ["plot", "--fit", record, "--group", "b", "--kind", "frontier", "--out", out])
    assert seen["law"] == optimal.load_fit(record).group("b").law
