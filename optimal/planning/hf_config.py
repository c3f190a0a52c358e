"""A model's ``config.json`` in the Hugging Face convention as a ``TransformerShape``.

The model types read (``model_type``, or else the first of ``architectures``) are the decoder-only families whose
parameters ``shapes.parameter_count`` counts exactly: ``llama`` (LlamaForCausalLM), ``mistral``
(MistralForCausalLM), ``qwen2`` (Qwen2ForCausalLM) and ``mixtral`` (MixtralForCausalLM, a mixture of experts).
Each has a gated (SwiGLU) FFN, RMSNorm (two per block and one final) and rotary positions (no learned position
embeddings). Every other model type is refused with a ``PlanningError`` that says to give the shape as fields
(``--shape n_layer=... d_model=...``): a silent miscount is worse than none (Qwen3's per-head query/key norms,
DeepSeek's latent attention and shared experts, Gemma's embedding scaling are not of this form).

Fields used (the Hugging Face names, each mapped to the ``TransformerShape`` field):

- ``num_hidden_layers`` -> ``n_layer``; ``hidden_size`` -> ``d_model``; ``num_attention_heads`` -> ``n_heads``;
  ``vocab_size`` -> ``vocab_size`` (all four required);
- ``num_key_value_heads`` -> ``n_kv_heads`` (absent or null: ``num_attention_heads``, multi-head attention);
- ``head_dim`` -> ``d_head`` (absent or null: ``hidden_size / num_attention_heads``);
- ``intermediate_size`` -> ``d_ff`` (required; for ``mixtral`` the width of each expert's FFN);
- ``tie_word_embeddings`` -> ``tied_embeddings`` (absent: false, the default of all four model types);
- ``num_local_experts`` (``mixtral``; ``num_experts`` is read too) -> ``n_experts``, and ``num_experts_per_tok``
  -> ``experts_per_token`` (absent: 1 and 1, a dense model; ``mixtral`` without them is refused);
- biases: ``qwen2`` has query, key and value biases (its modelling code adds them; the file does not say) ->
  ``biases="qkv"``; ``llama`` and ``mistral`` read ``attention_bias`` and ``mlp_bias`` (absent: false) and have no
  biases when both are false (a true one is refused: Llama's attention bias includes the output projection, which
  the shape cannot count); ``mixtral`` has none;
- ``max_position_embeddings`` is reported (``HFConfig.context``), not counted: rotary positions have no parameters.

Other keys (``rope_theta``, ``rms_norm_eps``, ``torch_dtype``, ...) are ignored. The file is read through
``_util.jsonio.read_json`` after a size check (``MAX_CONFIG_BYTES``); every problem is a ``PlanningError`` naming
the file and the field.

Example:
  >>> import json, os, tempfile
  >>> path = os.path.join(tempfile.mkdtemp(), "config.json")
  >>> with open(path, "w") as file:
  ...     json.dump({"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
  ...                "intermediate_size": 11008, "vocab_size": 32000}, file)
  >>> from optimal.planning import parameter_count
  >>> parameter_count(read_hf_config(path).shape).total
  6738415616
"""

import dataclasses
import os

from ..errors import CoefficientsError, PlanningError
from .._util.jsonio import read_json
from .shapes import TransformerShape

MAX_CONFIG_BYTES = 1 << 20  # a config.json is a few kB; past 1 MiB it is not one
MODEL_TYPES = ("llama", "mistral", "qwen2", "mixtral")
_ARCHITECTURES = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral", "Qwen2ForCausalLM": "qwen2",
                  "MixtralForCausalLM": "mixtral"}


@dataclasses.dataclass(frozen=True)
class HFConfig:
    """A ``config.json`` read: ``shape`` (a ``TransformerShape``), ``model_type``, ``context``
    (``max_position_embeddings`` in tokens, or None) and ``path``."""

    shape: TransformerShape
    model_type: str
    context: int | None
    path: str

    def to_dict(self) -> dict:
        return {"path": self.path, "model_type": self.model_type, "context": self.context,
                "shape": self.shape.to_dict()}


def looks_like_config_path(text) -> bool:
    """Whether a ``--shape`` word names a file rather than a published shape: it ends in ``.json`` or holds a path
    separator."""
    return isinstance(text, str) and (text.lower().endswith(".json") or os.sep in text or "/" in text)


