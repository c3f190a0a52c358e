"""The command line: output formats, and one readable line with exit status 2 for every bad input."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import optimal
from optimal.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_solve_default_preset_table(capsys):
    code, out, _ = run(capsys, "solve", "--compute", "5.76e23")
    assert code == 0
    assert "7.225e+10" in out and "1.329e+12" in out and "18.4" in out


def test_solve_json_keys_and_values(capsys):
    code, out, _ = run(capsys, "solve", "--compute", "5.76e23", "1e25", "--preset", "hoffmann2022", "--json")
    answer = json.loads(out)
    records = answer["allocations"]
    assert code == 0 and len(records) == 2
    assert answer["schema"] == "optimal.solve/1"
    assert answer["law"] == {"family": "chinchilla", "params": optimal.preset("hoffmann2022")._asdict()}
    assert set(answer) == {"schema", "law", "source", "flops_per_param_token", "flops_per_param_token_from", "max_tokens", "max_params",
                           "fitted_range", "bootstrap", "question", "flops_model", "unique_data", "allocations",
                           "warnings", "notes", "status"}
    assert set(records[0]) == {"compute", "N", "D", "loss", "tokens_per_param", "converged", "bound", "fit_converged",
                               "extrapolation"}
    assert set(records[0]["extrapolation"]) == {"compute_decades", "N_decades_outside", "D_decades_outside"}
    assert records[0]["N"] == pytest.approx(3.22e10, rel=2e-3) and records[0]["bound"] is None


def test_solve_caps_and_target_loss(capsys):
    _, out, _ = run(capsys, "solve", "--compute", "5.76e23", "--max-tokens", "5e11", "--json")
    assert json.loads(out)["allocations"][0]["bound"] == "max_tokens"
    _, out, _ = run(capsys, "solve", "--target-loss", "2.0", "--json")
    assert json.loads(out)["allocations"][0]["loss"] == pytest.approx(2.0)


def test_solve_coefficients_file(capsys, tmp_path):
    path = tmp_path / "law.json"
    path.write_text(json.dumps({"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}))
    _, out, _ = run(capsys, "solve", "--compute", "5.76e23", "--coefficients", str(path), "--json")
    assert json.loads(out)["allocations"][0]["N"] == pytest.approx(3.22e10, rel=2e-3)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["solve", "--compute", "-1"], "compute must be positive"),
        (["solve", "--compute", "inf"], "compute must be positive"),
        (["solve", "--compute", "abc"], "'abc' is not a number"),
        (["solve", "--compute", "1e24", "--preset", "nope"], "unknown preset 'nope'"),
        (["solve", "--compute", "1e24", "--coefficients", "/nonexistent.json"], "cannot read coefficients file"),
        (["solve", "--target-loss", "1.5"], "at or below the irreducible loss"),
        (["solve", "--compute", "1e24", "--max-tokens", "0"], "max_tokens must be positive"),
        (["solve", "--compute", "1e24", "--max-params", "-3"], "max_params must be positive"),
        (["solve"], "give either --compute or --target-loss"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_errors_are_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_malformed_coefficients_file(capsys, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{oops")
    code, _, err = run(capsys, "solve", "--compute", "1e24", "--coefficients", str(path))
    assert code == 2 and "not valid JSON" in err and err.count("\n") == 1


@pytest.mark.slow
def test_python_dash_m_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "optimal", "solve", "--compute", "1e22", "--json"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["allocations"][0]["converged"] is True
    bad = subprocess.run([sys.executable, "-m", "optimal", "solve", "--compute", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


@pytest.fixture(scope="module")
def runs_csv(tmp_path_factory):
    import optimal

    runs = optimal.synthetic_runs(n_runs=60, seed=1, n_groups=12, group_noise=0.005)
    path = tmp_path_factory.mktemp("runs") / "runs.csv"
    lines = ["n,D,Loss,config"] + [f"{float(n)!r},{float(d)!r},{float(l)!r},cfg{g}" for n, d, l, g in zip(runs.n_params, runs.n_tokens, runs.loss, runs.groups)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_fit_json_and_save_then_solve(capsys, runs_csv, tmp_path):
    saved = tmp_path / "fit.json"
    code, out, err = run(capsys, "fit", str(runs_csv), "--json", "--save", str(saved))
    result = json.loads(out)["fits"][0]
    assert code == 0 and f"wrote {saved}" in err
    assert set(result) >= {"params", "objective", "converged", "n_rows", "n_starts", "n_starts_at_best", "config"}
    assert result["n_rows"] == 60 and result["converged"] is True
    code, out, _ = run(capsys, "solve", "--fit", str(saved), "--compute", "1e24", "--json")
    assert code == 0 and json.loads(out)["allocations"][0]["converged"]


@pytest.mark.slow
def test_fit_bootstrap_json(capsys, runs_csv):
    code, out, _ = run(capsys, "fit", str(runs_csv), "--bootstrap", "64", "--cluster-col", "config", "--compute", "1e22", "1e24", "--json")
    boot = json.loads(out)["fits"][0]["bootstrap"]
    assert code == 0 and boot["n_resamples"] == 64 and boot["confidence"] == 0.95
    assert set(boot["params"]) == {"E", "A", "B", "alpha", "beta", "a", "b"}
    assert [a["compute"] for a in boot["allocation"]] == [1e22, 1e24]
    n = boot["allocation"][0]["N"]
    assert n["lo"] < n["hi"] and n["se"] > 0


def test_fit_human_output(capsys, runs_csv):
    code, out, _ = run(capsys, "fit", str(runs_csv), "--bootstrap", "32", "--compute", "1e23")
    assert code == 0 and "Chinchilla fit" in out and "percentile intervals" in out and "tokens_per_param" in out


def test_fit_epoch_anchor_from_the_shell(capsys, epoch_runs):
    import optimal

    code, out, _ = run(capsys, "fit", str(optimal.shared_data_path()), "--params-col", "Model Size", "--flops-col",
                       "Training FLOP", "--drop-highest-loss", "5", "--json")
    result = json.loads(out)["fits"][0]
    assert code == 0 and result["n_rows"] == 240
    assert abs(result["objective"] - 1.01827402e-3) < 1e-10 and abs(result["params"]["alpha"] - 0.34731) < 2e-5


@pytest.mark.parametrize(
    "content, extra, message",
    [
        (None, [], "no such file"),
        ("N,D,loss\n1e8,1e10,abc\n", [], "not a number"),
        ("N,D,oops\n1e8,1e10,3\n", [], "no column 'loss'"),
        ("N,D,loss\n" + "1e8,1e10,3.0\n" * 12, [], "same N"),
        ("N,D,loss\n" + "".join(f"{10**(7+i/4)},{10**(9+i/5)},{3-i/20}\n" for i in range(12)), ["--cluster-col", "x"], "--bootstrap"),
        ("N,D,loss\n" + "".join(f"{10**(7+i/4)},{10**(9+i/5)},{3-i/20}\n" for i in range(12)), ["--bootstrap", "1"], "--bootstrap must be an integer from 2 to"),
    ],
)
def test_fit_errors(capsys, tmp_path, content, extra, message):
    path = tmp_path / "runs.csv"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "fit", str(path), *extra)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_plot_command(capsys, tmp_path, runs_csv):
    out = tmp_path / "frontier.png"
    code, stdout, err = run(capsys, "plot", "--kind", "frontier", "--preset", "hoffmann2022", "--out", str(out))
    assert code == 0 and out.stat().st_size > 10_000 and stdout == "" and err == f"wrote {out}\n"
    saved = tmp_path / "fit.json"
    run(capsys, "fit", str(runs_csv), "--bootstrap", "16", "--save", str(saved))
    for kind in ("fit", "bootstrap"):
        code, _, _ = run(capsys, "plot", "--fit", str(saved), "--kind", kind, "--out", str(tmp_path / f"{kind}.png"))
        assert code == 0 and (tmp_path / f"{kind}.png").exists()
    code, _, err = run(capsys, "plot", "--kind", "fit", "--out", str(out))
    assert code == 2 and "needs a fit record" in err and err.count("\n") == 1


def test_one_law_source_only(capsys, tmp_path):
    code, _, err = run(capsys, "solve", "--compute", "1e24", "--preset", "epoch2024", "--coefficients", "x.json")
    assert code == 2 and "give only one of --preset, --coefficients and --fit" in err


def test_solve_with_a_saved_bootstrap_gives_intervals(capsys, runs_csv, tmp_path):
    import optimal

    saved = tmp_path / "fit.json"
    run(capsys, "fit", str(runs_csv), "--bootstrap", "32", "--save", str(saved))
    boot = optimal.load_bootstrap(saved)
    assert boot.n_resamples == 32 and boot.fit.n_rows == 60
    code, out, _ = run(capsys, "solve", "--fit", str(saved), "--compute", "1e22", "--json")
    (record,) = json.loads(out)["allocations"]
    assert code == 0 and set(record["intervals"]) == {"N", "D", "tokens_per_param", "loss"}
    assert record["intervals"]["N"]["lo"] < record["N"] < record["intervals"]["N"]["hi"]
    code, out, _ = run(capsys, "solve", "--fit", str(saved), "--compute", "1e22")
    assert code == 0 and "bootstrap intervals (" in out
    plain = tmp_path / "plain.json"
    run(capsys, "fit", str(runs_csv), "--save", str(plain))
    assert optimal.load_bootstrap(plain) is None
    _, out, _ = run(capsys, "solve", "--fit", str(plain), "--compute", "1e22", "--json")
    assert "intervals" not in json.loads(out)["allocations"][0]


def test_long_work_says_how_long_off_a_terminal(capsys):
    from optimal.cli.common import progress_bar

    show = progress_bar("bootstrap", quiet_below_s=0.0)  # stderr is captured here: not a terminal
    show(100, 1000)
    show(200, 1000)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bootstrap: 100/1000 in") and "s left" in err


@pytest.mark.slow
def test_fit_bootstrap_max_iter_reaches_the_bootstrap(capsys, tmp_path):
    # --bootstrap-max-iter (fit's --max-iter is the polish budget now: tests/cli/test_cli_convention.py)
    runs = optimal.synthetic_runs(n_runs=40, noise=0.01, seed=0)
    path = tmp_path / "runs.csv"
    np.savetxt(path, np.column_stack(runs[:3]), delimiter=",", header="N,D,loss", comments="")
    code, out, err = run(capsys, "fit", str(path), "--bootstrap", "20", "--bootstrap-max-iter", "1", "--json")
    summary = json.loads(out)["fits"][0]["bootstrap"]
    assert code == 0 and summary["n_failed"] > 0 and summary["n_retried"] >= summary["n_failed"]


@pytest.mark.slow
def test_the_program_keeps_compiled_code_between_runs(tmp_path):
    import os

    def program(cache):
        env = dict(os.environ, OPTIMAL_CACHE_DIR=str(cache), HOME=str(tmp_path / "home"), XDG_CACHE_HOME="")
        proc = subprocess.run([sys.executable, "-m", "optimal", "solve", "--compute", "1e24", "--json"],
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    first = program(tmp_path / "cache")
    assert any((tmp_path / "cache").iterdir())  # compiled programs were written where the variable says
    assert program(tmp_path / "cache") == first  # and a run from the cache answers the same
    program("off")
    assert not (tmp_path / "home").exists()  # "off": nothing written, not even the default folder


def test_cache_folder_defaults_to_the_user_cache(monkeypatch, tmp_path):
    from optimal.cli import compilation_cache_dir

    monkeypatch.delenv("OPTIMAL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compilation_cache_dir() == tmp_path / "optimal" / "jax"
    monkeypatch.setenv("OPTIMAL_CACHE_DIR", "off")
    assert compilation_cache_dir() is None


def test_program_xla_flags_keep_the_users_and_only_for_checked_jaxlib_versions():
    import importlib

    program = importlib.import_module("optimal.cli.main")
    (flag,) = program.PROGRAM_XLA_FLAGS
    name = flag.split("=")[0]
    assert program.program_xla_flags("", "0.10.2") == flag
    assert program.program_xla_flags("--xla_dump_to=/d", "0.10.0") == f"--xla_dump_to=/d {flag}"
    assert program.program_xla_flags(f"{name}=true", "0.10.2") == f"{name}=true"  # the user's own setting wins
    for unchecked in ("0.11.0", "1.0", "", "dev"):  # a jaxlib that may not know the flag would abort on it
        assert program.program_xla_flags("--xla_dump_to=/d", unchecked) == "--xla_dump_to=/d"


def test_program_sets_its_xla_flags_before_xla_reads_them(tmp_path):
    # A flag XLA does not know aborts the process when XLA reads XLA_FLAGS: the program given one must abort, which
    # shows that run() sets the flags before JAX's first computation (set later, they would be ignored silently).
    script = ("import sys, importlib; program = importlib.import_module('optimal.cli.main'); "
              "program.PROGRAM_XLA_FLAGS = ('--xla_no_such_flag_of_optimal=true',); "
              "sys.argv = ['optimal', 'solve', '--compute', '1e21']; program.run()")
    env = dict(os.environ, OPTIMAL_CACHE_DIR="off")
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "xla_no_such_flag_of_optimal" in proc.stderr
