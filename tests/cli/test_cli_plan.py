"""``optimal plan``: the done-when command answers size, tokens, memory, days, energy and cost with its assumptions;
text and strict JSON agree with the library; every bad option is one ``error:`` line and exit status 2, found
before the allocation is solved."""

import json
from pathlib import Path

import numpy as np
import pytest

import optimal
from optimal import planning
from cli_helpers import assert_one_error, files, run, strict  # noqa: F401 (files is a fixture)

DONE_WHEN = ["plan", "--compute", "1e24", "--accelerator", "h100", "--accelerators", "2048", "--mfu", "0.4"]


def test_done_when_command_answers_with_its_assumptions(capsys):
    code, out, err = run(capsys, DONE_WHEN)
    assert code == 0, err
    answer = optimal.recommend(optimal.DEFAULT_PRESET, 1e24).records[0]
    plan = planning.plan_training(answer["N"], answer["D"], compute=1e24, accelerator="h100", n_accelerators=2048,
                                  mfu=0.4)
    hw = plan.hardware
    # size and tokens (the allocation table, as `optimal solve` prints it), then every figure of the plan
    assert f"{answer['N']:.4g}" in out and f"{answer['D']:.4g}" in out
    assert f"{plan.training.total_bytes / 1e9:.4g} GB" in out and f"{plan.weights / 1e9:.4g} GB" in out
    assert f"{hw.wall_clock_days:.4g} days" in out and f"{hw.energy_kwh / 1e3:.4g} MWh" in out
    assert f"{hw.cost:.4g}" in out
    # the assumptions beside them, each said to be given or default
    for shown in ("MFU 0.4 [given]", "700 W [h100-sxm TDP]", "PUE 1.1 [default]", "2 per accelerator-hour [default",
                  "9.895e+14 FLOP/s bf16 dense peak", "16 bytes/param", "activations not counted",
                  "on 2048 accelerators"):
        assert shown in out, shown


def test_json_is_strict_and_matches_the_library(capsys):
    code, out, err = run(capsys, DONE_WHEN + ["--json", "--price-per-hour", "2.5"])
    assert code == 0, err
    data = strict(out)
    answer = optimal.recommend(optimal.DEFAULT_PRESET, 1e24)
    record = answer.records[0]
    assert data["question"] == "compute" and data["recommendation"]["allocations"][0]["N"] == record["N"]
    assert data["loss"] == record["loss"] and data["intervals"] is None
    plan = data["plan"]
    expected = planning.plan_training(record["N"], record["D"], compute=1e24, accelerator="h100", n_accelerators=2048,
                                      mfu=0.4, price_per_accelerator_hour=2.5)
    assert plan == json.loads(json.dumps(expected.to_dict()))
    hours = 1e24 / (989.5e12 * 0.4) / 3600
    assert plan["accelerator_hours"]["value"] == pytest.approx(hours, rel=1e-12)
    assert plan["wall_clock_days"]["value"] == pytest.approx(hours / 2048 / 24, rel=1e-12)
    assert plan["cost"] == {"value": pytest.approx(2.5 * hours, rel=1e-12), "price_per_accelerator_hour": 2.5,
                            "formula": "accelerator_hours x price_per_accelerator_hour"}
    assert plan["assumptions"]["price_per_accelerator_hour"]["from"] == "argument"


def test_params_and_tokens(capsys):
    code, out, err = run(capsys, ["plan", "--params", "7e9", "--tokens", "2e12", "--accelerator", "a100",
                                  "--accelerators", "512", "--json"])
    assert code == 0, err
    data = strict(out)
    assert data["question"] == "params_tokens" and data["recommendation"]["question"] == "run"
    assert data["plan"]["compute"] == 6 * 7e9 * 2e12
    law = optimal.preset(optimal.DEFAULT_PRESET)
    assert data["loss"] == pytest.approx(float(law.loss(7e9, 2e12)), rel=1e-12)
    assert data["plan"]["memory"]["weights_by_precision"]["int4"] == 3.5e9


def test_a_mixture_of_experts_shape(capsys):
    code, out, err = run(capsys, ["plan", "--shape", "mixtral-8x7b", "--tokens", "1e12", "--accelerator", "mi300x",
                                  "--accelerators", "256", "--json"])
    assert code == 0, err
    plan = strict(out)["plan"]
    counts = planning.parameter_count(planning.PUBLISHED_SHAPES["mixtral-8x7b"].shape)
    assert plan["parameters"] == {"active": counts.active, "total": counts.total, "from": "shape"}
    assert plan["compute"] == 6 * counts.active * 1e12
    assert plan["memory"]["training_state"]["bytes"] == 16 * counts.total
    code, out, err = run(capsys, ["plan", "--shape", "mixtral-8x7b", "--tokens", "1e12"])
    assert code == 0 and "active; total 4.67e+10 (a mixture of experts" in out


