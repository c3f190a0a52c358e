"""The preset registry checks itself: every paper's own outputs recomputed from the preset (``check_presets``),
the records complete, the old ``PRESETS`` unchanged, and the presets' answers side by side (``compare_presets``)."""

import dataclasses
import math

import pytest

import optimal
from optimal.analysis import presets as checks
from optimal.laws.presets import KINDS, PRESETS, REGISTRY, Chinchilla, preset_name

# vectors that compile a solver (the data-constrained and inference-aware allocators: 10-30 s cold on 2 shared cores)
SOLVED = ("data_constrained_", "inference_")
VECTORS = [pytest.param(name, i, id=f"{name}-{i}-{v.quantity}",
                        marks=[pytest.mark.slow] if v.quantity.startswith(SOLVED) else [])
           for name, record in REGISTRY.items() for i, v in enumerate(record.vectors)]


@pytest.mark.parametrize("name, index", VECTORS)
def test_every_vector_reproduces_within_its_printed_rounding(name, index):
    record = REGISTRY[name]
    vector = record.vectors[index]
    ratio = checks.vector_value(record, vector) / vector.expected
    target = 1.0 if vector.reproduces else vector.expected_ratio
    assert ratio / target == pytest.approx(1.0, abs=vector.rel_tol), vector.printed


def test_a_preset_that_drifts_from_its_paper_fails_its_vectors(monkeypatch):
    # sardana2023's README numbers against Hoffmann's printed rounding (0.34, 0.28): they no longer follow
    record = REGISTRY["sardana2023"]
    cheap = tuple(v for v in record.vectors if not v.quantity.startswith(SOLVED))
    monkeypatch.setitem(REGISTRY, "sardana2023", dataclasses.replace(record, vectors=cheap))
    assert checks.check_presets(["sardana2023"]).ok
    monkeypatch.setitem(REGISTRY, "sardana2023", dataclasses.replace(record, vectors=cheap,
                                                                       law=PRESETS["hoffmann2022"]))
    result = checks.check_presets(["sardana2023"])
    assert not result.ok and result.status is optimal.Status.FAILED and result.passed("sardana2023") == (0, 3)
    assert len(result.warnings) == 3 and all(w.code == "vector-mismatch" for w in result.warnings)


def test_llama3_text_rounding_misses_its_own_example_by_the_stated_amount():
    checked = checks.check_presets(["llama3", "llama3-fig3"])
    # Sec. 3.2.1: (alpha, A) = (0.53, 0.29) and "16.55T tokens" at 3.8e25 FLOPs; Figure 3: alpha = 0.537, A = 0.299
    assert REGISTRY["llama3"].allocation.tokens(3.8e25) == pytest.approx(1.05e13, rel=5e-3)
    assert REGISTRY["llama3-fig3"].allocation.tokens(3.8e25) == pytest.approx(16.55e12, rel=0.02)
    (row,) = [r for r in checked.rows if r["preset"] == "llama3"]
    assert not row["reproduces"] and row["ok"] and row["rel_error"] == pytest.approx(-0.368, abs=0.005)
    assert any(n.code == "rounding-breaks-example" and n.message.startswith("llama3:") for n in checked.notes)


def test_every_record_says_units_range_source_and_why_it_has_no_vectors():
    for name, record in REGISTRY.items():
        assert record.name == name and record.kind in KINDS
        assert record.units.params in ("total", "non-embedding", "active", "M")
        assert (record.units.compute == "C = M D") == (record.units.k is None) == (record.units.params == "M")
        assert record.source.paper and record.source.where and record.source.url.startswith("https://")
        assert record.fitted_range.source and any(r is not None for r in record.fitted_range[:3])
        assert record.vectors or any("no test vector" in n for n in record.notes), name
        assert (record.law is None) == (record.kind == "allocation")
        assert (record.units.compute == "C = k N_active D") == (record.kind == "moe")
        for v in record.vectors:
            assert v.quantity in checks.QUANTITIES and 0 < v.rel_tol < 0.05 and v.printed
            assert v.reproduces or v.expected_ratio is not None


def test_presets_holds_every_loss_law_and_keeps_the_old_coefficients():
    assert list(PRESETS) == [name for name, record in REGISTRY.items() if record.kind == "loss"]
    assert list(PRESETS) == ["epoch2024", "hoffmann2022", "hoffmann2022-unrounded", "kaplan2020", "muennighoff2023",
                             "sardana2023"]
    assert tuple(PRESETS["epoch2024"]) == (1.8172, 482.01, 2085.43, 0.3478, 0.3658)
    assert tuple(PRESETS["hoffmann2022"]) == (1.69, 406.4, 410.7, 0.34, 0.28)
    assert tuple(PRESETS["kaplan2020"]) == (0.076, 0.103, 6.4e13, 1.8e13)
    m = PRESETS["muennighoff2023"]
    assert (math.log(m.A), math.log(m.B), math.log(m.E)) == pytest.approx((6.255414, 7.3049974, 0.6254804), rel=1e-15)
    for name in PRESETS:
        assert optimal.preset(name) is PRESETS[name] is REGISTRY[name].law
        assert preset_name(PRESETS[name]) == name  # a preset passed as a law keeps its name and range


