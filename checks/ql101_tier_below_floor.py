"""The quant tier is below the floor: Q4_K_M for GGUF, 4.0 bpw for EXL2/EXL3, 4-bit otherwise.

## What it does
Places the quant in llama.cpp's quality order and reports it when it sits below the floor
(`--floor`, default Q4_K_M; the `high-stakes` profile raises it to Q5_K_M). Severity follows
how far below: **error** under 3 bpw (Q2_K, IQ2_*, IQ1_*, TQ*), **warning** for a lower bit
class than the floor (the 3-bit class against Q4_K_M), **info** for the same bit class but a
weaker mix (Q4_K_S, Q4_0, IQ4_XS against Q4_K_M). For EXL2/EXL3 the measured (or declared)
bits per weight are compared with the floor's bit class; for AWQ, GPTQ and the other
integer formats, the declared bits.

## Why is this bad?
The seed's first diagnosis: "Quantization tier too aggressive (Q3, Q2, IQ2): incoherent text,
repetitive loops, off-topic responses." llama.cpp's own measurements on Llama-3-8B
(tools/quantize/quantize.cpp and the perplexity README, PR #6936) show where the curve bends:
Q4_K_M costs +0.1754 PPL (mean KLD 0.031), Q3_K_M +0.6569 (KLD 0.102), Q3_K_S +1.6321, Q2_K
+3.5199 (KLD 0.445). The quality paid per GiB saved triples from Q4_K_M to Q3_K_M and rises
five-fold more to Q2_K. Newer, more heavily trained models lose more at the same tier
(Llama 3 8B at Q4_K_M has 2.5x the KLD of Llama 2 7B). The evidence is perplexity and KLD on
Wikitext; "noticeable on adversarial prompts" below Q4_K_M (the seed) is practitioner
consensus rather than a controlled study.

## Example
`Llama-3.1-8B-Instruct-Q3_K_M.gguf` (general.file_type 12): Q3_K_M is below the floor Q4_K_M.

## How to fix
Take the floor tier instead: "Q3 -> Q4_K_M is the cleanest jump; IQ2 -> Q4_K_M nearly always
improves" (the seed). If memory is the reason, a smaller model at Q4_K_M usually beats a
bigger one at Q2/Q3; `quantlint pick ORG/REPO --memory 24GiB` lists what fits.

## Native and QAT precision (the exemption)
The floor measures how far a quant squeezed a model trained at 16 bits. It does not apply to a
file stored at the precision its model was released in, and such a file gets one **info** note
naming the reason instead of a warning or an error. quantlint/facts/native_precision.py is the
table, with its sources:
- a ternary model (general.architecture `bitnet` or `bitnet-b1.58`, or "BitNet"/"TriLM" in its
  name) in TQ1_0, TQ2_0 or I2_S: trained with weights in {-1, 0, 1}, stored exactly;
- gpt-oss (general.architecture `gpt-oss`) in MXFP4_MOE: its experts were released in MXFP4;
- a quantization-aware-trained release: the word "qat" in the file, repo, general.name/finetune
  or card name, or in a tag, and the quant at or above the bit width named after it ("qat-q4_0",
  "qat-int4"; 4 bits when none is named): Google's gemma-3-*-it-qat-q4_0-gguf. A QAT model
  quantized below what it was trained for is judged like any other.
A Llama quantized to TQ2_0 is not ternary-trained and still gets its error.

## Options
`floor` (a llama.cpp quant label, default Q4_K_M; also `--floor` and `--profile high-stakes`).
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.facts.tiers import SOURCE_SHORT, floor_bits, is_below, next_safer, normalise_label, quality_context, tier
from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.precision import native_precision
from quantlint.settings import CheckContext

CODE = "QL101"
NAME = "tier-below-floor"
SEVERITY = "warning"
OPTIONS = {"floor": None}  # None: the run's floor (--floor / --profile / config floor)

# Formats whose quality is set by the integer bit width of their weights.
INTEGER_BIT_FORMATS = {"awq", "gptq", "compressed-tensors", "auto-round", "bitsandbytes", "hqq", "mlx"}
BPW_FORMATS = {"exl2", "exl3"}
# ExLlamaV2's optimizer stops just under its target: `-b 4.0` measures 3.9995 bpw (exllamav2
# issue #20 log, formats.md 1.4). A measured figure within this of the floor is at the floor.
BPW_TOLERANCE = 0.01


def _floor(ctx: CheckContext) -> str:
    return normalise_label(str(ctx.options.get("floor") or ctx.settings.floor or "Q4_K_M"))


def _severity_by_bits(bits: float, floor_class: float) -> str:
    if bits < 3.0:
        return "error"
    if bits < floor_class:
        return "warning"
    return "info"


def _gguf(model: Model, floor: str, profile: str = "") -> Iterator[Finding]:
    t = tier(model.quant)
    if t is None or not is_below(t.label, floor):
        return
    floor_tier = tier(floor)
    floor_class = floor_tier.bit_class if floor_tier else 4
    nominal = t.nominal_bpw if t.nominal_bpw is not None else float(t.bit_class)
    if nominal < 3.0 or t.bit_class < 3:
        severity = "error"
    elif t.bit_class < floor_class:
        severity = "warning"
    else:
        severity = "info"
    native = native_precision(model, {t.label}, t.bit_class)
    if native is not None:
        yield Finding(
            message=(f"{t.label} is below the floor {floor}{profile}, but it is this model's released precision: "
                     f"{native.family}, {native.reason} (recognised by {native.evidence}); the floor does not apply"),
            hint="Nothing to change: this is the precision the model was made for.",
            location=model.quant_source, severity="info",
            data={"quant": t.label, "floor": floor, "native": {"family": native.family, "reason": native.reason,
                                                               "evidence": native.evidence, "source": native.source}})
        return
    step = next_safer(t.label, floor)
    # The source is named once, in the message; the hint's figures come from the same table.
    context = quality_context(t.label, SOURCE_SHORT)
    step_context = quality_context(step, None)
    measured = f" (measured {model.bits_per_weight:.2f} bpw in the blocks)" if model.bits_per_weight else ""
    message = f"{t.label}{measured} is below the floor {floor}{profile}"
    if context:
        message += f"; {context}"
    hint = f"Use {step} or higher"
    if step_context:
        hint += f" ({step_context})"
    if step == "Q4_K_M":
        hint += ". Q3 -> Q4_K_M is the cleanest jump; if memory is short, a smaller model at Q4_K_M usually beats a bigger one at Q2/Q3."
    else:
        hint += "."
    yield Finding(
        message=message, hint=hint, location=model.quant_source, severity=severity,
        data={"quant": t.label, "floor": floor, "next_step": step, "bit_class": t.bit_class},
    )


def _bits_based(model: Model, floor: str) -> Iterator[Finding]:
    floor_class = floor_bits(floor)
    if model.format in BPW_FORMATS:
        bits = model.bits_per_weight if model.bits_per_weight is not None else model.declared_bits
        unit = "bpw"
    elif model.format in INTEGER_BIT_FORMATS:
        bits = model.declared_bits if model.declared_bits is not None else model.bits_per_weight
        unit = "-bit weights"
    else:
        return
    tolerance = BPW_TOLERANCE if model.format in BPW_FORMATS else 0.0
    if bits is None or bits >= floor_class - tolerance:
        return
    severity = _severity_by_bits(bits, floor_class)
    label = model.quant or model.format.upper()
    if model.format in BPW_FORMATS:
        advice = f"Use a {floor_class:.1f} bpw (or higher) quant; the seed's floor is 4.0 bpw for EXL2, 5.0+ for high-stakes work."
    else:
        advice = (f"Use a {int(floor_class)}-bit (or 8-bit) quant of this model, or GGUF {floor} "
                  "(calibration-free) if no such quant exists.")
    yield Finding(
        message=f"{label}: {bits:g}{' ' if unit == 'bpw' else ''}{unit} is below the floor of {floor_class:g} (the equivalent of {floor})",
        hint=advice, location=model.quant_source, severity=severity,
        data={"bits": bits, "floor": floor, "floor_bits": floor_class},
    )


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    floor = _floor(ctx)
    if model.format == "gguf":
        profile = ctx.settings.profile
        yield from _gguf(model, floor, f" (profile {profile})" if profile and profile != "default" else "")
    else:
        yield from _bits_based(model, floor)