def test_a_shape_from_fields_and_a_changed_published_one(capsys):
    fields = ["n_layer=32", "d_model=4096", "n_heads=32", "vocab_size=32000", "d_ff=11008", "gated_ffn=true",
              "tied_embeddings=false"]
    code, out, err = run(capsys, ["plan", "--shape", *fields, "--compute", "1e23", "--json"])
    assert code == 0, err
    plan = strict(out)["plan"]
    assert plan["parameters"]["total"] == 6_738_415_616
    assert plan["n_tokens"] == pytest.approx(1e23 / (6 * 6_738_415_616), rel=1e-12)
    code, out, err = run(capsys, ["plan", "--shape", "llama2-7b", "n_kv_heads=8", "--tokens", "1e12", "--json"])
    assert code == 0, err
    assert strict(out)["plan"]["shape"]["n_kv_heads"] == 8


@pytest.mark.slow
def test_intervals_from_a_fit_record_with_draws(capsys, files):
    code, out, err = run(capsys, ["plan", "--target-loss", "2.5", "--fit", files["record"], "--accelerators", "64",
                                  "--json"])
    assert code == 0, err
    data = strict(out)
    intervals, plan = data["intervals"], data["plan"]
    record = data["recommendation"]["allocations"][0]
    # each figure is increasing in N (memory) or C (time, energy, cost): its interval is the figure at the ends
    n_lo, n_hi = record["intervals"]["N"]["lo"], record["intervals"]["N"]["hi"]
    c_lo = record["intervals"]["compute"]["lo"]
    assert intervals["training_state_bytes"]["lo"] == pytest.approx(16 * n_lo, rel=1e-12)
    assert intervals["training_state_bytes"]["hi"] == pytest.approx(16 * n_hi, rel=1e-12)
    assert intervals["accelerator_hours"]["lo"] == pytest.approx(c_lo / (989.5e12 * 0.4) / 3600, rel=1e-12)
    for name in ("training_state_bytes", "accelerator_hours", "energy_kwh", "cost"):
        point = {"training_state_bytes": plan["memory"]["training_state"]["bytes"]}.get(name) or plan[name]["value"]
        lo, hi = intervals[name]["lo"], intervals[name]["hi"]
        assert lo <= point * (1 + 1e-12) and (hi is None or point <= hi * (1 + 1e-12)), name
    code, out, err = run(capsys, ["plan", "--compute", "1e22", "--fit", files["record"]])
    assert code == 0, err
    assert "95%:" in out and "bootstrap intervals" in out


def test_own_accelerator_file(capsys, tmp_path):
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps({"name": "my-gpu", "peak_flops_per_second": {"fp8": 2e15}, "memory_gb": 96}))
    code, out, err = run(capsys, ["plan", "--params", "1e9", "--tokens", "2e10", "--accelerator-file", path,
                                  "--precision", "fp8", "--power", "500", "--json"])
    assert code == 0, err
    plan = strict(out)["plan"]
    assert plan["accelerator"]["name"] == "my-gpu" and plan["energy_kwh"]["power_watts"] == 500
    assert plan["accelerator_hours"]["value"] == pytest.approx(6 * 1e9 * 2e10 / (2e15 * 0.4) / 3600, rel=1e-12)
    assert plan["assumptions"]["power_watts"]["from"] == "argument"


def test_unpublished_power_is_said_not_guessed(capsys):
    code, out, err = run(capsys, ["plan", "--params", "1e9", "--tokens", "2e10", "--accelerator", "tpu-v5e"])
    assert code == 0, err
    assert "no published power: give --power W" in out
    code, out, err = run(capsys, ["plan", "--params", "1e9", "--tokens", "2e10", "--accelerator", "tpu-v5e", "--json"])
    assert strict(out)["plan"]["energy_kwh"]["value"] is None


def test_help_lists_the_command(capsys):
    with pytest.raises(SystemExit):
        run(capsys, ["plan", "--help"])
    out = capsys.readouterr().out
    assert "--accelerator-file" in out and "mixtral-8x7b" in out


