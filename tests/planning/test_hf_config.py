"""Hugging Face config.json files as shapes: the published counts of three real configs (fixtures in data/, their
sources in data/README.md), the fields read, and every bad file a one-line PlanningError saying what to fix."""

import json
from pathlib import Path

import pytest

from optimal.errors import OptimalError, PlanningError
from optimal.planning import PUBLISHED_SHAPES, parameter_count, read_hf_config
from optimal.planning.hf_config import MAX_CONFIG_BYTES, hf_config_from_dict

DATA = Path(__file__).parent / "data"
LLAMA = {"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
         "intermediate_size": 11008, "vocab_size": 32000}


def test_llama2_7b_is_the_checkpoint_count():
    # the checkpoint of meta-llama/Llama-2-7b-hf holds 6,738,415,616 parameters
    config = read_hf_config(DATA / "llama-2-7b-hf.config.json")
    assert parameter_count(config.shape).total == 6_738_415_616
    assert config.model_type == "llama" and config.context == 4096


def test_qwen2_72b_is_the_reported_count():
    # Qwen2 technical report, Table 1: 72.71B parameters, 70.21B non-embedding
    counts = parameter_count(read_hf_config(DATA / "qwen2-72b.config.json").shape)
    assert round(counts.total / 1e9, 2) == 72.71
    assert round(counts.non_embedding / 1e9, 2) == 70.21


def test_mixtral_8x7b_total_and_active():
    # Mistral AI: 46.7B total, 12.9B used per token
    config = read_hf_config(DATA / "mixtral-8x7b-v0.1.config.json")
    counts = parameter_count(config.shape)
    assert (round(counts.total / 1e9, 1), round(counts.active / 1e9, 1)) == (46.7, 12.9)
    assert config.shape.n_experts == 8 and config.shape.experts_per_token == 2


@pytest.mark.parametrize("file, name", [("llama-2-7b-hf", "llama2-7b"), ("qwen2-72b", "qwen2-72b"),
                                        ("mixtral-8x7b-v0.1", "mixtral-8x7b")])
def test_a_config_gives_the_published_shape(file, name):
    assert parameter_count(read_hf_config(DATA / f"{file}.config.json").shape) == \
        parameter_count(PUBLISHED_SHAPES[name].shape)


def test_optional_fields_and_their_defaults():
    dense = hf_config_from_dict(LLAMA)
    assert dense.shape.kv_heads == 32 and dense.shape.head_width == 128 and not dense.shape.tied_embeddings
    assert dense.context is None and dense.shape.n_experts == 1
    tied = hf_config_from_dict({**LLAMA, "tie_word_embeddings": True, "head_dim": 64, "num_key_value_heads": 8})
    assert tied.shape.tied_embeddings and tied.shape.head_width == 64 and tied.shape.kv_heads == 8
    assert parameter_count(tied.shape).total < parameter_count(dense.shape).total
    by_architecture = hf_config_from_dict({**{k: v for k, v in LLAMA.items() if k != "model_type"},
                                           "architectures": ["Qwen2ForCausalLM"]})
    assert by_architecture.model_type == "qwen2" and by_architecture.shape.biases == "qkv"


BAD = [
    ([1, 2], "must hold a JSON object"),
    ({**LLAMA, "model_type": "deepseek_v3"}, "model_type 'deepseek_v3' is not read"),
    ({k: v for k, v in LLAMA.items() if k != "model_type"}, "model_type is missing"),
    ({k: v for k, v in LLAMA.items() if k != "hidden_size"}, "hidden_size is missing"),
    ({**LLAMA, "num_hidden_layers": "32"}, "num_hidden_layers must be an integer"),
    ({**LLAMA, "num_key_value_heads": 5}, "n_kv_heads (5) must divide n_heads (32)"),
    ({**LLAMA, "attention_bias": True}, "attention_bias is true"),
    ({**LLAMA, "tie_word_embeddings": "no"}, "tie_word_embeddings must be true or false"),
    ({**LLAMA, "model_type": "mixtral"}, "num_local_experts is missing"),
    ({**LLAMA, "model_type": "mixtral", "num_local_experts": 8, "num_experts_per_tok": 9}, "experts_per_token (9)"),
]


@pytest.mark.parametrize("data, message", BAD)
def test_bad_configs_say_what_to_fix(tmp_path, data, message):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PlanningError, match="config file .*") as caught:
        read_hf_config(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_unreadable_invalid_and_oversized_files(tmp_path):
    with pytest.raises(PlanningError, match="cannot read"):
        read_hf_config(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PlanningError, match="not valid JSON"):
        read_hf_config(tmp_path / "bad.json")
    (tmp_path / "big.json").write_bytes(b" " * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(PlanningError, match="more than a config.json"):
        read_hf_config(tmp_path / "big.json")
    assert issubclass(PlanningError, OptimalError)
