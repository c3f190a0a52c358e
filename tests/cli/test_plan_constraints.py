"""``optimal plan --deadline-days / --max-cost / --max-energy-mwh``: the best run under constraints, in text and strict
JSON that agree with ``optimal.best_run``; every bad mix is one ``error:`` line and exit status 2."""

import pytest

import optimal
from cli_helpers import assert_one_error, files, run, strict  # noqa: F401 (files is a fixture)

DONE_WHEN = ["plan", "--deadline-days", "30", "--accelerators", "1024"]


def test_done_when_json_is_strict_and_is_the_library_s_answer(capsys):
    code, out, err = run(capsys, DONE_WHEN + ["--json", "--preset", "epoch2024"])
    assert code == 0, err
    data = strict(out)
    expected = optimal.best_run(optimal.preset("epoch2024"), optimal.Constraints(deadline_days=30, n_accelerators=1024))
    assert data["schema"] == "optimal.plan/1" and data["question"] == "constrained"
    assert data["law"]["family"] == "chinchilla"
    found = data["constrained"]
    assert found["n_params"] == expected.n_params and found["n_tokens"] == expected.n_tokens
    assert found["binding"] == ["deadline_days", "n_accelerators"]
    day = found["shadow_prices"]["deadline_days"]
    assert day["shadow_price_loss_per_day"] == expected.shadow_prices["deadline_days"] < 0
    assert day["compute_equivalent_flops_per_day"] == pytest.approx(1024 * 989.5e12 * 0.4 * 86400, rel=1e-9)
    assert "shadow_price_loss_per_accelerator" in found["shadow_prices"]["n_accelerators"]
    # the plan of that run spends the 30 days
    assert data["plan"]["wall_clock_days"]["value"] == pytest.approx(30, rel=1e-9)
    assert data["loss"] == expected.loss_nats


def test_text_says_what_binds_its_price_and_the_assumptions(capsys):
    code, out, err = run(capsys, DONE_WHEN + ["--max-cost", "5e5", "--preset", "epoch2024", "--unique-tokens", "1e13"])
    assert code == 0, err
    assert "binding: max_cost" in out and "per currency unit" in out
    assert "D <= U = 1e+13 tokens (a plain law" in out  # which way the unique data enters, said
    assert "MFU 0.4 [default]" in out and "2 per accelerator-hour [default" in out  # the plan, with its assumptions


@pytest.mark.parametrize("argv, message", [
    (["plan", "--deadline-days", "30"], "--deadline-days needs --accelerators COUNT"),  # the options as written
    (["plan", "--deadline-days", "nan", "--accelerators", "8"], "--deadline-days must be a positive finite number"),
    (DONE_WHEN + ["--compute", "1e24"], "not with --compute"),
    (DONE_WHEN + ["--global-batch", "512", "--context", "4096"], "not with --global-batch"),
    (DONE_WHEN + ["--tensor-parallel", "2"], "need --context"),
    (DONE_WHEN + ["--context", "4096", "--activation-memory", "10"], "not with --activation-memory"),
    (["plan", "--max-energy-mwh", "100", "--accelerator", "tpu-v5e"], "give power_watts (--power W)"),
    (["plan", "--max-cost", "-1"], "--max-cost must be a positive finite number"),
    (["plan", "--max-energy-mwh", "0"], "--max-energy-mwh must be a positive finite number"),
    # what a limit buys out of range names the option (was: n_params, or "the loss does not fall ... check the law")
    (DONE_WHEN[:2] + ["1e-300"] + DONE_WHEN[3:], "--deadline-days 1e-300: its compute 3.5"),
    (DONE_WHEN[:2] + ["1e300"] + DONE_WHEN[3:], "--deadline-days 1e+300 buys more than 1e+40 FLOPs (MAX_COMPUTE)"),
    (["plan", "--max-cost", "1e-300"], "--max-cost 1e-300: its compute 7.12e-283 FLOPs is below one parameter trained"),
    (["plan", "--max-cost", "1e300"], "--max-cost 1e+300 buys more than 1e+40 FLOPs"),
    (["plan", "--max-energy-mwh", "1e-300"], "--max-energy-mwh 1e-300: its compute"),
    (["plan", "--max-energy-mwh", "1e300"], "--max-energy-mwh 1e+300 buys more than"),
    (["plan", "--max-cost", "1e22"], "the best run under --max-cost 1e+22: n_params 1.28219e+19 is above 1e+18 (MAX_P"),
])
def test_bad_mixes_are_one_error_line(capsys, argv, message):
    assert_one_error(*run(capsys, argv), message)


def test_context_counts_activations_and_attention_as_the_library_does(capsys):
    """--context with layout options: the memory cap counts activations (optimal.best_run with the same Layout), and
    the layout section shows the best run filling the accelerator."""
    argv = ["plan", "--deadline-days", "365", "--accelerators", "256", "--context", "2048", "--zero", "1",
            "--recompute", "full", "--preset", "epoch2024"]
    code, out, err = run(capsys, argv + ["--json"])
    assert code == 0, err
    data = strict(out)
    expected = optimal.best_run(optimal.preset("epoch2024"), optimal.Constraints(deadline_days=365, n_accelerators=256),
                                context=2048, layout=optimal.planning.Layout(zero=1, recompute="full"))
    found = data["constrained"]
    assert found["n_params"] == expected.n_params and "memory" in found["binding"]
    assert found["memory"]["cap_at"] == "root" and found["flops_model"]["context"] == 2048
    layout = data["layout"]
    assert layout["fits"] and layout["memory"]["total_bytes"] == pytest.approx(80e9, rel=1e-9)
    assert layout["memory"]["activation_bytes"] == pytest.approx(found["memory"]["activation_bytes_at_cap"], rel=1e-12)
    code, out, err = run(capsys, argv)
    assert code == 0, err
    assert "note: memory counts the training state and activations" in out and "fits" in out


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        run(capsys, ["plan", "--help"])
    out = capsys.readouterr().out
    assert "--deadline-days" in out and "--max-energy-mwh" in out and "--max-cost" in out


@pytest.mark.slow  # a fit, its bootstrap and the vmapped program
def test_a_fit_record_s_draws_give_intervals(capsys, files):
    code, out, err = run(capsys, DONE_WHEN + ["--fit", files["record"], "--json"])
    assert code == 0, err
    found = strict(out)["constrained"]
    ci = found["intervals"]
    assert ci["n_draws"] >= 2 and ci["n_params"]["lo"] < ci["n_params"]["hi"]
    assert "shadow_price_loss_per_day" in found["shadow_prices"]["deadline_days"]["intervals"]
    code, out, err = run(capsys, DONE_WHEN + ["--fit", files["record"]])
    assert code == 0 and "intervals over" in out


@pytest.mark.slow  # compiles the data-constrained law's bracketed solver with its derivatives
def test_unique_tokens_without_a_law_take_the_data_constrained_law(capsys):
    code, out, err = run(capsys, DONE_WHEN + ["--unique-tokens", "1e11", "--json"])
    assert code == 0, err
    data = strict(out)
    assert data["law"]["family"] == "data-constrained" and data["constrained"]["unique_data"] == "law"
    assert "data-constrained law" in data["unique_data"]
    assert data["constrained"]["n_tokens"] > 1e11  # repeats the unique tokens
    assert data["constrained"]["shadow_prices"]["unique_tokens"]["shadow_price_loss_per_unique_token"] < 0
