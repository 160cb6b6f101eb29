"""llama.cpp's quantization tiers: names, sizes, measured quality, and their order.

Sources (each figure below comes from one of these, nothing is estimated here):
- QUANT_OPTIONS in llama.cpp tools/quantize/quantize.cpp (@0c1e57098; identical @c392e50):
  file size and perplexity increase on Llama-3-8B for each type, or its nominal bpw.
- the "LLaMA 3 8b Scoreboard" in llama.cpp tools/perplexity/README.md (PR #6936): mean KL
  divergence against FP16 for the same quants made without an importance matrix.
- src/llama-quant.cpp tensor_requires_imatrix (@0c1e57098): which file types llama-quantize
  refuses to make without an importance matrix; llama_ftype_get_default_type: the base
  tensor type of each mix.
- GGML type ids and sizes and llama.cpp file types: quantlint.facts.ggml_types, generated
  from ggml.h / ggml.c / ggml-common.h / llama.h at 0c1e57098 (Q2_0 included).
"""

from __future__ import annotations

from dataclasses import dataclass

from quantlint.facts.ggml_types import GGML_TYPES, LLAMA_FILE_TYPES

SOURCE_QUANTIZE_TABLE = "llama.cpp tools/quantize/quantize.cpp QUANT_OPTIONS (Llama-3-8B)"
SOURCE_KLD_TABLE = "llama.cpp tools/perplexity/README.md, LLaMA 3 8B scoreboard (PR #6936)"
SOURCE_SHORT = "llama.cpp quantize table"  # how a finding names SOURCE_QUANTIZE_TABLE once


def ggml_type(type_id: int) -> tuple[str, int, int] | None:
    """(name, block size, bytes per block) for a GGML type id, or None when nobody knows it."""
    return GGML_TYPES.get(type_id)


def ggml_type_bpw(type_name: str) -> float | None:
    for name, block, size in GGML_TYPES.values():
        if name == type_name:
            return size * 8 / block
    return None


def file_type_label(file_type: int) -> str | None:
    """general.file_type -> the label users know ("Q4_K_M"), or None for an unknown id."""
    guessed = bool(file_type & 1024) and file_type != 1024
    base = file_type & ~1024 if guessed else file_type
    name = LLAMA_FILE_TYPES.get(base)
    if name is None or name == "GUESSED":
        return None
    if name == "ALL_F32":
        return "F32"
    return name.removeprefix("MOSTLY_")


@dataclass(frozen=True)
class Tier:
    label: str
    bit_class: int  # the "N-bit class" users talk about (Q4_K_M -> 4, IQ2_M -> 2)
    nominal_bpw: float | None  # quantize.cpp's stated bpw, or the default type's storage bpw
    size_gib_llama3_8b: float | None = None
    ppl_increase_llama3_8b: float | None = None
    kld_llama3_8b: float | None = None  # mean KLD vs FP16, no imatrix
    requires_imatrix: bool = False
    default_type: str | None = None  # llama_ftype_get_default_type


# Ordered best to worst. The order follows the measured KLD/PPL where llama.cpp published it,
# and the nominal bpw for the i-quants and ternary types where it did not.
TIERS: tuple[Tier, ...] = (
    Tier("F32", 32, 32.0, 26.00, None, None, default_type="F32"),
    Tier("BF16", 16, 16.0, 14.00, -0.0050, None, default_type="BF16"),
    Tier("F16", 16, 16.0, 14.00, 0.0020, 0.000551, default_type="F16"),
    Tier("Q8_0", 8, 8.5, 7.96, 0.0026, 0.001355, default_type="Q8_0"),
    Tier("Q6_K", 6, 6.5625, 6.14, 0.0217, 0.005452, default_type="Q6_K"),
    Tier("Q5_K_M", 5, 5.5, 5.33, 0.0569, 0.010762, default_type="Q5_K"),
    Tier("Q5_K_S", 5, 5.5, 5.21, 0.1049, 0.016595, default_type="Q5_K"),
    Tier("Q5_1", 5, 6.0, 5.65, 0.1062, None, default_type="Q5_1"),
    Tier("Q5_0", 5, 5.5, 5.21, 0.1316, None, default_type="Q5_0"),
    Tier("NVFP4", 4, 4.5, None, None, None, default_type="NVFP4"),
    Tier("MXFP4_MOE", 4, 4.25, None, None, None, default_type="MXFP4"),
    Tier("Q4_K_M", 4, 4.5, 4.58, 0.1754, 0.031273, default_type="Q4_K"),
    Tier("IQ4_XS", 4, 4.25, None, None, None, default_type="IQ4_XS"),
    Tier("Q4_K_S", 4, 4.5, 4.37, 0.2689, 0.043136, default_type="Q4_K"),
    Tier("IQ4_NL", 4, 4.5, None, None, None, default_type="IQ4_NL"),
    Tier("Q4_1", 4, 5.0, 4.78, 0.4511, None, default_type="Q4_1"),
    Tier("Q4_0", 4, 4.5, 4.34, 0.4685, 0.071940, default_type="Q4_0"),
    Tier("Q3_K_L", 3, 3.4375, 4.03, 0.5562, 0.087176, default_type="Q3_K"),
    Tier("IQ3_M", 3, 3.66, None, None, None, default_type="IQ3_S"),
    Tier("Q3_K_M", 3, 3.4375, 3.74, 0.6569, 0.101913, default_type="Q3_K"),
    Tier("IQ3_S", 3, 3.44, None, None, None, default_type="IQ3_S"),
    Tier("IQ3_XS", 3, 3.3, None, None, None, default_type="IQ3_S"),
    Tier("Q3_K_S", 3, 3.4375, 3.41, 1.6321, 0.228217, default_type="Q3_K"),
    Tier("IQ3_XXS", 3, 3.06, None, None, None, requires_imatrix=True, default_type="IQ3_XXS"),
    Tier("Q2_K", 2, 2.625, 2.96, 3.5199, 0.445132, default_type="Q2_K"),
    Tier("Q2_K_S", 2, 2.625, 2.96, 3.1836, None, requires_imatrix=True, default_type="Q2_K"),
    Tier("IQ2_M", 2, 2.7, None, None, None, requires_imatrix=True, default_type="IQ2_S"),
    Tier("IQ2_S", 2, 2.5, None, None, None, requires_imatrix=True, default_type="IQ2_XS"),
    Tier("Q2_0", 2, 2.25, None, None, None, default_type="Q2_0"),
    Tier("IQ2_XS", 2, 2.31, None, None, None, requires_imatrix=True, default_type="IQ2_XS"),
    Tier("IQ2_XXS", 2, 2.06, None, None, None, requires_imatrix=True, default_type="IQ2_XXS"),
    Tier("TQ2_0", 2, 2.06, None, None, None, default_type="TQ2_0"),
    Tier("IQ1_M", 1, 1.75, None, None, None, requires_imatrix=True, default_type="IQ1_M"),
    Tier("TQ1_0", 1, 1.69, None, None, None, default_type="TQ1_0"),
    Tier("IQ1_S", 1, 1.56, None, None, None, requires_imatrix=True, default_type="IQ1_S"),
    Tier("Q1_0", 1, 1.125, None, None, None, default_type="Q1_0"),
)

