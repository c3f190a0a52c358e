"""``optimal plan --hparams`` and ``optimal hparams``: the plan prints DeepSeek LLM's learning rate and batch size with
their source (and JSON under names with units), --hparams none leaves them out, draws give intervals; a sweep file
gives its law back; bad options are one ``error:`` line."""

import re
from types import SimpleNamespace

import numpy as np
import pytest

from optimal import planning
from optimal.cli import plan_hparams
from cli_helpers import assert_one_error, run, strict


SHAPE = ["plan", "--shape", "llama2-7b", "--tokens", "2e12", "--context", "4096"]


def test_plan_prints_learning_rate_and_batch_with_their_source(capsys):
    """A shape's plan (no allocation to solve): C = 6 N D of the shape, the rows with the law's source."""
    code, out, err = run(capsys, SHAPE)
    assert code == 0, err
    compute = float(re.search(r"at C = (\S+) \(the plan's FLOPs with attention\)", out)[1])
    assert compute == pytest.approx(strict(run(capsys, [*SHAPE, "--json"])[1])["plan"]["compute"], rel=1e-3)
    found = planning.hyperparameters(compute=compute, context=4096)
    assert f"learning rate  {found.learning_rate:.3g}" in out and "Bi et al. 2024" in out
    assert f"{found.batch_size_sequences:.4g} sequences of 4096" in out
    assert "outside the range" in err  # fitted on 1e17 .. 2e19 FLOPs


def test_plan_json_names_the_figures_with_units(capsys):
    """The issue's numbers at 1e22 FLOPs (a shape's plan: C as given, no allocation to solve)."""
    code, out, err = run(capsys, ["plan", "--shape", "llama2-7b", "--compute", "1e22", "--json"])
    found = strict(out)["hyperparameters"]
    assert code == 0 and found["preset"] == "deepseek2024"
    assert round(found["learning_rate"], 6) == 5.54e-4 and round(found["batch_size_tokens"] / 1e6, 2) == 4.59
    assert found["batch_size_sequences"] is None and found["intervals"] is None  # no context, no draws
    code, out, err = run(capsys, ["plan", "--shape", "llama2-7b", "--compute", "1e22", "--json", "--hparams", "none"])
    assert code == 0 and strict(out)["hyperparameters"] is None and "outside the range" not in err


def test_draws_give_intervals_where_the_figure_moves():
    """With draws of different compute (a target loss) the figures have intervals (the draws' own figures); with
    one compute for every draw (--compute C) they have none."""
    plan = planning.plan_training(1e9, 2e10, context=2048)
    args = SimpleNamespace(hparams="deepseek2024")
    compute = np.geomspace(1e20, 1e21, 41)[:, None]
    answer = SimpleNamespace(confidence=0.9, per_draw={"N": compute / 6e10, "D": np.full_like(compute, 1e10),
                                                       "compute": compute})
    found, lines = plan_hparams.section(args, plan, answer)
    lr = planning.hyperparameter_figures(planning.hyperparameters(compute=1.0), compute=compute[:, 0])["learning_rate"]
    assert found["intervals"]["learning_rate"]["lo"] == pytest.approx(np.percentile(lr, 5))
    assert "batch_size_sequences" in found["intervals"] and "90%" in lines[0]
    answer.per_draw["compute"] = np.full_like(compute, 1e20)
    assert plan_hparams.section(args, plan, answer)[0]["intervals"] is None


@pytest.fixture(scope="module")
def sweep_csv(tmp_path_factory):
    """8 (N, D) settings x 7 learning rates from lr* = 0.3 C^-0.125, noise-free."""
    rows = []
    for n in (1e7, 3e7, 1e8, 3e8):
        for d in (1e9, 4e9):
            best = 0.3 * (6 * n * d) ** -0.125
            rows += [(n, d, best * 2.0 ** s, 3.0 + 0.05 * (s * 0.6931471805599453) ** 2) for s in range(-3, 4)]
    path = tmp_path_factory.mktemp("hparams") / "sweep.csv"
    path.write_text("N,D,learning_rate,loss\n" + "".join(f"{a!r},{b!r},{c!r},{e!r}\n" for a, b, c, e in rows))
    return path


def test_hparams_command_gives_the_law_back(capsys, sweep_csv):
    code, out, err = run(capsys, ["hparams", sweep_csv, "--param", "lr", "--column", "learning_rate", "--compute",
                                  "1e22", "--bootstrap", "20", "--json"])
    found = strict(out)
    assert code == 0, err
    assert found["schema"] == "optimal.hparams/1" and found["law"]["exponents"]["C"] == pytest.approx(-0.125)
    assert found["prediction"]["value"] == pytest.approx(0.3 * 1e22 ** -0.125)
    code, out, err = run(capsys, ["hparams", sweep_csv, "--param", "lr", "--column", "learning_rate"])
    assert code == 0 and "learning rate* = 0.3 C^-0.125" in out


@pytest.mark.parametrize("argv, message", [
    (["--param", "lr"], "no column 'lr' for --column"),
    (["--param", "lr", "--column", "learning_rate", "--form", "params_tokens", "--compute", "1e22"], "--params N"),
    (["--param", "lr", "--column", "learning_rate", "--params", "1e9"], "together"),
    (["--param", "lr", "--column", "learning_rate", "--bootstrap", "-1"], "--bootstrap"),
])
def test_bad_options_are_one_line(capsys, sweep_csv, argv, message):
    assert_one_error(*run(capsys, ["hparams", sweep_csv, *argv]), message)
