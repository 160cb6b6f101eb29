"""Quant tags in file and repo names: "Q4_K_M", "IQ3_XXS", "UD-Q4_K_XL", "Q6_K_L", "BF16"...

The shape follows @huggingface/tasks `parseGGUFQuantLabel` (packages/tasks/src/gguf.ts in
huggingface/huggingface.js): the names of llama.cpp's file types, an optional "UD-" prefix
(unsloth Dynamic), and when a name holds several tags the LAST one wins ("Qwen3-8B-Q8_0-Q4_K_M"
was re-quantized to Q4_K_M). Unlike that regex this one requires the tag to stand alone
(not inside a longer word), so "BF16" never yields "F16" and "Q4_K_MX" yields nothing.

Custom mixes that are not llama-quantize file types are recognised and mapped to the file type
they start from (`base`):
- unsloth Dynamic "_XL" and "UD-" quants (Q2_K_XL ... Q8_K_XL, UD-IQ2_XXS): a per-tensor
  recipe of their own, close to but above the base mix;
- bartowski's "_L" variants of Q4_K/Q5_K/Q6_K (Q4_K_L = Q4_K_M with the embedding and output
  at Q8_0). Q3_K_L is a real llama.cpp type and stays one.
`CONVENTIONS` records, per custom label, the publisher, the general.file_type such a file
carries and the mix it implies, with the source; QL104 accepts those pairs and reports a tag
it does not know as unknown, never as a mismatch.

Used by QL104 (label vs tensor mix) and by model identity (strip the tag to get the model name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from quantlint.facts.ggml_types import LLAMA_FILE_TYPES

# llama-quantize's file type names (LlamaFileType without MOSTLY_), its aliases (quantize.cpp
# QUANT_OPTIONS: Q3_K -> Q3_K_M, Q4_K -> Q4_K_M, Q5_K -> Q5_K_M), retired repacked types
# still found in older file names, and newer upstream types.
_FILE_TYPE_NAMES = sorted(
    {("F32" if n == "ALL_F32" else n.removeprefix("MOSTLY_")) for n in LLAMA_FILE_TYPES.values() if n != "GUESSED"}
    | {"Q3_K", "Q4_K", "Q5_K", "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "Q2_0", "MXFP4"}
)
ALIASES = {"Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M", "MXFP4": "MXFP4_MOE",
           "Q4_0_4_4": "Q4_0", "Q4_0_4_8": "Q4_0", "Q4_0_8_8": "Q4_0"}

# Custom mixes named like types. label -> the llama-quantize file type it is built on.
CUSTOM_MIXES = {
    "Q2_K_XL": "Q2_K", "Q3_K_XL": "Q3_K_M", "Q4_K_XL": "Q4_K_M", "Q5_K_XL": "Q5_K_M",
    "Q6_K_XL": "Q6_K", "Q8_K_XL": "Q8_0", "IQ1_M_XL": "IQ1_M", "IQ2_XXS_XL": "IQ2_XXS",
    "Q4_K_L": "Q4_K_M", "Q5_K_L": "Q5_K_M", "Q6_K_L": "Q6_K", "Q8_0_L": "Q8_0",
    "Q3_K_XS": "Q3_K_S", "Q2_K_L": "Q2_K",
}



@dataclass(frozen=True)
class LabelConvention:
    """A publisher's label that is not a llama-quantize file type, and what it implies."""

    publisher: str
    file_types: frozenset[str]  # the general.file_type values such a file carries
    implies: str  # the tensor mix it stands for
    source: str


_BARTOWSKI = ("bartowski's model cards (e.g. bartowski/Meta-Llama-3.1-8B-Instruct-GGUF): "
              "'_L' = 'Uses Q8_0 for embed and output weights'")
_UNSLOTH = ("docs.unsloth.ai 'Unsloth Dynamic v2.0 GGUFs': 'we now dynamically adjust the quantization type "
            "of every possible layer'; the UD- prefix and _XL suffix name these recipes")
# What a custom label implies. file_types: the llama-quantize type the recipe runs (bartowski's
# _L is llama-quantize with --output-tensor-type/--token-embedding-type q8_0, so the type stays);
# unsloth's per-layer recipes are run from the named type or its neighbour of the same size
# class, so both are accepted (errs wide: never a mismatch for a faithful upload).
CONVENTIONS: dict[str, LabelConvention] = {
    **{label: LabelConvention("bartowski", frozenset({base}), f"{base} with token_embd and output at Q8_0", _BARTOWSKI)
       for label, base in (("Q2_K_L", "Q2_K"), ("Q4_K_L", "Q4_K_M"), ("Q5_K_L", "Q5_K_M"),
                           ("Q6_K_L", "Q6_K"), ("Q8_0_L", "Q8_0"))},
    **{label: LabelConvention("unsloth", frozenset(types), f"unsloth Dynamic per-layer recipe around {types[0]}", _UNSLOTH)
       for label, types in (("Q2_K_XL", ("Q2_K", "Q2_K_S", "Q3_K_S")), ("Q4_K_XL", ("Q4_K_M", "Q4_K_S")),
                            ("Q5_K_XL", ("Q5_K_M", "Q5_K_S")), ("Q6_K_XL", ("Q6_K",)), ("Q8_K_XL", ("Q8_0",)),
                            ("IQ1_M_XL", ("IQ1_M",)), ("IQ2_XXS_XL", ("IQ2_XXS",)))},
    # bartowski: Q3_K_L with Q8_0 embed/output; unsloth: UD-Q3_K_XL, a per-layer recipe.
    "Q3_K_XL": LabelConvention("bartowski / unsloth", frozenset({"Q3_K_L", "Q3_K_M", "Q3_K_S"}),
                               "a 3-bit k-quant mix with Q8_0 embed/output (bartowski) or per-layer types (unsloth)",
                               f"{_BARTOWSKI}; {_UNSLOTH}"),
    "Q3_K_XS": LabelConvention("llama.cpp (early 2024)", frozenset({"IQ3_XS", "Q3_K_S"}),
                               "the 3-bit mix whose file type id 22 is IQ3_XS today",
                               "llama.h @b1971: LLAMA_FTYPE_MOSTLY_Q3_K_XS = 22, the id of MOSTLY_IQ3_XS now"),
}
# Repacked Q4_0 layouts: the same Q4_0 weights rearranged for ARM/AVX (llama.cpp removed them
# from files in favour of runtime repacking: "use Q4_0 and runtime repack", ggml.h).
REPACKED = {"Q4_0_4_4": "Q4_0", "Q4_0_4_8": "Q4_0", "Q4_0_8_8": "Q4_0"}
# The UD- prefix on a plain type (UD-IQ2_XXS, UD-Q4_K_M): unsloth's recipe starting from that type.