TIER_BY_LABEL: dict[str, Tier] = {t.label: t for t in TIERS}
TIER_RANK: dict[str, int] = {t.label: i for i, t in enumerate(TIERS)}

# quantize.cpp aliases
ALIASES = {"Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M"}


def normalise_label(label: str) -> str:
    upper = label.strip().upper().replace("-", "_")
    return ALIASES.get(upper, upper)


def tier(label: str | None) -> Tier | None:
    if not label:
        return None
    return TIER_BY_LABEL.get(normalise_label(label))


def is_below(label: str, floor: str) -> bool:
    """True when `label` sits below `floor` in llama.cpp's quality order."""
    a, b = TIER_RANK.get(normalise_label(label)), TIER_RANK.get(normalise_label(floor))
    return a is not None and b is not None and a > b


def next_safer(label: str, floor: str) -> str:
    """The step to recommend: the floor when below it (the seed's "Q3 -> Q4_K_M is the cleanest
    jump"), otherwise the next tier up that llama.cpp measured."""
    if is_below(label, floor):
        return normalise_label(floor)
    rank = TIER_RANK.get(normalise_label(label))
    if rank is None:
        return normalise_label(floor)
    for candidate in reversed(TIERS[:rank]):
        if candidate.ppl_increase_llama3_8b is not None:
            return candidate.label
    return TIERS[0].label


def quality_context(label: str, source: str | None = SOURCE_QUANTIZE_TABLE) -> str | None:
    """One sentence placing a tier in llama.cpp's measured table, with the source named
    (pass source=None when the same message already names it, or SOURCE_SHORT)."""
    t = tier(label)
    if t is None:
        return None
    if t.ppl_increase_llama3_8b is not None and t.size_gib_llama3_8b is not None:
        text = f"{t.label}: {t.size_gib_llama3_8b:.2f} GB, {t.ppl_increase_llama3_8b:+.4f} PPL on Llama-3-8B"
        if t.kld_llama3_8b is not None:
            text += f", mean KLD {t.kld_llama3_8b:.4f}"
        return text + (f" ({source})" if source else "")
    if t.nominal_bpw is not None:
        return f"{t.label}: about {t.nominal_bpw:g} bpw; llama.cpp publishes no Llama-3-8B perplexity for it"
    return None


def floor_bits(floor: str) -> float:
    """The bpw floor for formats without llama.cpp labels (EXL2, AWQ, GPTQ...): the floor
    tier's bit class. Q4_K_M -> 4.0 (the seed: "Q4_K_M (GGUF) or 4.0 bpw (EXL2)")."""
    t = tier(floor)
    return float(t.bit_class) if t else 4.0


# The steps recommended upward once at or above the floor: the k-quant mixes llama.cpp measured
# (Q8_0 is near-lossless at +0.0026 PPL, so nothing is recommended above it).
LADDER = ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")


def standing(label: str | None, floor: str = "Q4_K_M") -> list[str]:
    """Where a quant stands in llama.cpp's table and the next safer step, for `inspect` and
    the tier findings: its own figures (source named once), the step up and that step's figures."""
    t = tier(label)
    if t is None:
        return []
    own = quality_context(t.label, SOURCE_QUANTIZE_TABLE)
    lines = [own] if own else []
    step = next_safer(t.label, floor) if is_below(t.label, floor) else next(
        (s for s in LADDER if is_below(t.label, s)), None)
    if step is not None and step != t.label:
        step_text = quality_context(step, None) or step
        why = " (the floor)" if is_below(t.label, floor) else ""
        lines.append(f"next safer step{why}: {step_text}")
    return lines
