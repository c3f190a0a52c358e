"""``optimal plan --moe-law``: a published MoE law's compute-optimal run, planned with active and total parameters
apart; text and strict JSON agree with the library; other questions and laws are one ``error:`` line."""

import pytest

import optimal
from optimal.laws.moe import LUDZIEJEWSKI2025
from cli_helpers import assert_one_error, run, strict


def test_moe_plan_carries_active_and_total_parameters(capsys):
    code, out, _ = run(capsys, ["plan", "--moe-law", "ludziejewski2025", "--experts", "8", "--compute", "1e21",
                                "--accelerators", "64", "--json"])
    answer = strict(out)
    assert code == 0 and answer["schema"] == "optimal.plan/1" and answer["question"] == "moe"
    assert answer["law"]["family"] == "joint-moe"
    expected = optimal.moe_optimal(LUDZIEJEWSKI2025._replace(experts=8.0), 1e21, expansion=8.0).to_records()[0]
    assert answer["moe"]["allocation"] == pytest.approx(expected, rel=1e-12)
    assert answer["moe"]["layout"]["experts_from"] == "given"
    # the plan holds every expert and spends FLOPs on the active ones: its shape has 8 experts, 1 per token
    counts = answer["plan"]["parameters"]
    assert counts["total"] > 4 * counts["active"]
    assert counts["active"] == pytest.approx(expected["N_active"], rel=0.1)  # a shape of whole heads and layers
    code, out, _ = run(capsys, ["plan", "--moe-law", "krajewski2024", "--granularity", "8", "--compute", "1e23"])
    assert code == 0 and "expansion rate [default], granularity 8" in out and "512 experts (8 per token)" in out
    code, out, err = run(capsys, ["plan", "--moe-law", "krajewski2024", "--compute", "1e23", "--preset", "epoch2024"])
    assert_one_error(code, out, err, "not --preset")
    code, out, err = run(capsys, ["plan", "--moe-law", "ludziejewski2025", "--compute", "1e21", "--granularity", "2"])
    assert_one_error(code, out, err, "--granularity goes with --moe-law krajewski2024")