def test_the_new_loss_presets_answer_by_name_with_their_range():
    answer = optimal.recommend("sardana2023", 5.76e23)
    assert answer.records[0]["N"] == pytest.approx(41.72e9, rel=1e-3)
    assert answer.fitted_range == optimal.PRESET_RANGES["sardana2023"] == optimal.PRESET_RANGES["hoffmann2022"]


def test_preset_refuses_allocation_only_and_moe_names_saying_where_they_are():
    with pytest.raises(optimal.UnknownPresetError, match="allocation-only"):
        optimal.preset("deepseek2024")
    with pytest.raises(optimal.UnknownPresetError, match="optimal plan --moe-law ludziejewski2025"):
        optimal.preset("ludziejewski2025")


def test_moe_presets_reference_the_one_definition():
    from optimal.laws import moe

    assert REGISTRY["krajewski2024"].law is moe.KRAJEWSKI2024
    assert REGISTRY["ludziejewski2025"].law is moe.LUDZIEJEWSKI2025
    with pytest.raises(optimal.UnknownPresetError, match="mixture-of-experts"):
        checks.compare_presets(1e21, ["krajewski2024"])
    assert "krajewski2024" not in {r["preset"] for r in checks.compare_presets(1e21, ["epoch2024"]).rows}


def test_hoffmann_printed_constants_are_the_unrounded_ones_rounded():
    rounded, full = REGISTRY["hoffmann2022"].law, REGISTRY["hoffmann2022-unrounded"].law
    assert (round(full.E, 2), round(full.A, 1), round(full.B, 1), round(full.alpha, 2), round(full.beta, 2)) == \
        tuple(rounded)


def test_registry_ranges_agree_with_the_ranges_allocations_warn_with():
    assert set(optimal.PRESET_RANGES) == set(PRESETS)
    for name, known in optimal.PRESET_RANGES.items():
        mine = REGISTRY[name].fitted_range
        assert mine.N == (known.n_min, known.n_max) and mine.D == (known.d_min, known.d_max), name
        assert mine.C[1] == pytest.approx(6 * known.max_param_tokens, rel=1e-12), name
    # the numbers allocations warned with before the ranges were read from the registry
    assert optimal.PRESET_RANGES["epoch2024"].max_param_tokens == 1.2956e22 / 6
    assert optimal.PRESET_RANGES["kaplan2020"].max_param_tokens == 1.5e9 * 2.29e10
    assert optimal.PRESET_RANGES["muennighoff2023"].max_param_tokens == 9e9 * 9e11


def test_compare_puts_the_three_chinchilla_roundings_side_by_side():
    # issue 23: three published roundings give N* = 32.2e9, 40.4e9 and 41.7e9 at the Gopher budget 5.76e23
    answer = checks.compare_presets(5.76e23, ["hoffmann2022", "hoffmann2022-unrounded", "sardana2023"])
    assert [r["own"]["N"] for r in answer.rows] == pytest.approx([32.19e9, 40.36e9, 41.72e9], rel=1e-3)
    assert all(r["converted"]["N"] == r["own"]["N"] and r["converged"] for r in answer.rows)
    assert answer.ok and all("extrapolation" == w.code for w in answer.warnings)


def test_compare_converts_allocation_only_presets_to_this_projects_convention():
    answer = checks.compare_presets([1e20, 3.8e25], ["deepseek2024", "llama3"])
    deepseek, llama = answer.rows[0], answer.rows[3]
    assert deepseek["own"]["N_unit"] == "M" and deepseek["own"]["loss"] is None
    assert deepseek["own"]["N"] == pytest.approx(0.1715 * 1e20 ** 0.5243)
    assert deepseek["converted"]["N"] == pytest.approx(deepseek["own"]["N"] / 6)  # C = M D = 6 (M / 6) D
    assert llama["converted"]["N"] * llama["converted"]["D"] * 6 == pytest.approx(3.8e25)
    assert llama["own"]["D"] == pytest.approx(1.046e13, rel=1e-3)
    assert deepseek["compute_decades_outside"] == 0.0 and llama["compute_decades_outside"] > 3


def test_compare_refuses_a_bad_budget_and_an_unknown_name():
    with pytest.raises(optimal.BudgetError, match="compute"):
        checks.compare_presets([1e21, -1.0])
    with pytest.raises(optimal.UnknownPresetError, match="chinchilla-2"):
        checks.compare_presets(1e21, ["chinchilla-2"])


def test_record_to_dict_is_strict_json():
    import json

    for record in REGISTRY.values():
        json.dumps(record.to_dict(), allow_nan=False)
    assert isinstance(REGISTRY["sardana2023"].law, Chinchilla)
