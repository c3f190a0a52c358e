"""optimal plan with a config.json --shape, --snap-shape and --serve-* options: JSON sections, the inference
allocation weighed by serving prices, and one-line errors."""

from pathlib import Path

import pytest

from cli_helpers import assert_one_error, run, strict

DATA = Path(__file__).resolve().parents[1] / "planning" / "data"


def test_a_config_json_as_the_shape(capsys):
    code, out, err = run(capsys, ["plan", "--shape", DATA / "mixtral-8x7b-v0.1.config.json", "--tokens", "1e12",
                                  "--json"])
    assert code == 0, err
    plan = strict(out)["plan"]
    assert plan["parameters"] == {"active": 12_879_925_248, "total": 46_702_792_704, "from": "shape"}
    code, out, err = run(capsys, ["plan", "--shape", DATA / "llama-2-7b-hf.config.json", "n_layer=16", "--tokens",
                                  "1e9", "--json"])
    assert code == 0 and strict(out)["plan"]["shape"]["n_layer"] == 16


def test_snap_shape_section(capsys):
    code, out, err = run(capsys, ["plan", "--compute", "1e22", "--snap-shape", "llama", "--json"])
    assert code == 0, err
    snap = strict(out)["snap"]
    assert snap["family"] == "llama" and snap["loss_given_up"] >= 0 and snap["chosen"]["shape"]["d_model"] % 128 == 0
    code, out, err = run(capsys, ["plan", "--compute", "1e22", "--snap-shape", "gpt3"])
    assert code == 0 and "loss given up" in out


def test_serving_prices_weigh_the_inference_allocation(capsys):
    base = ["plan", "--compute", "1e23", "--inference-tokens", "1e13", "--json"]
    plain = strict(run(capsys, base)[1])
    # compute-bound fp8 serving on an H200 at the training MFU and price costs half a bf16 training FLOP per FLOP
    cheap = strict(run(capsys, base + ["--serve-accelerator", "h200", "--serve-precision", "fp8", "--serve-batch",
                                       "1e6"])[1])
    assert cheap["serving_cost"]["inference_flops_per_param"] == pytest.approx(1.0)
    assert cheap["flops_model"]["inference_per_param"] == pytest.approx(1.0)
    assert cheap["inference"]["N"] > plain["inference"]["N"]  # cheaper serving: a larger model is worth it
    assert cheap["serving"] is None and cheap["serving_cost"]["cost"] > 0
    code, out, err = run(capsys, ["plan", "--params", "7e9", "--tokens", "1e12", "--serve-batch", "1"])
    assert code == 0 and "per million tokens" in out and "memory bound" in out


@pytest.mark.parametrize("argv, message", [
    (["--compute", "1e22", "--snap-shape", "llama", "--context", "2048"], "--snap-shape snaps"),
    (["--target-loss", "2.3", "--snap-shape", "llama"], "--snap-shape snaps"),
    (["--compute", "1e22", "--snap-count", "active"], "--snap-count goes with --snap-shape"),
    (["--shape", "missing.config.json", "--tokens", "1e9"], "cannot read config file"),
    (["--params", "7e9", "--tokens", "1e12", "--serve-mfu", "2"], "serving mfu must be above 0 and at most 1"),
    (["--params", "7e9", "--tokens", "1e12", "--serve-accelerator", "x9"], "unknown accelerator"),
])
def test_bad_options_are_one_line(capsys, argv, message):
    assert_one_error(*run(capsys, ["plan", *argv]), message)
