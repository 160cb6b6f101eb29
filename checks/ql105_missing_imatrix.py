"""A quant type llama-quantize refuses to make without an importance matrix, with no imatrix recorded.

## What it does
Reports a GGUF file whose type needs an importance matrix (imatrix) and that carries no
`quantize.imatrix.*` key. The types are the file types IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S,
IQ2_M, IQ3_XXS and Q2_K_S (from `general.file_type`, else the quant tag in the file name), and,
whatever the label, block tensors stored as IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS or IQ2_S.

## Why is this bad?
llama.cpp's own rule (src/llama-quant.cpp `tensor_requires_imatrix` @0c1e57098; gguf-facts.md
§9.2): for those target types it aborts with "ERROR: this quantization requires an importance
matrix!" and, per tensor, "Missing importance matrix for tensor %s in a very low-bit
quantization / The result will be garbage, so bailing out". Since February 2024 (@c392e50: "Please
do not use IQ1_S, IQ1_M, IQ2_S, IQ2_XXS, IQ2_XS or Q2_K_S quantization without an importance
matrix") a file of these types without an imatrix was made by an old build, a patched one, or
another tool. Even with an imatrix these types are far down the curve: Llama-3-8B IQ2_XXS with a
Wikitext imatrix +7.86 PPL (+126 %, KLD 0.81); an imatrix cuts KLD by 10-25 % at 2-4 bit (llama.cpp
perplexity README, PR #6936).
When the evidence is weaker: llama-quantize writes `quantize.imatrix.file` and
`entries_count` whenever it uses an imatrix, but other tools may use one without recording it,
so a missing key is a strong hint, not proof. IQ3_XXS was accepted without an imatrix by builds
before 2025 (they used IQ3_S/Q3_K for the most sensitive tensors instead).

## Example
`Llama-3-8B-IQ2_XXS.gguf`, `general.file_type` 19, no `quantize.imatrix.*` keys.

## How to fix
Take a quant published with an imatrix (its GGUF shows `quantize.imatrix.dataset`), or make one:
`llama-imatrix -m model-f16.gguf -f calibration.txt -o imatrix.gguf` then
`llama-quantize --imatrix imatrix.gguf model-f16.gguf out.gguf IQ2_XXS`. Better still, a
Q3_K_M/Q4_K_M quant of the same model or a smaller model at Q4_K_M.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.facts.quant_labels import parse_quant_label
from quantlint.facts.tiers import tier
from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL105"
NAME = "missing-imatrix"
SEVERITY = "warning"

# Tensor types every llama-quantize since Feb 2024 refuses without an imatrix (token_embd and
# output are exempt: llama.cpp quantizes them itself in these mixes).
IMATRIX_TENSOR_TYPES = {"IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S"}
EXEMPT = ("token_embd.weight", "output.weight")


def _has_imatrix(model: Model) -> bool:
    return bool(model.imatrix) or any(k.startswith("quantize.imatrix.") for k in model.metadata)


def _label(model: Model) -> tuple[str | None, str]:
    if model.quant_source == "general.file_type" and tier(model.quant):
        return tier(model.quant).label, f"general.file_type {model.file_type}"  # type: ignore[union-attr]
    tag = parse_quant_label(model.identity.file_name)
    if tag is not None:
        return tag.base, f"file name tag {tag.raw}"
    return None, ""


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    if model.format != "gguf" or _has_imatrix(model):
        return
    label, where = _label(model)
    low_tensors = [t for t in model.tensors if t.type_name in IMATRIX_TENSOR_TYPES and t.name not in EXEMPT]
    t = tier(label) if label else None
    if t is not None and t.requires_imatrix:
        message = f"{t.label} ({where}) needs an importance matrix, and the file records none (no quantize.imatrix.* keys)"
        location = "general.file_type" if where.startswith("general") else "file name"
    elif low_tensors:
        types = sorted({x.type_name for x in low_tensors})
        message = (f"{len(low_tensors)} tensors are {'/'.join(types)}, types llama-quantize refuses to make without an "
                   "importance matrix, and the file records none (no quantize.imatrix.* keys)")
        location = low_tensors[0].name
    else:
        return
    yield Finding(
        message=message,
        hint=("llama-quantize aborts on these types without an imatrix (\"The result will be garbage\"). Take a quant "
              "published with one (quantize.imatrix.dataset in its header) or a Q4_K_M of this or a smaller model."),
        location=location,
        data={"label": label, "tensors": len(low_tensors)},
    )
