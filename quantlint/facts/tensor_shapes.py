"""The tensor shapes llama.cpp's loader asks for, per architecture, from the header's hyper-parameters.

Source: llama.cpp 0c1e57098 (the revision vendored in the llama-cpp-python 0.3.36 sdist;
`pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36`):

- src/llama-model.cpp `llama_model_base::load_hparams`: how each hyper-parameter is read and
  defaulted (head_count_kv defaults to head_count; key_length/value_length to
  embedding_length / head_count, integer division; rope.dimension_count to key_length;
  feed_forward_length, head_count, head_count_kv, expert_used_count and
  expert_feed_forward_length may be per-layer arrays of exactly block_count entries, else
  "key %s has wrong array length; expected %u, got %u").
- src/llama-model.h `LLAMA_LOAD_LOCALS`: n_head, n_head_kv, n_ff and the gqa widths the
  architectures below use are the values of **layer 0** (hparams.n_head() == n_head(0)), for every
  layer.
- src/models/<arch>.cpp `load_arch_tensors`: the `create_tensor(tn(...), {dims}, flags)` calls
  tabulated below; `create_tensor_qkv` (llama-model.cpp) accepts a fused attn_qkv
  {n_embd, q+k+v} or separate attn_q/attn_k/attn_v, with optional biases, for every
  architecture here; `create_tensor_gate_up_exps` a fused ffn_gate_up_exps or the pair.
- src/llama-model-loader.cpp `check_tensor_dims`: a tensor whose ne[] differs (missing
  dimensions must be 1) stops the load with "%s: tensor '%s' has wrong shape; expected %s,
  got %s"; a required tensor that is absent with "%s: tensor '%s' not found"
  (`create_tensor` checks dims before it would say "missing tensor '%s'"), and a file with
  tensors the architecture never asks for with "done_getting_tensors: wrong number of
  tensors; expected %d, got %d".

Dimensions are expressions over the variables of HPARAMS (ggml order: ne0 first). "*" is a
dimension this table does not judge: n_vocab rows belong to QL502/QL504.
"""

from __future__ import annotations

from dataclasses import dataclass

LLAMA_CPP_REVISION = "0c1e57098"
SOURCE = f"llama.cpp @{LLAMA_CPP_REVISION}: src/llama-model.cpp load_hparams, src/models/<arch>.cpp load_arch_tensors"

# Hyper-parameter variables, in evaluation order: (variable, key under "<arch>.", default).
# A default is an expression over earlier variables, used when the key is absent.
HPARAMS: tuple[tuple[str, str | None, str | None], ...] = (
    ("n_embd", "embedding_length", None),
    ("n_layer_all", "block_count", None),
    ("n_layer_nextn", "nextn_predict_layers", "0"),
    ("n_layer", None, "n_layer_all - n_layer_nextn"),
    ("n_head", "attention.head_count", "0"),
    ("n_head_kv", "attention.head_count_kv", "n_head"),
    ("n_embd_head_k", "attention.key_length", "n_embd // n_head"),
    ("n_embd_head_v", "attention.value_length", "n_embd // n_head"),
    ("n_rot", "rope.dimension_count", "n_embd_head_k"),
    ("n_embd_k_gqa", None, "n_embd_head_k * n_head_kv"),
    ("n_embd_v_gqa", None, "n_embd_head_v * n_head_kv"),
    ("n_embd_gqa", None, "n_embd_v_gqa"),
    ("n_ff", "feed_forward_length", "0"),
    ("n_expert", "expert_count", "0"),
    ("n_expert_used", "expert_used_count", "0"),
    ("n_ff_exp", "expert_feed_forward_length", "0"),
    ("n_ff_shexp", "expert_shared_feed_forward_length", "0"),
    ("n_expert_shared", "expert_shared_count", "0"),
    ("n_layer_dense_lead", "leading_dense_block_count", "0"),
    ("n_lora_q", "attention.q_lora_rank", "0"),
    ("n_lora_kv", "attention.kv_lora_rank", "0"),
    ("n_embd_head_k_mla", "attention.key_length_mla", "n_embd_head_k"),
    ("n_embd_head_v_mla", "attention.value_length_mla", "n_embd_head_v"),
)