def read_hf_config(path) -> HFConfig:
    """The ``TransformerShape`` of the Hugging Face ``config.json`` at ``path`` (fields: the module's docstring).

    Raises ``PlanningError`` naming the file and what to fix: unreadable, over ``MAX_CONFIG_BYTES``, not a JSON
    object, an unsupported model type, a required field missing, a field of the wrong type or out of range.
    """
    label = f"config file {os.fspath(path)!r}" if isinstance(path, (str, os.PathLike)) else "config file"
    try:
        size = os.stat(path).st_size
    except (OSError, TypeError, ValueError) as exc:
        raise PlanningError(f"cannot read {label}: {getattr(exc, 'strerror', None) or exc}") from None
    if size > MAX_CONFIG_BYTES:
        raise PlanningError(f"{label} is {size} bytes, more than a config.json ({MAX_CONFIG_BYTES} bytes at most); "
                            "is it the right file?")
    try:
        data = read_json(path, "config file")
    except CoefficientsError as exc:
        raise PlanningError(str(exc)) from None
    return hf_config_from_dict(data, label, path=os.fspath(path))


def hf_config_from_dict(data, where="config", path="") -> HFConfig:
    """``read_hf_config`` for an already parsed ``config.json`` (a dict); ``where`` goes in front of messages."""
    if not isinstance(data, dict):
        raise PlanningError(f"{where} must hold a JSON object (a model's config.json), not {type(data).__name__}")
    model_type = _model_type(data, where)

    def integer(key, default=None, minimum=1):
        value = data.get(key)
        if value is None:
            if default is None:
                raise PlanningError(f"{where}: {key} is missing; a {model_type} config.json has it")
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise PlanningError(f"{where}: {key} must be an integer >= {minimum}, got {value!r}")
        return value

    def flag(key):
        value = data.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise PlanningError(f"{where}: {key} must be true or false, got {value!r}")
        return value

    heads = integer("num_attention_heads")
    fields = dict(n_layer=integer("num_hidden_layers"), d_model=integer("hidden_size"), n_heads=heads,
                  vocab_size=integer("vocab_size"), n_kv_heads=integer("num_key_value_heads", heads),
                  d_ff=integer("intermediate_size"), gated_ffn=True, tied_embeddings=flag("tie_word_embeddings"),
                  norm="rmsnorm", positions=0)
    if data.get("head_dim") is not None:
        fields["d_head"] = integer("head_dim")
    if model_type == "qwen2":
        fields["biases"] = "qkv"
    elif model_type in ("llama", "mistral"):
        for key in ("attention_bias", "mlp_bias"):
            if flag(key):
                raise PlanningError(f"{where}: {key} is true; a {model_type} model with biases is not counted by "
                                    "this shape (give it as --shape fields with biases=...)")
    experts_key = "num_experts" if "num_experts" in data and "num_local_experts" not in data else "num_local_experts"
    experts = integer(experts_key, 0 if model_type != "mixtral" else None, minimum=1)
    if experts:
        fields.update(n_experts=experts, experts_per_token=integer("num_experts_per_tok"))
    elif "num_experts_per_tok" in data and data["num_experts_per_tok"] not in (None, 1):
        raise PlanningError(f"{where}: num_experts_per_tok is given without num_local_experts (or num_experts)")
    context = integer("max_position_embeddings", 0)
    try:
        shape = TransformerShape(**fields)
    except PlanningError as exc:
        raise PlanningError(f"{where}: {str(exc).removeprefix('shape: ')}") from None
    return HFConfig(shape=shape, model_type=model_type, context=context or None, path=path)


def _model_type(data, where):
    model_type = data.get("model_type")
    if model_type is None:
        architectures = data.get("architectures")
        if isinstance(architectures, list) and architectures and isinstance(architectures[0], str):
            model_type = _ARCHITECTURES.get(architectures[0], architectures[0])
    if not isinstance(model_type, str):
        raise PlanningError(f"{where}: model_type is missing (and no architectures); a Hugging Face config.json names "
                            f"it (one of {', '.join(MODEL_TYPES)})")
    if model_type not in MODEL_TYPES:
        raise PlanningError(f"{where}: model_type {model_type!r} is not read (read are {', '.join(MODEL_TYPES)}: "
                            "their parameters are counted exactly); give the shape as --shape KEY=VALUE fields")
    return model_type
