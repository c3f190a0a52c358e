"""``optimal plan``'s layout options: the done-when GPT-3 175B plan reports Korthikanti et al.'s activations per
accelerator; with no degree given the layout search answers; every figure beside its assumptions; bad input is one
``error:`` line."""

import pytest

from optimal import planning
from cli_helpers import assert_one_error, run, strict

GPT3 = ["plan", "--shape", "gpt3-175b", "--tokens", "3e11", "--accelerator", "a100-80gb", "--context", "2048"]
DONE_WHEN = GPT3 + ["--accelerators", "64", "--micro-batch", "1", "--tensor-parallel", "8", "--pipeline-parallel", "8",
                    "--sequence-parallel", "--recompute", "selective"]


def _korthikanti(s=2048, b=1, h=12288, L=96, t=8, p=8):
    # Table 2, tensor + sequence parallel + selective recomputation: sbh (34/t) per layer; the first stage holds
    # p micro-batches of L/p layers (section 4.2.3, Eq. 6), plus the embedding dropout's sbhp/t (section 4.3)
    return s * b * h * 34 / t * L + s * b * h * p / t


def test_done_when_gpt3_plan_reports_korthikanti_activations(capsys):
    code, out, err = run(capsys, DONE_WHEN + ["--json"])
    assert code == 0, err
    layout = strict(out)["layout"]
    assert layout["mode"] == "given" and layout["fits"] is True
    memory = layout["memory"]
    assert memory["activation_bytes"] == pytest.approx(_korthikanti(), rel=1e-12)  # 10,292,822,016 bytes
    assert memory["activations"]["per_layer_bytes"] == pytest.approx(2048 * 12288 * 34 / 8, rel=1e-12)
    assert memory["layout"] == {"tensor_parallel": 8, "pipeline_parallel": 8, "data_parallel": 1, "expert_parallel": 1,
                                "zero_stage": 0, "sequence_parallel": True, "recompute": "selective", "accelerators": 64}
    assert memory["total_bytes"] == pytest.approx(memory["activation_bytes"] + memory["weights_bytes"]
                                                  + memory["gradients_bytes"] + memory["optimizer_state_bytes"])
    assert layout["assumptions"]["micro_batch"] == {"value": 1, "from": "given"}
    assert layout["assumptions"]["zero"] == {"value": 0, "from": "default"}
    assert memory["bytes_per_param"] == 16 and memory["megatron_bytes_per_param"] == 18
    code, out, err = run(capsys, DONE_WHEN)
    assert code == 0, err
    assert f"activations      {_korthikanti() / 1e9:.4g} GB" in out and "Korthikanti et al. 2022, Table 2" in out
    assert "largest micro-batch that fits" in out and "18 bytes/param" in out


def test_no_degrees_search_for_the_best_layout(capsys):
    code, out, err = run(capsys, GPT3 + ["--accelerators", "512", "--micro-batch", "1", "--global-batch", "512",
                                         "--json"])
    assert code == 0, err
    layout = strict(out)["layout"]
    expected = planning.search_layouts(planning.parameter_count(planning.PUBLISHED_SHAPES["gpt3-175b"].shape).total,
                                       planning.PUBLISHED_SHAPES["gpt3-175b"].shape, 512, "a100-80gb", 2048,
                                       micro_batch=1, global_batch=512)
    assert layout["mode"] == "search" and layout["best"] == pytest.approx(expected.best.to_dict())
    assert layout["best"]["bytes_per_accelerator"] <= 80e9
    assert layout["assumptions"]["global_batch"] == {"value": 512, "from": "argument", "note": "sequences per step"}
    code, out, err = run(capsys, GPT3 + ["--accelerators", "512", "--micro-batch", "1"])
    assert code == 0, err
    assert "best layout: " in out and "assumption: global_batch: 2048 (default)" in out


def test_activation_memory_given_overrides_the_estimate(capsys):
    code, out, err = run(capsys, DONE_WHEN + ["--activation-memory", "20", "--json"])
    assert code == 0, err
    memory = strict(out)["layout"]["memory"]
    assert memory["activation_bytes"] == 20e9 and memory["activations"] is None
    assert memory["activations_from"].startswith("given")


def test_without_layout_options_the_section_is_null(capsys):
    code, out, err = run(capsys, GPT3 + ["--json"])
    assert code == 0, err
    assert strict(out)["layout"] is None


@pytest.mark.parametrize("extra, message", [
    (["--micro-batch", "2"], "need --context"),
    (["--context", "2048", "--micro-batch", "1"], "needs --accelerators"),
    (["--context", "2048", "--accelerators", "60", "--tensor-parallel", "8"], "not a multiple of tensor x pipeline"),
    (["--context", "2048", "--tensor-parallel", "5"], "must divide the 96 heads"),
    (["--context", "2048", "--accelerators", "64", "--micro-batch", "1", "--activation-memory", "3"],
     "--activation-memory sizes one layout"),
    (["--context", "2048", "--micro-batch", "0"], "must be at least 1"),
    (["--context", "2048", "--recompute", "some"], "invalid choice"),
])
def test_bad_layout_options_are_one_error_line(capsys, extra, message):
    base = ["plan", "--shape", "gpt3-175b", "--tokens", "3e11"]
    assert_one_error(*run(capsys, base + extra), message)