# src/llama-hparams.h: load_hparams asserts 0 < block_count <= LLAMA_MAX_LAYERS (GGML_ASSERT: an abort).
LLAMA_MAX_LAYERS = 512

# Keys llama.cpp reads with get_key_or_arr: a per-layer array must have block_count entries.
PER_LAYER_KEYS = ("feed_forward_length", "attention.head_count", "attention.head_count_kv",
                  "expert_used_count", "expert_feed_forward_length")

# Architectures whose layers may hold no tensor at all (deci: a layer with neither attention nor
# FFN, src/models/deci.cpp), so a missing blk.N is not an error there.
EMPTY_LAYER_ARCHS = frozenset({"deci"})
# Architectures whose token_embd is not n_embd wide (wavtokenizer-dec reads n_embd from
# features_length and embedding_length is its output width).
TOKEN_EMBD_NOT_N_EMBD = frozenset({"wavtokenizer-dec"})


@dataclass(frozen=True)
class Expect:
    """One create_tensor call: the name ("{i}" for the layer), the dimensions, and when it is made."""

    name: str
    dims: tuple[str, ...]
    when: str | None = None  # a comparison over the variables and i; None: always
    required: bool = False  # only judged for non-layer tensors (a missing block is judged apart)


def _t(name: str, *dims: str, when: str | None = None, required: bool = False) -> Expect:
    return Expect(name, dims, when, required)


def _globals(output: str = "optional") -> tuple[Expect, ...]:
    """token_embd, output_norm and output; output "optional" falls back to token_embd (tied)."""
    out = [_t("token_embd.weight", "n_embd", "*", required=True),
           _t("output_norm.weight", "n_embd", required=True)]
    if output != "never":
        out.append(_t("output.weight", "n_embd", "*", required=output == "required"))
    return tuple(out)


def _qkv(q: str, k: str, v: str, o: str) -> tuple[Expect, ...]:
    """create_tensor_qkv (fused or separate, optional biases) and attn_output {q, n_embd}."""
    qkv = f"{q} + {k} + {v}"
    return (
        _t("blk.{i}.attn_norm.weight", "n_embd"),
        _t("blk.{i}.attn_qkv.weight", "n_embd", qkv), _t("blk.{i}.attn_qkv.bias", qkv),
        _t("blk.{i}.attn_q.weight", "n_embd", q), _t("blk.{i}.attn_k.weight", "n_embd", k),
        _t("blk.{i}.attn_v.weight", "n_embd", v),
        _t("blk.{i}.attn_q.bias", q), _t("blk.{i}.attn_k.bias", k), _t("blk.{i}.attn_v.bias", v),
        _t("blk.{i}.attn_output.weight", o, "n_embd"),
    )


def _dense_ffn(when: str | None = None, bias: bool = False) -> tuple[Expect, ...]:
    out = [_t("blk.{i}.ffn_norm.weight", "n_embd"),
           _t("blk.{i}.ffn_gate.weight", "n_embd", "n_ff", when=when),
           _t("blk.{i}.ffn_down.weight", "n_ff", "n_embd", when=when),
           _t("blk.{i}.ffn_up.weight", "n_embd", "n_ff", when=when)]
    if bias:
        out += [_t("blk.{i}.ffn_gate.bias", "n_ff", when=when), _t("blk.{i}.ffn_down.bias", "n_embd", when=when),
                _t("blk.{i}.ffn_up.bias", "n_ff", when=when)]
    return tuple(out)


def _experts(ff: str, when: str | None = None, gate_up: bool = False) -> tuple[Expect, ...]:
    """The router and the expert tensors {.., .., n_expert}; gate_up: create_tensor_gate_up_exps
    also accepts one fused ffn_gate_up_exps {n_embd, 2*ff, n_expert}."""
    out = (
        _t("blk.{i}.ffn_gate_inp.weight", "n_embd", "n_expert", when=when),
        _t("blk.{i}.ffn_gate_exps.weight", "n_embd", ff, "n_expert", when=when),
        _t("blk.{i}.ffn_down_exps.weight", ff, "n_embd", "n_expert", when=when),
        _t("blk.{i}.ffn_up_exps.weight", "n_embd", ff, "n_expert", when=when),
    )
    return out + ((_t("blk.{i}.ffn_gate_up_exps.weight", "n_embd", f"2 * {ff}", "n_expert", when=when),) if gate_up else ())


