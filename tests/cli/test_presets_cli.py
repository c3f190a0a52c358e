"""``optimal presets``: the listing (text and strict JSON), --check, --compare, and one-line errors."""

import pytest

from cli_helpers import assert_one_error, run, strict
from optimal.laws.presets import REGISTRY


def test_listing_names_every_preset_with_kind_units_range_and_source(capsys):
    code, out, err = run(capsys, ["presets"])
    assert code == 0 and err == ""
    for name, record in REGISTRY.items():
        assert f"{name}  [{record.kind}]" in out
    assert "M non-embedding FLOPs per token; C = M D" in out and "N non-embedding parameters; C = 6 N D" in out
    assert "Sec. 3.2, eq. 4" in out and "C 1e+17 to 3e+20 FLOPs" in out
    assert "N active parameters; C = 6 N_active D" in out and "optimal plan --moe-law krajewski2024" in out
    assert "deepseek2024  [hyperparameters]" in out and "section 3.1, eq. (1)" in out


def test_json_listing_and_check(capsys, monkeypatch):
    code, out, _ = run(capsys, ["presets", "--json"])
    listed = strict(out)
    assert code == 0 and listed["schema"] == "optimal.presets/1" and listed["mode"] == "list"
    assert [p["name"] for p in listed["presets"]] == list(REGISTRY)
    assert listed["preset_option"] == [n for n, r in REGISTRY.items() if r.kind == "loss"]
    joint = listed["presets"][list(REGISTRY).index("ludziejewski2025")]
    assert joint["kind"] == "moe" and joint["law"]["form"] == "joint-moe" and joint["law"]["a"] == 35.91
    assert joint["units"] == {"params": "active", "compute": "C = k N_active D", "k": 6.0}
    assert [h["name"] for h in listed["hparam_presets"]] == ["deepseek2024"]
    deepseek = listed["presets"][list(REGISTRY).index("deepseek2024")]
    assert deepseek["law"] is None and deepseek["units"] == {"params": "M", "compute": "C = M D", "k": None}
    # --check on the presets whose vectors need no solver compiled (the rest are tested in tests/laws)
    for name in ("muennighoff2023", "sardana2023"):
        monkeypatch.delitem(REGISTRY, name)
    code, out, err = run(capsys, ["presets", "--check", "--json"])
    checked = strict(out)
    assert code == 0 and checked["status"] == "success" and err == ""
    llama = checked["presets"][[p["name"] for p in checked["presets"]].index("llama3")]
    assert llama["vectors"][0]["ok"] and not llama["vectors"][0]["reproduces"]
    assert llama["vectors"][0]["computed"] == pytest.approx(1.046e13, rel=1e-3)
    assert any(n["code"] == "rounding-breaks-example" for n in checked["notes"])


def test_compare_side_by_side_in_text_and_json(capsys, monkeypatch):
    for name in ("kaplan2020", "muennighoff2023"):  # laws whose allocation compiles a solver
        monkeypatch.delitem(REGISTRY, name)
    code, out, err = run(capsys, ["presets", "--compare", "--compute", "5.76e23"])
    assert code == 0 and "N* (project)" in out and "N = M / 6" in out
    assert "warning: " in err and "beyond its fitted compute range" in err
    code, out, _ = run(capsys, ["presets", "--compare", "--compute", "1e20", "5.76e23", "--json"])
    answer = strict(out)
    assert answer["mode"] == "compare" and answer["compute"] == [1e20, 5.76e23]
    assert answer["convention"] == "N total parameters, C = 6 N D" and len(answer["answers"]) == 2 * len(
        [n for n, r in REGISTRY.items() if r.kind != "moe"])
    hoffmann = [a for a in answer["answers"] if a["preset"] == "hoffmann2022" and a["compute"] == 5.76e23][0]
    assert hoffmann["own"]["N"] == pytest.approx(32.19e9, rel=1e-3) and hoffmann["own"]["loss"] > 1.69


def test_a_new_loss_preset_works_as_preset_option(capsys):
    code, out, err = run(capsys, ["solve", "--preset", "hoffmann2022-unrounded", "--compute", "5.76e23", "--json"])
    assert code == 0, err
    assert strict(out)["allocations"][0]["N"] == pytest.approx(40.36e9, rel=1e-3)


@pytest.mark.parametrize("argv, message", [
    (["presets", "--compare"], "--compare needs --compute"),
    (["solve", "--preset", "krajewski2024", "--compute", "1e21"], "optimal plan --moe-law krajewski2024"),
    (["presets", "--compute", "1e22"], "--compute is for --compare"),
    (["presets", "--compare", "--compute", "0"], "compute must be a positive finite number"),
])
def test_bad_input_is_one_error_line(capsys, argv, message):
    assert_one_error(*run(capsys, argv), message)