def accepted_file_types(tag: QuantTag) -> frozenset[str]:
    """The general.file_type labels a file with this name tag may honestly carry."""
    convention = CONVENTIONS.get(tag.label)
    if convention is not None:
        return convention.file_types
    base = REPACKED.get(tag.label, tag.label)
    return frozenset({base, *(k for k, v in REPACKED.items() if v == base)})


# A tag-shaped word (Q4_K_XXL, IQ4_KS, Q5_K_H) that names no known type or convention.
_TAG_SHAPE = re.compile(r"(?<![A-Z0-9])(?:UD[-_])?(?:I?Q\d(?:_[A-Z0-9]+)+|TQ\d_\d)(?![A-Z0-9])")


def unknown_quant_tag(name: str | None) -> str | None:
    """The last tag-shaped word of a name when it is neither a file type nor a known convention."""
    if not name:
        return None
    leaf = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    upper = leaf.upper()
    shapes = list(_TAG_SHAPE.finditer(upper))
    if not shapes or find_quant_tags(leaf):
        return None
    return leaf[shapes[-1].start():shapes[-1].end()]


_ALTERNATIVES = sorted(set(_FILE_TYPE_NAMES) | set(CUSTOM_MIXES), key=lambda s: (-len(s), s))
# Standalone: not preceded or followed by a letter or digit (separators are - . _ / space), and
# not followed by "_" plus a short suffix that would make it another name ("Q4_K_MX", "Q4_K_XXL").
QUANT_TAG_RE = re.compile(
    r"(?<![A-Z0-9])(?P<prefix>UD[-_])?(?P<quant>" + "|".join(map(re.escape, _ALTERNATIVES)) + r")"
    r"(?![A-Z0-9])(?!_[A-Z0-9]{1,3}(?![A-Z0-9]))"
)


@dataclass(frozen=True)
class QuantTag:
    label: str  # normalised: "Q4_K_M", "Q4_K_XL", "IQ2_XXS"
    raw: str  # as written in the name, e.g. "ud-q4_k_xl"
    base: str  # the llama-quantize file type it is (or is built on): Q4_K_XL -> Q4_K_M
    custom: bool  # a custom per-tensor recipe (unsloth Dynamic, "_L"/"_XL"), not a plain mix
    start: int
    end: int


def _tag(match: re.Match[str], original: str) -> QuantTag:
    quant = match.group("quant")
    prefix = match.group("prefix")
    label = ALIASES.get(quant, quant)
    custom = bool(prefix) or quant in CUSTOM_MIXES
    base = CUSTOM_MIXES.get(label, label)
    return QuantTag(label=label, raw=original[match.start():match.end()], base=base, custom=custom,
                    start=match.start(), end=match.end())


def find_quant_tags(name: str) -> list[QuantTag]:
    """Every standalone quant tag in a file name, repo id or path component, in order."""
    upper = name.upper()
    return [_tag(m, name) for m in QUANT_TAG_RE.finditer(upper)]


def parse_quant_label(name: str | None) -> QuantTag | None:
    """The quant tag a name declares (the last one, as @huggingface/tasks does), or None.

    Only the last path component is read, so "org/Model-Q8_0-GGUF/model-Q4_K_M.gguf" gives Q4_K_M.
    """
    if not name:
        return None
    leaf = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    tags = find_quant_tags(leaf)
    return tags[-1] if tags else None


_SEPARATORS = "-._ "


def strip_quant_tags(name: str) -> str:
    """The name without its quant tags and the separators around them, and without ".gguf".

    "Qwen3-30B-A3B-UD-Q4_K_XL.gguf" -> "Qwen3-30B-A3B"; "gemma-3-270m-q4_k_m" -> "gemma-3-270m".
    """
    text = re.sub(r"\.gguf$", "", name, flags=re.IGNORECASE)
    for tag in reversed(find_quant_tags(text)):
        start, end = tag.start, tag.end
        while start > 0 and text[start - 1] in _SEPARATORS:
            start -= 1
        if start == 0:
            while end < len(text) and text[end] in _SEPARATORS:
                end += 1
        text = text[:start] + text[end:]
    return text.strip(_SEPARATORS)
