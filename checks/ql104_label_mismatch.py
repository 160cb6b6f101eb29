"""The declared quant label disagrees with the tensor mix measured in the file.

## What it does
Compares three things pairwise and reports the pair that disagrees: the quant tag in the file
name or repo name (Q4_K_M, IQ3_XXS, UD-Q4_K_XL, Q6_K_L...), `general.file_type`, and the
tensor mix measured in the file.
- **Name vs general.file_type** (**warning**): `...-Q4_K_M.gguf` whose file_type is Q4_K_S. The
  message says which of the two the measured mix fits. Publishers' labels that are not
  llama.cpp file types but documented conventions (quantlint/facts/quant_labels.py
  CONVENTIONS, with sources) are accepted with the file types they imply: bartowski's `_L`
  variants (Q4_K_L = Q4_K_M with Q8_0 embed/output), unsloth's `UD-*_XL` per-layer recipes,
  mradermacher's `i1-` imatrix prefix, the retired `Q4_0_4_4`/`Q4_0_4_8`/`Q4_0_8_8` repacks of
  Q4_0, `MXFP4` for MXFP4_MOE. A tag-shaped word that is neither (Q4_K_XXL, ik_llama.cpp's
  IQ4_KS) is reported as unknown (**info**), never as a mismatch.
- **Label vs mix**: for each declared label it computes the range of bits per
weight that llama-quantize's mix for that label can produce over the block weight matrices
(quantlint/facts/mixes.py, from llama.cpp's `llama_tensor_get_type`, including the fallbacks
for rows not divisible by 256: Q4_K -> Q5_0, Q6_K -> Q8_0, ...), and compares the file's
measured figure with it.
- Measured **below** the label's lowest possible figure: **warning** (the file is smaller and
  worse than its label says).
- Measured **above** the label's highest possible figure: **info** (bigger than it says).
- No `general.file_type`: llama.cpp guesses the type from the most frequent tensor type *by
  count*; **info** saying what llama.cpp will print and what quantlint measured instead.
- Hugging Face formats: the config's bits (`bits` in quantize_config.json or
  quantization_config) against the bit width measured from the packed tensors (**warning**).

It never compares with the most common tensor type: a real Q4_K_M mixes Q4_K, Q5_0, Q6_K,
Q8_0 and F32, and by count its most common type is F32 (109 of 236 tensors in Gemma 3 270M
Q4_K_M), which is what llama.cpp's own guess and at least one peer tool trip on. Custom recipes
named after a type (unsloth's UD-/_XL, bartowski's _L) get one bit of slack below their base.

## Why is this bad?
The label is what users choose by. llama.cpp's table (tools/quantize/quantize.cpp, Llama-3-8B)
puts Q4_K_M at +0.1754 PPL and Q2_K at +3.5199: twenty times the loss. A file labelled Q4_K_M
whose blocks are mostly Q2_K gives Q2_K quality under a Q4_K_M name. Mislabels come from
renamed files, `--tensor-type` overrides, requantizing, and older MoE files whose _M mixes
silently collapsed (PR #4872: Mixtral Q3_K_M 18.96 GiB before the fix, 20.93 GiB after).

## Example
`model-Q4_K_M.gguf`, `general.file_type` 15 (Q4_K_M), blocks mostly Q2_K: the blocks measure
2.87 bpw, below the 4.50 bpw that any llama-quantize Q4_K_M has (its lowest type is Q4_K).

## How to fix
Trust the measured figure, not the name: re-download from the original publisher, or rename
the file to what it is. For HF formats, fix `bits` in the config or re-export the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from quantlint.facts.mixes import SOURCE, llama_cpp_guess, mix_range
from quantlint.facts.quant_labels import CONVENTIONS, QuantTag, accepted_file_types, parse_quant_label, unknown_quant_tag
from quantlint.facts.tiers import normalise_label, tier
from quantlint.findings import Finding
from quantlint.model import Model, TensorRecord
from quantlint.settings import CheckContext

CODE = "QL104"
NAME = "label-mismatch"
SEVERITY = "warning"

EPSILON = 0.02  # bpw; the measure is exact (bytes over elements), this only absorbs rounding
CUSTOM_SLACK = 1.0  # bpw below the base mix allowed for custom recipes (UD-, _XL, _L)
NEVER_QUANTIZED = (".ffn_gate_inp.", ".ffn_gate_inp_shexp.", "_norm.", ".ssm_", ".time_mix_", ".attn_rel_b.")


def _block_matrices(model: Model) -> list[TensorRecord]:
    """The tensors a mix decides: blk.N.* weight matrices that llama-quantize quantizes, with a
    row size divisible by 32 (others can only be F16/F32, whatever the label)."""
    out = []
    for t in model.tensors:
        if not t.name.startswith("blk.") or not t.name.endswith(".weight") or len(t.shape) < 2:
            continue
        if any(part in t.name for part in NEVER_QUANTIZED) or t.nbytes is None or not t.n_elements:
            continue
        if t.shape[0] % 32:
            continue
        out.append(t)
    return out


def _measure(tensors: list[TensorRecord], label: str) -> tuple[float, str, float] | None:
    """(bpw, dominant type by elements, its share) over the block matrices. F32 matrices are left
    out unless the label itself is F32: llama-quantize never produces F32 for a weight it quantizes."""
    if label != "F32":
        tensors = [t for t in tensors if t.type_name != "F32"]
    elements = sum(t.n_elements for t in tensors)
    if not elements:
        return None
    bpw = sum(t.nbytes or 0 for t in tensors) * 8 / elements
    by_type: Counter[str] = Counter()
    for t in tensors:
        by_type[t.type_name] += t.n_elements
    top, count = by_type.most_common(1)[0]
    return bpw, top, count / elements


def _declared(model: Model) -> list[tuple[str, str, QuantTag | None]]:
    """(label, where it was declared, tag) for every label the file declares."""
    out: list[tuple[str, str, QuantTag | None]] = []
    if model.quant_source == "general.file_type" and model.quant:
        out.append((model.quant, f"general.file_type {model.file_type}", None))
    for where, name in (("the file name", model.identity.file_name), ("the repo name", model.identity.repo)):
        tag = parse_quant_label(name)
        if tag is not None and all(tag.label != label for label, _, _ in out):
            out.append((tag.raw.upper() if tag.custom else tag.label, where, tag))
    return out


def _fits(bpw: float | None, label: str, custom: bool = False) -> bool | None:
    rng = mix_range(tier(label).label if tier(label) else label)
    if bpw is None or rng is None:
        return None
    low = rng.low_bpw - (CUSTOM_SLACK if custom else 0.0)
    return low - EPSILON <= bpw <= rng.high_bpw + EPSILON


def _name_vs_file_type(model: Model, matrices: list[TensorRecord]) -> list[tuple[str, Finding]]:
    """(where, finding) for each name whose tag disagrees with general.file_type (the measured
    mix says which of the two it fits), or whose tag is unknown."""
    out: list[tuple[str, Finding]] = []
    if model.quant_source != "general.file_type" or not model.quant:
        return out
    declared = normalise_label(model.quant)
    for where, name in (("the file name", model.identity.file_name), ("the repo name", model.identity.repo)):
        tag = parse_quant_label(name)
        if tag is None:
            unknown = unknown_quant_tag(name)
            if unknown:
                out.append((where, Finding(
                    message=(f"{where} carries the quant tag {unknown}, which is neither a llama.cpp file type nor a "
                             f"publisher convention quantlint knows: not compared (general.file_type says {declared})"),
                    hint="Check the publisher's card for what the tag means; the measured mix is what the file holds.",
                    location=_location(where), severity="info", data={"tag": unknown, "file_type": declared})))
            continue
        accepted = accepted_file_types(tag)
        if declared in accepted:
            continue
        measured = _measure(matrices, declared)
        bpw = measured[0] if measured else None
        fits_declared = _fits(bpw, declared)
        fits_name = _fits(bpw, tag.base, tag.custom)
        name_label = tag.raw.upper() if tag.custom else tag.label
        if fits_declared and not fits_name:
            verdict = f"the block weights ({bpw:.2f} bpw) fit {declared}, not {name_label}"
        elif fits_name and not fits_declared:
            verdict = f"the block weights ({bpw:.2f} bpw) fit {name_label}, not {declared}: general.file_type is wrong"
        elif bpw is not None:
            verdict = f"the block weights ({bpw:.2f} bpw) fit both mixes' ranges, so general.file_type is the better witness"
        else:
            verdict = "no block weights to measure"
        convention = CONVENTIONS.get(tag.label)
        known = f" ({convention.publisher}: {convention.implies})" if convention else ""
        # Point at the side the measured mix contradicts; with no evidence either way, at the name.
        location = "general.file_type" if (fits_name and not fits_declared) else _location(where)
        out.append((where, Finding(
            message=(f"{where} says {name_label}{known}, but general.file_type {model.file_type} says {declared}; {verdict}"),
            hint=("The name promises one tier and the file is another: rename it to what it is, or re-download the "
                  "quant you meant from the publisher."),
            location=location,
            data={"pair": [where, "general.file_type"], "name_label": name_label, "file_type": declared,
                  "accepted_file_types": sorted(accepted), "measured_bpw": None if bpw is None else round(bpw, 4),
                  "fits_file_type": fits_declared, "fits_name": fits_name})))
    return out


def _gguf(model: Model) -> Iterator[Finding]:
    matrices = _block_matrices(model)
    paired = _name_vs_file_type(model, matrices)
    yield from (f for _, f in paired)
    reported = {where for where, _ in paired}
    for label, where, tag in _declared(model):
        if where in reported:  # the pair finding above already says what the mix fits
            continue
        base = tag.base if tag else label
        rng = mix_range(tier(base).label if tier(base) else base)
        if rng is None:
            continue
        measured = _measure(matrices, rng.label)
        if measured is None:
            continue
        bpw, top, share = measured
        low = rng.low_bpw - (CUSTOM_SLACK if tag is not None and tag.custom else 0.0)
        mix_text = f"mostly {top} ({share:.0%} of block weights)"
        data = {"label": label, "declared_in": where, "measured_bpw": round(bpw, 4), "low_bpw": round(low, 4),
                "high_bpw": rng.high_bpw, "dominant_type": top, "source": SOURCE}
        if bpw < low - EPSILON:
            yield Finding(
                message=(f"{where} says {label}, but the block weights measure {bpw:.2f} bpw, {mix_text}: "
                         f"below the {low:.2f} bpw any llama-quantize {rng.label} has (its lowest type is {rng.low_type})"),
                hint="Trust the measured mix: this file gives the quality of its real types. Re-download from the publisher or rename it.",
                location=_location(where), data=data)
        elif bpw > rng.high_bpw + EPSILON:
            yield Finding(
                message=(f"{where} says {label}, but the block weights measure {bpw:.2f} bpw, {mix_text}: "
                         f"above the {rng.high_bpw:.2f} bpw llama-quantize's {rng.label} can reach"),
                hint="The file is bigger than its label says; check that it is the quant you meant to get.",
                location=_location(where), severity="info", data=data)
    if model.quant_source != "general.file_type" and model.tensors:
        yield _guessed(model, matrices)


def _location(where: str) -> str:
    return "general.file_type" if where.startswith("general.file_type") else where.removeprefix("the ")


def _guessed(model: Model, matrices: list[TensorRecord]) -> Finding:
    counts: Counter[str] = Counter(t.type_name for t in model.tensors)
    guess = llama_cpp_guess(dict(counts))
    top_type, top_count = counts.most_common(1)[0]
    measured = _measure(matrices, "")
    ours = f"quantlint reads it as {model.quant}" if model.quant else "quantlint could not name it"
    if measured:
        ours += f" (block weights {measured[0]:.2f} bpw, mostly {measured[1]})"
    return Finding(
        message=(f"no general.file_type: the label is guessed. llama.cpp will print \"{guess} (guessed)\" from the most "
                 f"frequent tensor type by count ({top_type}, {top_count} of {len(model.tensors)} tensors); {ours}"),
        hint="Files written by llama-quantize always carry general.file_type; this one came from another tool. "
             "Judge it by its measured mix.",
        location="general.file_type", severity="info",
        data={"llama_cpp_guess": guess, "quantlint_label": model.quant},
    )


def _hf(model: Model) -> Iterator[Finding]:
    declared, packed = model.declared_bits, model.packed_bits
    if declared is None or packed is None or abs(declared - packed) < 0.25:
        return
    lower = packed < declared
    yield Finding(
        message=(f"the config says {declared:g}-bit weights, but the tensors are packed at {packed:g} bits"
                 + (": the weights hold less than the config claims" if lower else "")),
        hint="A config that disagrees with its tensors loads wrongly or not at all; re-export the model, or fix `bits` in the config.",
        location=model.quant_source or "config.json",
        data={"declared_bits": declared, "packed_bits": packed},
    )


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    if model.format == "gguf":
        yield from _gguf(model)
    else:
        yield from _hf(model)
