"""Which tensor types each llama-quantize mix can give a block weight matrix, and the bpw range
that follows.

Source: src/llama-quant.cpp `llama_tensor_get_type` and `llama_ftype_get_default_type` at
llama.cpp 0c1e57098 (the revision vendored by llama-cpp-python 0.3.36), summarised in
../shared/reference/gguf-facts.md §9.3 and quality-evidence.md §3a/§5:
- every mix starts from its default type (Q4_K for Q4_K_S/M, IQ2_XS for IQ2_S, ...);
- it raises chosen tensors: attn_v / ffn_down on "use_more_bits" layers, attn_qkv, the first
  layers' ffn_down, attn_output; and for 8-expert MoE models attn_k/attn_v to Q8_0 and
  attn_output to Q5_K (IQ1/IQ2 mixes: Q4_K / Q5_K);
- a few i-quant mixes put some tensors one step BELOW the default type (IQ3_XS puts attn_q,
  attn_k and the middle ffn_gate/ffn_up on IQ3_XXS);
- when a row (ne0) is not a multiple of the block size, the type falls back: Q4_K -> Q5_0,
  Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0, the i-quants -> IQ4_NL, else F16. This is
  why the real Gemma 3 270M Q4_K_M (ne0 = 640) is mostly Q5_0 and Q8_0 in its blocks.

So the lowest bpw a mix can produce over the block matrices is its lowest type's storage bpw
(a fallback only ever raises it), and the highest is the highest type its rules or fallbacks
name. quantlint compares a file's measured block bpw with that range (rule QL104), never with
the most common tensor type (by count that is F32 in a normal Q4_K_M: the 1-D norms).
Where the exact rule for an i-quant mix was not verified, the set errs wide (a lower type is
included) so that a normal llama-quantize output is never reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from quantlint.facts.tiers import ggml_type_bpw

SOURCE = "llama.cpp src/llama-quant.cpp llama_tensor_get_type (@0c1e57098)"

# Row-size fallbacks (llama-quant.cpp, ne0 % block != 0); F16 is the last resort for rows not
# divisible by 32, which QL104 leaves out of its measure.
FALLBACK = {"Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0", "Q2_K": "Q4_0", "Q3_K": "Q4_0",
            "IQ1_S": "IQ4_NL", "IQ1_M": "IQ4_NL", "IQ2_XXS": "IQ4_NL", "IQ2_XS": "IQ4_NL", "IQ2_S": "IQ4_NL",
            "IQ3_XXS": "IQ4_NL", "IQ3_S": "IQ4_NL", "IQ4_XS": "IQ4_NL", "TQ1_0": "Q4_0", "TQ2_0": "Q4_0"}

# Raised types every k-quant / i-quant mix may use for MoE attention (n_expert == 8) and the
# "use more bits" tensors.
_MOE_BUMPS = ("Q5_K", "Q8_0")
_IQ_LOW_BUMPS = ("Q2_K", "Q3_K", "Q4_K", "Q5_K", "IQ3_XXS", "IQ3_S")

# label -> types a block weight matrix can get before the row-size fallback.
MIX_TYPES: dict[str, tuple[str, ...]] = {
    "F32": ("F32",),
    "F16": ("F16",),
    "BF16": ("BF16",),
    "Q8_0": ("Q8_0",),
    "Q6_K": ("Q6_K", "Q8_0"),
    "Q5_K_M": ("Q5_K", "Q6_K") + _MOE_BUMPS,
    "Q5_K_S": ("Q5_K", "Q6_K") + _MOE_BUMPS,
    "Q5_1": ("Q5_1", "Q8_0"),
    "Q5_0": ("Q5_0", "Q5_1", "Q8_0"),
    "Q4_K_M": ("Q4_K", "Q5_K", "Q6_K") + _MOE_BUMPS,
    "Q4_K_S": ("Q4_K", "Q5_K", "Q6_K") + _MOE_BUMPS,
    "Q4_1": ("Q4_1", "Q8_0"),
    "Q4_0": ("Q4_0", "Q4_1", "Q8_0"),
    "IQ4_NL": ("IQ4_NL", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "IQ4_XS": ("IQ4_XS", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "Q3_K_L": ("Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "Q3_K_M": ("Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "Q3_K_S": ("Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "IQ3_M": ("IQ3_XXS", "IQ3_S", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "IQ3_S": ("IQ3_XXS", "IQ3_S", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "IQ3_XS": ("IQ3_XXS", "IQ3_S", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "IQ3_XXS": ("IQ3_XXS", "IQ3_S", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "Q2_K": ("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "Q2_K_S": ("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "IQ2_M": ("IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S") + _IQ_LOW_BUMPS,
    "IQ2_S": ("IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S") + _IQ_LOW_BUMPS,
    "IQ2_XS": ("IQ2_XXS", "IQ2_XS") + _IQ_LOW_BUMPS,
    "IQ2_XXS": ("IQ2_XXS", "IQ2_XS") + _IQ_LOW_BUMPS,
    "IQ1_M": ("IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS") + _IQ_LOW_BUMPS,
    "IQ1_S": ("IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS") + _IQ_LOW_BUMPS,
    "TQ2_0": ("TQ2_0", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "TQ1_0": ("TQ1_0", "Q4_K", "Q5_K", "Q6_K", "Q8_0"),
    "MXFP4_MOE": ("MXFP4", "Q8_0"),
}


@dataclass(frozen=True)
class MixRange:
    label: str
    types: frozenset[str]  # every type the mix (with fallbacks) may give a block matrix
    low_bpw: float  # the lowest storage bpw over block matrices a normal output can measure
    high_bpw: float  # the highest
    low_type: str


def with_fallbacks(types: tuple[str, ...]) -> frozenset[str]:
    out = set(types)
    for t in types:
        if t in FALLBACK:
            out.add(FALLBACK[t])
    return frozenset(out)


def mix_range(label: str) -> MixRange | None:
    """The block-matrix bpw range llama-quantize produces for a file type label, or None when
    quantlint has no table for it (Q1_0, Q2_0, NVFP4: made by conversion, not by a mix)."""
    types = MIX_TYPES.get(label)
    if types is None:
        return None
    allowed = with_fallbacks(types)
    rated = [(ggml_type_bpw(t), t) for t in allowed]
    rated = [(b, t) for b, t in rated if b is not None]
    low_bpw, low_type = min(rated)
    high_bpw = max(b for b, _ in rated)
    return MixRange(label=label, types=allowed, low_bpw=low_bpw, high_bpw=high_bpw, low_type=low_type)


# llama.cpp's guess when general.file_type is absent (llama-model-loader.cpp): the most frequent
# tensor type BY COUNT, mapped to a file type. Unknown types map to "all F32".
GUESS_FROM_TYPE = {
    "F32": "F32", "F16": "F16", "BF16": "BF16", "Q4_0": "Q4_0", "Q4_1": "Q4_1", "Q5_0": "Q5_0",
    "Q5_1": "Q5_1", "Q8_0": "Q8_0", "Q2_K": "Q2_K", "Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M",
    "Q5_K": "Q5_K_M", "Q6_K": "Q6_K", "TQ1_0": "TQ1_0", "TQ2_0": "TQ2_0", "IQ2_XXS": "IQ2_XXS",
    "IQ2_XS": "IQ2_XS", "IQ2_S": "IQ2_S", "IQ3_XXS": "IQ3_XXS", "IQ1_S": "IQ1_S", "IQ1_M": "IQ1_M",
    "IQ4_NL": "IQ4_NL", "IQ4_XS": "IQ4_XS", "IQ3_S": "IQ3_S", "MXFP4": "MXFP4_MOE",
}


def llama_cpp_guess(type_counts: dict[str, int]) -> str:
    """What llama.cpp prints as "(guessed)" file type, from tensor counts per type."""
    if not type_counts:
        return "F32"
    top = max(type_counts.items(), key=lambda kv: kv[1])[0]
    return GUESS_FROM_TYPE.get(top, "F32")
