"""Models whose released precision IS a low-bit format: storing them there loses nothing.

QL101 (tier below the floor) and QL102 (MoE below Q5) measure how far a quant squeezed a model
trained at 16 bits. Some models were trained (or released) at the low precision itself:
- **Ternary models.** BitNet b1.58 is trained with weights in {-1, 0, 1} (Ma et al. 2024, "The
  Era of 1-bit LLMs", arXiv:2402.17764); TQ1_0 (1.69 bpw) and TQ2_0 (2.06 bpw) store those
  values exactly (llama.cpp PR #8151 "ggml-quants : ternary packing for TriLMs and BitNet
  b1.58", which names 1bitLLM/bitnet_b1_58-* and SpectraSuite TriLM_* as its models). llama.cpp
  knows the architecture as `bitnet` (src/llama-arch.cpp LLM_ARCH_BITNET); Microsoft's
  bitnet.cpp writes `bitnet-b1.58` (microsoft/bitnet-b1.58-2B-4T-gguf) with its own I2_S type.
  TriLMs are converted as `llama` and are recognised by name.
- **gpt-oss.** OpenAI released gpt-oss with its MoE expert weights in MXFP4; llama.cpp runs them
  "in native MXFP4 format" (PR #15091 "llama : add gpt-oss"), the MXFP4_MOE mix keeps that and
  puts every other tensor at Q8_0 (src/llama-quant.cpp).
- **Quantization-aware training (QAT).** Google's Gemma 3 QAT releases were trained for int4 and
  published as Q4_0 GGUFs: google/gemma-3-{1b,4b,12b,27b}-it-qat-q4_0-gguf ("qat" in repo and
  file names; card: "Quantization Aware Trained (QAT) ... preserve similar quality as half
  precision"). A QAT model is native at the precision it was trained for, not below it: a Q2_K
  of QAT weights is squeezed like any other.

A QAT release is recognised by the word "qat" in a name (file, repo, general.name/finetune,
card model_name or base_model) or a tag, and its target by the quant named after it
("qat-q4_0", "qat-int4"); with no target named, the 4-bit class (every published QAT GGUF).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class NativeFormat:
    """A family released at low precision: how it is recognised and which types are its own."""

    family: str
    architectures: frozenset[str]  # general.architecture values
    name_words: frozenset[str]  # a whole word in a name that identifies the family
    types: frozenset[str]  # tensor / file types that hold the released weights as they are
    reason: str
    source: str


TERNARY_TYPES = frozenset({"TQ1_0", "TQ2_0", "I2_S"})

NATIVE_FORMATS: tuple[NativeFormat, ...] = (
    NativeFormat("BitNet b1.58 (ternary)", frozenset({"bitnet", "bitnet-b1.58"}), frozenset({"bitnet"}), TERNARY_TYPES,
                 "trained with ternary weights {-1, 0, 1}, which TQ1_0/TQ2_0 store exactly",
                 "arXiv:2402.17764; llama.cpp PR #8151; src/llama-arch.cpp LLM_ARCH_BITNET"),
    NativeFormat("TriLM (ternary)", frozenset(), frozenset({"trilm"}), TERNARY_TYPES,
                 "trained with ternary weights, which TQ1_0/TQ2_0 store exactly",
                 "llama.cpp PR #8151 (SpectraSuite TriLM_*_Unpacked)"),
    NativeFormat("gpt-oss", frozenset({"gpt-oss"}), frozenset(), frozenset({"MXFP4", "MXFP4_MOE"}),
                 "released with its MoE expert weights in MXFP4",
                 "llama.cpp PR #15091 (gpt-oss in native MXFP4); openai/gpt-oss-20b, -120b"),
)

QAT_SOURCE = "google/gemma-3-*-it-qat-q4_0-gguf (Gemma 3 QAT release, 2025-04)"
_QAT_TARGET = re.compile(r"(?i)(?<![a-z0-9])qat[-_. ]+(q4_0|q4_k_m|q8_0|int4|int8|4bit|8bit|w4a16)(?![a-z0-9])")
_TARGET_CLASS = {"q4_0": 4, "q4_k_m": 4, "int4": 4, "4bit": 4, "w4a16": 4, "q8_0": 8, "int8": 8, "8bit": 8}
QAT_DEFAULT_CLASS = 4


@dataclass(frozen=True)
class NativeReason:
    family: str
    reason: str
    source: str
    evidence: str  # what recognised it: "general.architecture 'bitnet'", "file name '...qat...'"


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9.]+", text.lower()) if w} | set(re.split(r"[^a-z0-9]+", text.lower()))


def native_format(architecture: str | None, names: Iterable[tuple[str, str]], types: Iterable[str]) -> NativeReason | None:
    """The family whose own precision the given types are, or None.

    names: (where, text) pairs (file name, repo, general.name...); types: the quant label and/or
    the tensor types that carry the weights in question (all must be the family's own)."""
    wanted = set(types)
    if not wanted:
        return None
    names = list(names)
    for fmt in NATIVE_FORMATS:
        if not wanted <= fmt.types:
            continue
        if architecture and architecture.lower() in fmt.architectures:
            return NativeReason(fmt.family, fmt.reason, fmt.source, f"general.architecture {architecture!r}")
        for where, text in names:
            if fmt.name_words & _words(text):
                return NativeReason(fmt.family, fmt.reason, fmt.source, f"{where} {text!r}")
    return None


def qat_release(names: Iterable[tuple[str, str]], bit_class: int | None) -> NativeReason | None:
    """A quantization-aware-trained release stored at the precision it was trained for."""
    if bit_class is None:
        return None
    for where, text in names:
        if "qat" not in _words(text):
            continue
        m = _QAT_TARGET.search(text)
        target = _TARGET_CLASS[m.group(1).lower()] if m else QAT_DEFAULT_CLASS
        if bit_class >= target:
            trained = f"{m.group(1)}" if m else f"{target}-bit"
            return NativeReason("QAT", f"quantization-aware trained for {trained}: the weights were trained to "
                                       f"work at this precision", QAT_SOURCE, f"{where} {text!r}")
    return None
