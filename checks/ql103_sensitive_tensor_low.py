"""The output head or the token embedding is quantized lower than llama.cpp ever puts it.

## What it does
Reads the types of `output.weight` (the output head) and `token_embd.weight` in a GGUF file.
With tied embeddings (no `output.weight`: Gemma, many small models) the token embedding *is*
the output head, and is judged as one.
- Output head, or tied embedding: reported (**warning**) below Q6_K-class, i.e. under 6.5 bpw
  (Q6_K is 6.5625), or under 5.5 bpw (Q5_K) in the IQ1_S/IQ1_M/IQ2_*/IQ3_XXS mixes, where
  llama.cpp itself uses Q5_K. Q8_0, F16 and BF16 always pass.
- Untied token embedding: llama.cpp leaves it at the mix's base type on purpose (Q4_K in a
  Q4_K_M), and lowers it to Q2_K in the IQ1/IQ2_XXS/IQ2_XS mixes. It is reported (**info**)
  only below Q2_K (2.625 bpw), lower than any llama-quantize mix goes.

So a normal llama-quantize output of any type gets no QL103; a file made with
`--output-tensor-type` / `--token-embedding-type` pushed low, or by a tool with its own recipe,
can.

## Why is this bad?
quality-evidence.md §5. llama.cpp (src/llama-quant.cpp, @c392e50 and @0c1e57098) keeps
`output.weight` at Q6_K for every k-quant and legacy mix, at Q5_K only for the IQ1/IQ2/IQ3_XXS
mixes, Q8_0 when the row size forces it; tied embeddings follow the output rule since PR #5650.
That PR's figures, Gemma 2B at Q4_K_M: F16 PPL 9.1298; tied embedding at Q8_0 9.4794 (+3.8 %);
at Q6_K 9.6781 (+6.0 %); before the PR Gemma at Q4_K_M fell into degenerate repetition
("Interehavior Interehavior ..."). ikawrakow (ik_llama.cpp PR #53): Gemma "needs to be quantized
with more bits, but the tensor is very large because of the large vocabulary". ExLlamaV2 also
defaults the head to 6 bits ("Only 6 and 8 appear to be useful"). The seed: models with long
shared embeddings lose more at the same bpw.
Not claimed: that F16 beats Q8_0 for these tensors. compilade (PR #8715): "I'm not convinced f16
is measurably better than Q8_0"; there is no measurement either way, so Q8_0 is never reported.

## Example
`gemma-2b-Q4_K_M.gguf` with `token_embd.weight` at Q4_K and no `output.weight`: tied embedding
(the output head) at Q4_K, 4.50 bpw, below Q6_K-class (6.5 bpw).

## How to fix
Re-quantize from the F16/BF16 file with llama.cpp's defaults, or raise the tensor:
`llama-quantize --output-tensor-type q8_0` (and `--token-embedding-type q8_0` for tied
embeddings). For a tied embedding Q8_0 is the measured best (+3.8 % vs +6.0 % PPL on Gemma 2B).
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.facts.quant_labels import parse_quant_label
from quantlint.facts.tiers import ggml_type_bpw, tier
from quantlint.findings import Finding
from quantlint.model import Model, TensorRecord
from quantlint.settings import CheckContext

CODE = "QL103"
NAME = "sensitive-tensor-low"
SEVERITY = "warning"

# llama-quant.cpp: the mixes whose output tensor is Q5_K instead of Q6_K.
Q5K_OUTPUT_MIXES = {"IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS"}
Q6K_CLASS_BPW = 6.5  # Q6_K stores 6.5625 bpw
Q5K_BPW = 5.5
Q2K_BPW = 2.625  # the lowest type llama-quantize gives an untied token_embd


def _tensor(model: Model, name: str) -> TensorRecord | None:
    return next((t for t in model.tensors if t.name == name), None)


def _label(model: Model) -> str | None:
    """The mix the file says it is: general.file_type, else the quant tag in its name."""
    if model.quant_source == "general.file_type" and tier(model.quant):
        return tier(model.quant).label  # type: ignore[union-attr]
    tag = parse_quant_label(model.identity.file_name) or parse_quant_label(model.identity.repo)
    return tag.base if tag else None


def _head_threshold(label: str | None, block_bpw: float | None) -> tuple[float, str]:
    if label in Q5K_OUTPUT_MIXES:
        return Q5K_BPW, f"Q5_K ({Q5K_BPW:g} bpw), what llama.cpp uses in {label}"
    if label is None and block_bpw is not None and block_bpw < 3.0:
        return Q5K_BPW, f"Q5_K ({Q5K_BPW:g} bpw), what llama.cpp uses in its sub-3-bit mixes"
    return Q6K_CLASS_BPW, "Q6_K-class (6.5 bpw), llama.cpp's default for the output head"


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    if model.format != "gguf":
        return
    embd = _tensor(model, "token_embd.weight")
    output = _tensor(model, "output.weight")
    label = _label(model)
    head = output or embd
    if head is not None:
        bpw = ggml_type_bpw(head.type_name)
        limit, why = _head_threshold(label, model.bits_per_weight)
        if bpw is not None and bpw < limit:
            tied = output is None
            what = "tied embedding (token_embd.weight, also the output head)" if tied else "output head (output.weight)"
            yield Finding(
                message=f"{what} at {head.type_name}, {bpw:.2f} bpw, below {why}"
                        + (f"; the file is {label}" if label else ""),
                hint=("Re-quantize with llama.cpp's defaults or --output-tensor-type q8_0"
                      + (" --token-embedding-type q8_0" if tied else "")
                      + ". Gemma 2B (PR #5650): tied embedding at Q8_0 +3.8 % PPL, at Q6_K +6.0 %."),
                location=head.name, offset=head.info_offset,
                data={"tensor": head.name, "type": head.type_name, "bpw": bpw, "threshold": limit, "tied": tied},
            )
    if embd is not None and output is not None:
        bpw = ggml_type_bpw(embd.type_name)
        if bpw is not None and bpw < Q2K_BPW:
            yield Finding(
                message=(f"token embedding at {embd.type_name}, {bpw:.2f} bpw: lower than any llama-quantize mix "
                         f"puts it (Q2_K, {Q2K_BPW} bpw, in the IQ1/IQ2 mixes)"),
                hint="Re-quantize with --token-embedding-type q4_k (or llama.cpp's default for the mix).",
                location=embd.name, offset=embd.info_offset, severity="info",
                data={"tensor": embd.name, "type": embd.type_name, "bpw": bpw, "threshold": Q2K_BPW, "tied": False},
            )