def _qk_norm(width: str = "n_embd_head_k") -> tuple[Expect, ...]:
    return (_t("blk.{i}.attn_q_norm.weight", width), _t("blk.{i}.attn_k_norm.weight", width))


_ROPE_FREQS = (_t("rope_freqs.weight", "n_rot // 2"),)
_ROPE_FACTORS = (_t("rope_factors_long.weight", "n_rot // 2"), _t("rope_factors_short.weight", "n_rot // 2"))
_HEADS_Q = "n_embd_head_k * n_head"

# src/models/llama.cpp (Mixtral-style experts use feed_forward_length, not expert_feed_forward_length)
_LLAMA = (*_globals(), *_ROPE_FREQS, *_qkv(_HEADS_Q, "n_embd_k_gqa", "n_embd_v_gqa", _HEADS_Q),
          _t("blk.{i}.attn_output.bias", "n_embd"),
          *_dense_ffn(when="n_expert == 0", bias=True), *_experts("n_ff", when="n_expert > 0"))

# src/models/qwen3moe.cpp and qwen2moe.cpp: n_ff_exp = expert_feed_forward_length or n_ff / n_expert_used
_MOE_FF_DEFAULT = {"n_ff_exp": "n_ff // n_expert_used"}

TENSOR_SHAPES: dict[str, tuple[Expect, ...]] = {
    "llama": _LLAMA,
    "mistral3": _LLAMA,  # src/models/mistral3.cpp: the same calls as llama
    # src/models/qwen2.cpp: q and attn_output are n_embd wide; k and v n_embd_gqa
    "qwen2": (*_globals(), _t("output.bias", "*"), *_qkv("n_embd", "n_embd_gqa", "n_embd_gqa", "n_embd"),
              *_dense_ffn()),
    "qwen2moe": (*_globals("required"), *_qkv("n_embd", "n_embd_gqa", "n_embd_gqa", "n_embd"),
                 _t("blk.{i}.ffn_norm.weight", "n_embd"), *_experts("n_ff_exp"),
                 _t("blk.{i}.ffn_gate_inp_shexp.weight", "n_embd"),
                 _t("blk.{i}.ffn_gate_shexp.weight", "n_embd", "n_ff_shexp"),
                 _t("blk.{i}.ffn_down_shexp.weight", "n_ff_shexp", "n_embd"),
                 _t("blk.{i}.ffn_up_shexp.weight", "n_embd", "n_ff_shexp")),
    "qwen3": (*_globals(), *_qkv(_HEADS_Q, "n_embd_gqa", "n_embd_gqa", _HEADS_Q), *_qk_norm(), *_dense_ffn()),
    "qwen3moe": (*_globals(), *_qkv(_HEADS_Q, "n_embd_gqa", "n_embd_gqa", _HEADS_Q), *_qk_norm(),
                 _t("blk.{i}.ffn_norm.weight", "n_embd"), *_experts("n_ff_exp")),
    # src/models/gemma2.cpp: output is always token_embd (never read from the file)
    "gemma2": (*_globals("never"), *_qkv(_HEADS_Q, "n_embd_k_gqa", "n_embd_v_gqa", _HEADS_Q),
               _t("blk.{i}.post_attention_norm.weight", "n_embd"), *_dense_ffn(),
               _t("blk.{i}.post_ffw_norm.weight", "n_embd")),
    "gemma3": (*_globals(), *_qkv(_HEADS_Q, "n_embd_k_gqa", "n_embd_v_gqa", _HEADS_Q),
               _t("blk.{i}.post_attention_norm.weight", "n_embd"), *_qk_norm(), *_dense_ffn(),
               _t("blk.{i}.post_ffw_norm.weight", "n_embd")),
    # src/models/phi3.cpp: fused or separate qkv, q is n_embd wide; ffn_up fuses gate and up {n_embd, 2*n_ff}
    "phi3": (*_globals(), *_ROPE_FACTORS, *_qkv("n_embd", "n_embd_gqa", "n_embd_gqa", "n_embd"),
             _t("blk.{i}.ffn_norm.weight", "n_embd"), _t("blk.{i}.ffn_down.weight", "n_ff", "n_embd"),
             _t("blk.{i}.ffn_up.weight", "n_embd", "2 * n_ff")),
    # src/models/deepseek2.cpp: MLA attention (q_lora_rank 0 in the Lite models: a plain attn_q),
    # n_layer_dense_lead dense layers, then experts with shared experts.
    "deepseek2": (
        *_globals(),
        _t("blk.{i}.attn_norm.weight", "n_embd"),
        _t("blk.{i}.attn_q_a_norm.weight", "n_lora_q"),
        _t("blk.{i}.attn_kv_a_norm.weight", "n_lora_kv"),
        _t("blk.{i}.attn_q_a.weight", "n_embd", "n_lora_q"),
        _t("blk.{i}.attn_q_b.weight", "n_lora_q", "n_head * n_embd_head_k_mla"),
        _t("blk.{i}.attn_q.weight", "n_embd", "n_head * n_embd_head_k_mla"),
        _t("blk.{i}.attn_kv_a_mqa.weight", "n_embd", "n_lora_kv + n_rot"),
        _t("blk.{i}.attn_k_b.weight", "n_embd_head_k_mla - n_rot", "n_lora_kv", "n_head"),
        _t("blk.{i}.attn_v_b.weight", "n_lora_kv", "n_embd_head_v_mla", "n_head"),
        _t("blk.{i}.attn_kv_b.weight", "n_lora_kv", "n_head * (n_embd_head_k_mla - n_rot + n_embd_head_v_mla)"),
        _t("blk.{i}.attn_output.weight", "n_head * n_embd_head_v_mla", "n_embd"),
        *_dense_ffn(when="i < n_layer_dense_lead"),
        *_experts("n_ff_exp", when="i >= n_layer_dense_lead", gate_up=True),
        _t("blk.{i}.exp_probs_b.bias", "n_expert", when="i >= n_layer_dense_lead"),
        _t("blk.{i}.ffn_gate_shexp.weight", "n_embd", "n_ff_exp * n_expert_shared", when="i >= n_layer_dense_lead"),
        _t("blk.{i}.ffn_down_shexp.weight", "n_ff_exp * n_expert_shared", "n_embd", when="i >= n_layer_dense_lead"),
        _t("blk.{i}.ffn_up_shexp.weight", "n_embd", "n_ff_exp * n_expert_shared", when="i >= n_layer_dense_lead"),
        _t("blk.{i}.nextn.eh_proj.weight", "2 * n_embd", "n_embd", when="i >= n_layer"),
    ),
    # src/models/openai-moe.cpp: heads are n_rot wide (key_length 64 while 64 heads x 64 != 2880),
    # attention sinks {n_head}, biases on the router and the experts; output is required.
    "gpt-oss": (
        *_globals("required"),
        _t("blk.{i}.post_attention_norm.weight", "n_embd"),
        *_qkv("n_head * n_rot", "n_head_kv * n_rot", "n_head_kv * n_rot", "n_head * n_rot"),
        _t("blk.{i}.attn_sinks.weight", "n_head"),
        *_experts("n_ff_exp"),
        _t("blk.{i}.attn_output.bias", "n_embd"),
        _t("blk.{i}.ffn_gate_inp.bias", "n_expert"),
        _t("blk.{i}.ffn_gate_exps.bias", "n_ff_exp", "n_expert"),
        _t("blk.{i}.ffn_down_exps.bias", "n_embd", "n_expert"),
        _t("blk.{i}.ffn_up_exps.bias", "n_ff_exp", "n_expert"),
    ),
}

# Keys that give sliding-window layers their own head size (n_embd_head_k_swa): layer 0 may then
# differ from the full-attention head size this table uses, so such files get only the generic checks.
SWA_HEAD_KEYS = ("attention.key_length_swa", "attention.value_length_swa")

# Per-architecture defaults that replace HPARAMS' when the key is absent.
ARCH_DEFAULTS: dict[str, dict[str, str]] = {
    "qwen3moe": _MOE_FF_DEFAULT,
    "qwen2moe": {**_MOE_FF_DEFAULT, "n_ff_shexp": "n_ff"},
}

# The tensor llama.cpp asks for first in each layer (the name in its "not found" message).
FIRST_LAYER_TENSOR = "blk.{i}.attn_norm.weight"