@pytest.fixture
def no_allocation(monkeypatch):
    """Errors found from the options must come before the allocation is solved."""
    def solved(*args, **kwargs):
        raise AssertionError("the error came after the allocation")

    monkeypatch.setattr(optimal, "recommend", solved)


BAD = [
    (["plan"], "give one of --compute C, --target-loss L, --params N with --tokens D"),
    (["plan", "--compute", "1e24", "--params", "1e9"], "got --compute, --params"),
    (["plan", "--params", "1e9"], "got --params"),
    (["plan", "--tokens", "1e9"], "got --tokens"),
    (["plan", "--compute", "1e24", "--target-loss", "2"], "got --compute, --target-loss"),
    (["plan", "--shape", "llama2-7b", "--params", "1e9"], "--shape gives the parameters"),
    (["plan", "--shape", "llama2-7b"], "with --shape give one of --tokens and --compute"),
    (["plan", "--shape", "llama3", "--tokens", "1e9"], "--shape: unknown shape 'llama3'"),
    (["plan", "--shape", "layers=3", "--tokens", "1e9"], "--shape: unknown field 'layers'"),
    (["plan", "--shape", "llama2-7b", "n_layer=3.5", "--tokens", "1e9"], "--shape: n_layer must be an integer, got '3.5'"),
    (["plan", "--shape", "llama2-7b", "n_layer", "--tokens", "1e9"], "is not KEY=VALUE"),
    (["plan", "--shape", "llama2-7b", "gated_ffn=maybe", "--tokens", "1e9"], "gated_ffn must be true or false"),
    (["plan", "--shape", "llama2-7b", "n_kv_heads=5", "--tokens", "1e9"], "n_kv_heads (5) must divide n_heads (32)"),
    (["plan", "--shape", "n_layer=2", "n_layer=3", "--tokens", "1e9"], "--shape names n_layer more than once"),
    (["plan", "--shape", "n_layer=2", "--tokens", "1e9"], "d_model, n_heads, vocab_size missing"),
    (["plan", "--compute", "1e24", "--accelerator", "h1000"], "unknown accelerator 'h1000'"),
    (["plan", "--compute", "1e24", "--accelerator", "h100", "--accelerator-file", "x.json"], "not both"),
    (["plan", "--compute", "1e24", "--accelerators", "0"], "n_accelerators must be an integer from 1 to 1000000000, got 0"),
    (["plan", "--compute", "1e24", "--accelerators", "2.5"], "invalid int value: '2.5'"),
    (["plan", "--compute", "1e24", "--mfu", "0"], "mfu must be a finite number > 0 and <= 1, got 0.0"),
    (["plan", "--compute", "1e24", "--mfu", "40"], "mfu must be a finite number > 0 and <= 1, got 40.0"),
    (["plan", "--compute", "1e24", "--mfu", "high"], "'high' is not a number"),
    (["plan", "--compute", "1e24", "--pue", "0.5"], "pue must be a finite number >= 1 and <= 5, got 0.5"),
    (["plan", "--compute", "1e24", "--pue", "100"], "pue must be a finite number >= 1 and <= 5, got 100"),
    (["plan", "--compute", "1e24", "--price-per-hour", "-2"], "price_per_accelerator_hour must be a finite number >= 0"),
    (["plan", "--compute", "1e24", "--power", "0"], "power_watts must be a finite number > 0"),
    # the bounds an accelerator file's power obeys (planning.accelerators.PLAUSIBLE); a price float64 holds
    (["plan", "--compute", "1e24", "--power", "1e300"], "power_watts = 1e+300 is outside 1 to 1e+06 W, the range of"),
    (["plan", "--compute", "1e24", "--power", "0.5"], "power_watts = 0.5 is outside 1 to 1e+06 W"),
    (["plan", "--compute", "1e24", "--price-per-hour", "1e-320"],
     "price_per_accelerator_hour 1e-320 is below 2.23e-308"),
    (["plan", "--compute", "1e24", "--inference-tokens", "1e12", "--serve-price-per-hour", "1e-320"],
     "serving price_per_accelerator_hour 1e-320 is below 2.23e-308"),
    (["plan", "--compute", "1e24", "--accelerator", "a100", "--precision", "fp8"],
     "a100-80gb has no published peak for 'fp8'"),
    (["plan", "--compute", "1e24", "--precision", "int8"], "unknown training precision 'int8'"),
    (["plan", "--compute", "1e24", "--precision", "fp4"], "invalid choice: 'fp4'"),
    (["plan", "--compute", "1e24", "--optimizer", "lion"], "invalid choice: 'lion'"),
    (["plan", "--compute", "1e24", "--context", "0"], "context must be an integer >= 1, got 0"),
    (["plan", "--compute", "1e24", "--aspect-ratio", "-1"], "aspect_ratio must be a positive finite number"),
    (["plan", "--compute", "1e24", "--flops-per-param-token", "0"], "flops_per_param_token must be a positive"),
    (["plan", "--compute", "1e24", "--preset", "nope"], "unknown preset"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[m for _, m in BAD])
def test_bad_options_one_line_before_the_allocation(capsys, no_allocation, argv, message):
    assert_one_error(*run(capsys, argv), message)


BAD_AFTER_CHECKS = [
    (["plan", "--compute", "-1"], "compute must be positive and finite, got -1"),
    (["plan", "--compute", "1e24", "--fit", "missing.json"], "cannot read fit record"),
    (["plan", "--target-loss", "1.0"], "target loss 1 is at or below the irreducible loss"),
]


@pytest.mark.parametrize("argv, message", BAD_AFTER_CHECKS, ids=[m for _, m in BAD_AFTER_CHECKS])
def test_bad_budgets_and_laws_are_one_line(capsys, argv, message):
    assert_one_error(*run(capsys, argv), message)


@pytest.mark.parametrize("content, message", [
    (json.dumps({"peak_flops_per_second": {"bf16": 1e15}}), "memory_gb is missing"),
    (json.dumps({"peak_flops_per_second": {"bf16": 1e15}, "memory_gb": -1}), "memory_gb must be a positive"),
    (json.dumps({"peak_flops_per_second": {"bf16": "fast"}, "memory_gb": 80}), "bf16 must be a number, not str"),
    (json.dumps({"peak_flops_per_second": {"bf15": 1e15}, "memory_gb": 80}), "unknown precision 'bf15'"),
    (json.dumps({"peak_flops_per_second": {"fp8": 1e15}, "memory_gb": 80}), "has no published peak for 'bf16'"),
    ("{oops", "is not valid JSON"),
])
def test_bad_accelerator_files_one_line(capsys, tmp_path, no_allocation, content, message):
    path = tmp_path / "gpu.json"
    path.write_text(content)
    assert_one_error(*run(capsys, ["plan", "--compute", "1e24", "--accelerator-file", path]), message)


def test_readme_shows_what_the_command_prints(capsys):
    readme = (Path(__file__).resolve().parents[2] / "docs" / "methods.md").read_text()
    shown = readme.split("## Planning assumptions", 1)[1].split("```text\nplan (", 1)[1].split("```", 1)[0]
    code, out, err = run(capsys, DONE_WHEN)
    assert code == 0, err
    for line in ("plan (" + shown).strip().splitlines():
        assert line in out.splitlines(), line


@pytest.mark.slow
def test_inference_aware_plan(capsys):
    code, out, err = run(capsys, ["plan", "--target-loss", "2.0", "--inference-tokens", "1e13", "--accelerators",
                                  "1024", "--json"])
    assert code == 0, err
    data = strict(out)
    expected = optimal.inference_optimal(optimal.preset(optimal.DEFAULT_PRESET), 2.0, inference_tokens=1e13)
    record = expected.to_records()[0]
    assert data["question"] == "inference" and data["inference"] == record
    plan = data["plan"]
    # the plan is the training run; serving's FLOPs are costed apart, under the same assumptions
    assert plan["compute"] == record["training_flops"] and plan["parameters"]["active"] == record["N"]
    assert data["serving"]["accelerator_hours"]["value"] == pytest.approx(
        record["inference_flops"] / (989.5e12 * 0.4) / 3600, rel=1e-12)
    assert data["loss"] == pytest.approx(2.0, rel=1e-9)
    code, out, err = run(capsys, ["plan", "--target-loss", "2.0", "--inference-tokens", "1e13"])
    assert code == 0 and "inference-aware allocation (Sardana et al. 2023" in out and "serving" in out


def test_no_inference_is_the_plain_allocation(capsys):
    code, out, err = run(capsys, ["plan", "--compute", "1e23", "--inference-tokens", "0", "--json"])
    assert code == 0, err
    with_zero = strict(out)["inference"]
    code, out, err = run(capsys, ["plan", "--compute", "1e23", "--json"])
    plain = strict(out)["recommendation"]["allocations"][0]
    assert with_zero["N"] == pytest.approx(plain["N"], rel=1e-6) and with_zero["inference_flops"] == 0


def test_data_constrained_plan(capsys):
    code, out, err = run(capsys, ["plan", "--compute", "1e22", "--unique-tokens", "25e9", "--accelerator", "a100",
                                  "--accelerators", "256", "--json"])
    assert code == 0, err
    data = strict(out)
    record = data["data_constrained"]
    expected = optimal.data_constrained_optimal(optimal.preset("muennighoff2023"), 1e22, 25e9).to_records()[0]
    assert record == expected
    # Muennighoff et al.'s README grid search: about 7.02e9 parameters, 9.49 epochs at C = 1e22, U = 25e9
    assert record["N"] == pytest.approx(7.02e9, rel=2e-3) and round(record["epochs"], 2) == 9.49
    assert data["plan"]["compute"] == pytest.approx(1e22, rel=1e-9)
    assert "preset muennighoff2023" in data["loss_from"]


BAD_SPECIAL = [
    (["plan", "--shape", "llama2-7b", "--tokens", "1e10", "--unique-tokens", "1e9"], "not with --shape"),
    (["plan", "--params", "1e9", "--tokens", "1e10", "--inference-tokens", "1e13"], "--inference-tokens goes with"),
    (["plan", "--inference-tokens", "1e13"], "--inference-tokens goes with"),
    (["plan", "--params", "1e9", "--tokens", "1e10", "--max-tokens", "1e9"], "--max-tokens, --max-params and --group"),
    (["plan", "--shape", "llama2-7b", "--tokens", "1e10", "--group", "a"], "--max-tokens, --max-params and --group"),
]


@pytest.mark.parametrize("argv, message", BAD_SPECIAL, ids=[m for _, m in BAD_SPECIAL])
def test_bad_special_options(capsys, no_allocation, argv, message):
    assert_one_error(*run(capsys, argv), message)


@pytest.mark.parametrize("argv, message", [
    (["plan", "--compute", "1e22", "--unique-tokens", "25e9", "--preset", "epoch2024"], "needs a DataConstrained law"),
    (["plan", "--compute", "1e24", "--inference-tokens", "-1"], "inference_tokens must be >= 0 and finite, got -1"),
    (["plan", "--compute", "1e22", "--unique-tokens", "0"], "unique_tokens must be positive and finite, got 0"),
])
def test_bad_special_inputs_are_one_line(capsys, argv, message):
    assert_one_error(*run(capsys, argv), message)


def _keys(value, skip, place=""):
    """Every key of nested dicts, except under the places in ``skip`` (keys whose names are data, or the solve
    output documented with solve)."""
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, item in value.items():
        where = f"{place}.{key}" if place else key
        found.add(key)
        if where not in skip:
            found |= _keys(item, skip, where)
    return found


def test_every_json_key_is_in_the_readme(capsys, files):
    section = (Path(__file__).resolve().parents[2] / "docs" / "json.md").read_text().split("## optimal plan", 1)[1]
    section = section.split("\n## ", 1)[0]
    # "schema" and "law" are every command's (docs/cli.md), not the README's plan section
    skip = {"recommendation", "law", "plan.accelerator.peak_flops_per_second", "plan.memory.weights_by_precision",
            "plan.memory.training_state.bytes_per_param_parts", "serving.accelerator.peak_flops_per_second"}
    keys = set()
    for argv in (DONE_WHEN, ["plan", "--target-loss", "2.5", "--fit", files["record"]],
                 ["plan", "--compute", "1e23", "--inference-tokens", "1e12"],
                 ["plan", "--compute", "1e22", "--unique-tokens", "25e9"],
                 ["plan", "--compute", "1e23", "--context", "2048"]):
        code, out, err = run(capsys, argv + ["--json"])
        assert code == 0, err
        keys |= _keys(strict(out), skip)
    missing = sorted(key for key in keys - {"schema", "law"} if f"`{key}`" not in section)
    assert not missing, ", ".join(missing)


@pytest.mark.slow  # six plans: the layout (given and searched), serving, snap, constrained and MoE sections
def test_every_json_key_of_the_plan_s_sections_is_in_json_md(capsys):
    section = (Path(__file__).resolve().parents[2] / "docs" / "json.md").read_text().split("## optimal plan", 1)[1]
    section = section.split("\n## ", 1)[0]
    skip = {"recommendation", "law", "plan.accelerator.peak_flops_per_second", "plan.memory.weights_by_precision",
            "plan.memory.training_state.bytes_per_param_parts", "serving.accelerator.peak_flops_per_second",
            "constrained.hardware.accelerator.peak_flops_per_second"}
    keys = set()
    for argv in (["plan", "--compute", "1e22", "--context", "4096", "--pipeline-parallel", "2", "--accelerators", "64"],
                 ["plan", "--compute", "1e22", "--context", "4096", "--micro-batch", "1", "--accelerators", "64"],
                 ["plan", "--compute", "1e22", "--serve-accelerator", "h100", "--inference-tokens", "1e12"],
                 ["plan", "--compute", "1e22", "--snap-shape", "llama"],
                 ["plan", "--deadline-days", "30", "--accelerators", "1024", "--context", "2048"],
                 ["plan", "--moe-law", "krajewski2024", "--compute", "1e22"]):
        code, out, err = run(capsys, argv + ["--json"])
        assert code == 0, err
        keys |= _keys(strict(out), skip)
    missing = sorted(key for key in keys - {"schema", "law"} if f"`{key}`" not in section)
    assert not missing, ", ".join(missing)


def test_context_counts_attention_flops(capsys):
    # Kaplan et al. 2020, section 2.1: 6 N + 6 n_layer n_ctx d_model per training token; at a fixed aspect ratio a
    # with N = 12 n_layer d_model^2, n_layer d_model = (a N / 12)^(2/3) / a
    n, d, ctx, a = 7e9, 2e12, 4096, 128.0
    code, out, err = run(capsys, ["plan", "--params", n, "--tokens", d, "--context", ctx, "--json"])
    assert code == 0, err
    data = strict(out)
    assert data["plan"]["compute"] == pytest.approx(6 * (n + ctx * (a * n / 12) ** (2 / 3) / a) * d, rel=1e-9)
    assert data["plan"]["flops_per_token_from"] == "given" and data["flops_model"]["context"] == ctx
    kv = data["plan"]["memory"]["kv_cache"]
    assert kv["context"] == ctx and kv["bytes_per_sequence"] == ctx * kv["bytes_per_token"]
    # a shape: its own n_layer and d_model, and its active parameters (Mixtral: 32 x 4096)
    code, out, err = run(capsys, ["plan", "--shape", "mixtral-8x7b", "--tokens", "1e12", "--context", "32768", "--json"])
    assert code == 0, err
    counts = planning.parameter_count(planning.PUBLISHED_SHAPES["mixtral-8x7b"].shape)
    assert strict(out)["plan"]["compute"] == pytest.approx(6 * (counts.active + 32768 * 32 * 4096) * 1e12, rel=1e-9)


def test_context_allocation_is_compute_optimal_with_the_flops_model(capsys):
    code, out, err = run(capsys, ["plan", "--compute", "1e24", "--context", "8192", "--json"])
    assert code == 0, err
    data = strict(out)
    flops = optimal.FlopsPerToken.attention(8192, aspect_ratio=128.0)
    expected = optimal.compute_optimal(optimal.preset(optimal.DEFAULT_PRESET), 1e24, flops=flops).to_records()[0]
    assert data["recommendation"]["flops_model"] == data["flops_model"] and data["allocation"] == expected
    plan = data["plan"]
    assert plan["compute"] == 1e24 and plan["n_tokens"] == expected["D"]
    assert plan["flops_per_token"] * plan["n_tokens"] == pytest.approx(1e24, rel=1e-9)
    # attention makes each token dearer: fewer tokens than the k N D answer at the same budget
    code, out, err = run(capsys, ["plan", "--compute", "1e24", "--json"])
    assert expected["D"] < strict(out)["plan"]["n_tokens"]
    code, out, err = run(capsys, ["plan", "--compute", "1e24", "--context", "8192"])
    assert "allocation with attention FLOPs (Kaplan et al. 2020" in out and "FLOPs/token x D" in out


def test_float64_as_the_program_runs():
    """The program runs with JAX's x64 off (the tests' fixture turns it on): the FLOPs model must still be
    evaluated in float64 (float32 would miss the closed form by ~1e-7)."""
    import os
    import subprocess
    import sys

    n, d, ctx, a = 7e9, 2e12, 4096, 128.0
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), OPTIMAL_CACHE_DIR="off")
    done = subprocess.run([sys.executable, "-m", "optimal", "plan", "--params", str(n), "--tokens", str(d), "--context",
                           str(ctx), "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    compute = strict(done.stdout)["plan"]["compute"]
    assert compute == pytest.approx(6 * (n + ctx * (a * n / 12) ** (2 / 3) / a) * d, rel=1e-12)


def test_activation_memory_takes_room_on_every_accelerator(capsys):
    code, out, err = run(capsys, ["plan", "--params", "7.5e9", "--tokens", "1e11", "--activation-memory", "40",
                                  "--accelerators", "8", "--json"])
    assert code == 0, err
    memory = strict(out)["plan"]["memory"]
    assert memory["activation_bytes_per_accelerator"] == 40e9
    assert memory["accelerators_to_hold"]["zero3"] == 3  # 120 GB of state into the 40 GB left on each of 80
    assert memory["per_accelerator_bytes"]["zero3"] == 120e9 / 8 + 40e9
    assert_one_error(*run(capsys, ["plan", "--compute", "1e24", "--activation-memory", "-1"]),
                     "--activation-memory must be a finite number of GB >= 0, got -1")


@pytest.mark.slow  # solves every draw (compiles per question)
def test_every_question_of_a_fit_with_draws_has_intervals(capsys, files):
    """--context, --inference-tokens and a given run: each draw answers the question, and the JSON carries the
    draws' intervals and extrapolation distances."""
    for argv, keys in ((["--compute", "1e22", "--context", "8192"], ("N", "D", "loss")),
                       (["--target-loss", "2.5", "--inference-tokens", "1e12"], ("compute", "N", "total_flops")),
                       (["--params", "7e9", "--tokens", "1e11"], ("loss",))):
        code, out, err = run(capsys, ["plan", "--fit", files["record"], *argv, "--json"])
        assert code == 0, err
        record = strict(out)["recommendation"]["allocations"][0]
        for key in keys:
            assert record["intervals"][key]["lo"] < record["intervals"][key]["hi"], (argv, key)
        assert ("extrapolation_intervals" in record) == ("--params" not in argv), argv


@pytest.mark.slow  # solves every draw (compiles per question)
def test_target_loss_hours_are_the_draws_figures(capsys, files):
    code, out, err = run(capsys, ["plan", "--fit", files["record"], "--target-loss", "2.5", "--accelerators", "64",
                                  "--json"])
    assert code == 0, err
    data = strict(out)
    answer = optimal.recommend(files["record"], target_loss=2.5)
    c = answer.per_draw["compute"][:, 0]
    hours = np.percentile(c / (989.5e12 * 0.4) / 3600, [2.5, 97.5])
    assert data["intervals"]["accelerator_hours"]["lo"] == pytest.approx(hours[0], rel=1e-12)
    assert data["intervals"]["wall_clock_days"]["hi"] == pytest.approx(hours[1] / 64 / 24, rel=1e-12)
    for name in ("accelerator_hours", "wall_clock_days", "energy_kwh", "cost"):
        assert data["intervals"][name]["lo"] < data["intervals"][name]["hi"], name
    # at a given compute every draw spends it: said, not printed as an interval of zero width
    code, out, err = run(capsys, ["plan", "--fit", files["record"], "--compute", "1e22", "--json"])
    assert code == 0, err
    assert "accelerator_hours" not in strict(out)["intervals"] and "training_state_bytes" in strict(out)["intervals"]


@pytest.mark.slow  # solves every draw (compiles per question)
def test_unique_data_is_stated_and_accepted(capsys):
    argv = ["plan", "--preset", "muennighoff2023", "--params", "1e9", "--tokens", "1e11"]
    code, out, err = run(capsys, argv)
    assert code == 0, err
    assert "unique data: unlimited (U = inf" in out
    code, out, err = run(capsys, argv + ["--json"])
    assert strict(out)["unique_data"]["unique_tokens"] is None
    code, out, err = run(capsys, argv + ["--unique-tokens", "1e10", "--json"])
    assert code == 0, err
    data = strict(out)
    law = optimal.preset("muennighoff2023")._replace(unique_tokens=1e10)
    assert data["loss"] == pytest.approx(float(law.loss(1e9, 1e11)), rel=1e-12)
    assert data["unique_data"]["unique_tokens"] == 1e10 and data["data_constrained"]["epochs"] == 10
    code, out, err = run(capsys, ["plan", "--target-loss", "2.3", "--unique-tokens", "1e10"])
    assert code == 0 and "unique data: U = 1e+10 tokens (given)" in out
    code, out, err = run(capsys, ["solve", "--preset", "muennighoff2023", "--compute", "1e22"])
    assert code == 0 and "unique data: unlimited" in out


def test_solve_takes_the_flops_model(capsys):
    code, out, err = run(capsys, ["solve", "--compute", "1e22", "--context", "8192", "--json"])
    assert code == 0, err
    data = strict(out)
    flops = optimal.FlopsPerToken.attention(8192, aspect_ratio=128.0)
    expected = optimal.compute_optimal(optimal.preset(optimal.DEFAULT_PRESET), 1e22, flops=flops).to_records()[0]
    assert data["allocations"][0]["N"] == expected["N"] and data["flops_model"]["context"] == 8192


# --snap-shape, serving costs and layout memory with the record's draws: intervals, or the reason there is none

@pytest.fixture(scope="module")
def no_draws(files):
    path = files["folder"] / "no_draws.json"
    optimal.save_fit(path, optimal.load_fit(files["record"]))
    return path


def test_snap_shape_snaps_every_draw(capsys, files, no_draws):
    code, out, err = run(capsys, ["plan", "--compute", "1e22", "--snap-shape", "llama", "--fit", files["record"],
                                  "--json"])
    assert code == 0, err
    data = strict(out)
    snap, n_star = data["snap"], data["recommendation"]["allocations"][0]["intervals"]["N"]
    # each draw's unconstrained N* is the allocation's own draw: the same percentile interval
    assert snap["intervals"]["N_star"]["lo"] == pytest.approx(n_star["lo"], rel=1e-6)
    assert snap["intervals"]["N_star"]["hi"] == pytest.approx(n_star["hi"], rel=1e-6)
    assert snap["intervals"]["N"]["lo"] < snap["chosen"]["N"] < snap["intervals"]["N"]["hi"]
    assert snap["intervals"]["confidence"] == 0.95 and snap["intervals"]["loss_given_up"]["lo"] >= 0
    code, out, err = run(capsys, ["plan", "--compute", "1e22", "--snap-shape", "llama", "--fit", no_draws])
    assert code == 0 and "(no interval for the snap: the fit record holds no bootstrap draws" in out


def test_serving_costs_follow_each_draws_n(capsys, files):
    code, out, err = run(capsys, ["plan", "--compute", "1e22", "--serve-batch", "8", "--fit", files["record"], "--json"])
    assert code == 0, err
    data = strict(out)
    serving, n = data["serving_cost"], data["recommendation"]["allocations"][0]["intervals"]["N"]
    # memory-bound decode and prefill are both linear in N: the cost's percentile ends are the cost at N's ends
    for end in ("lo", "hi"):
        at = optimal.planning.serving_cost(n[end], accelerator="h100", decode_batch=8)
        assert serving["intervals"]["cost_per_million_tokens"][end] == pytest.approx(at.cost_per_million_tokens,
                                                                                     rel=1e-9)
    assert serving["no_interval"] == {"figures": ["accelerators_to_hold_weights"],
                                      "why": "every bootstrap draw gives the same figure"}
    code, out, err = run(capsys, ["plan", "--params", "7e9", "--tokens", "1e11", "--serve-batch", "8", "--fit",
                                  files["record"]])
    assert code == 0 and "(no interval for the serving figures: the run's N is given" in out


def test_layout_memory_follows_each_draws_n_and_says_the_activations_do_not(capsys, files):
    argv = ["plan", "--compute", "1e22", "--fit", files["record"], "--context", "2048", "--accelerators", "64"]
    code, out, err = run(capsys, argv + ["--zero", "3", "--json"])
    assert code == 0, err
    data = strict(out)
    layout, n = data["layout"], data["recommendation"]["allocations"][0]["intervals"]["N"]
    weights = layout["intervals"]["weights"]
    # ZeRO-3 over 64 replicas: bf16 weights are 2 bytes per parameter / 64, each draw's N
    assert (weights["lo"], weights["hi"]) == pytest.approx((2 * n["lo"] / 64, 2 * n["hi"] / 64), rel=1e-9)
    assert "activations" in layout["no_interval"]["figures"] and "shape" in layout["no_interval"]["why"]
    code, out, err = run(capsys, argv + ["--micro-batch", "1"])
    assert code == 0 and "(no interval for the layout figures: the layout search runs once, at the point's N)" in out
