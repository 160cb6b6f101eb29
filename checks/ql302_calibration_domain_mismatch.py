"""General-English calibration data for a code, multilingual or math model.

## What it does
Compares the recorded calibration set (GGUF quantize.imatrix.dataset, EXL2
quantization_config.calibration.dataset, a GPTQ `dataset`, a TheBloke card table, ...) with the
model's domain (inferred from its name, basename/finetune, tags, languages and card). It fires
when the set is general English text only - wikitext, c4, the Pile (pileval, pile-10k),
ultrachat - and the model is code, multilingual or math. Broad mixes are not English-only and
never fire: the ExLlamaV2/V3 built-in mix ("(default)": c4, wiki, code, multilingual,
technical), bartowski's calibration_datav3, kalomaze's groups_merged, unsloth's sets. A
default that was only *assumed* (nothing recorded) is QL301's business, not this rule's.

Severity: warning when the domain is certain (a marker in the model's own name or a non-English
language list) and the quant sits under `info_at_bits` (default 5.0 bits per weight); info
otherwise, because calibration matters less as bits rise.

## Why is this bad?
The seed: AWQ and GPTQ quants calibrated on English text underperform on code, multilingual and
specialised work; the same holds for imatrix GGUF i-quants and K-quants and for EXL2. The
evidence (../shared/reference/quality-evidence.md §4) says the effect is real but **modest and
model-dependent**: up to 3.52 perplexity points from multilingual against English-only GPTQ/AWQ
calibration on Llama 3.1 8B and Qwen2.5 7B (Chimoto et al., EACL 2026, with failure cases), and
"substantial variations" in downstream tasks (Williams & Aletras, ACL 2024); but matched-domain
calibration is "not necessarily optimal" (Liu et al. 2024), and unsloth found standard imatrix
quants "overfit on Wikitext". llama.cpp's own figures show an imatrix helps more as bits fall
(-10 % KLD at q4_K_M, -25 % at q2_K, Wikitext in-domain) and that any imatrix beats none, so
this rule never advises dropping an imatrix at the same tier.

## Example
`Qwen2.5-Coder-7B-Instruct-IQ3_XXS.gguf` with `quantize.imatrix.dataset = wikitext-2-raw`:
code model, WikiText imatrix. The same file with `calibration_datav3` passes.

## How to fix
The seed's fixes: find a quant calibrated on relevant data (code: a code set such as Evol
Instruct Code, or a mixed imatrix such as bartowski's calibration_datav3 or unsloth's; other
languages: a multilingual mix), or fall back to GGUF Q4_K_M, which needs no calibration. For
GGUF, an imatrix from a mixed or in-domain set at the same tier, or a higher tier, is better
than no imatrix.

## Options
`info_at_bits` (float, default 5.0): at or above this many bits per weight the finding is info.
"""

from __future__ import annotations

from collections.abc import Iterator

from typing import TYPE_CHECKING

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

if TYPE_CHECKING:
    from quantlint.facts.datasets import CalibrationSet

CODE = "QL302"
NAME = "calibration-domain-mismatch"
SEVERITY = "warning"
OPTIONS = {"info_at_bits": 5.0}

TARGET_DOMAINS = ("code", "multilingual", "math")
RELEVANT = {
    "code": "a quant calibrated on code (Evol Instruct Code, The Stack) or on a mixed set (bartowski's "
            "calibration_datav3, unsloth, the EXL2/EXL3 built-in mix)",
    "multilingual": "a quant calibrated on multilingual or mixed data (calibration_datav3, groups_merged, "
                    "the EXL2/EXL3 built-in mix)",
    "math": "a quant calibrated on math or mixed data (calibration_datav3, the EXL2/EXL3 built-in mix)",
}


def _known_set(model: Model) -> CalibrationSet | None:
    from quantlint.facts.datasets import BY_KEY, lookup

    cal = model.calibration
    if cal is None:
        return None
    key = cal.details.get("known_set")
    if isinstance(key, str) and key in BY_KEY:
        return BY_KEY[key]
    return lookup(cal.dataset)


def _bits(model: Model) -> float | None:
    if model.format in ("gguf", "exl2", "exl3"):
        return model.bits_per_weight if model.bits_per_weight is not None else model.declared_bits
    return model.declared_bits if model.declared_bits is not None else model.bits_per_weight


def _hint(model: Model, domain: str) -> str:
    relevant = RELEVANT[domain]
    if model.format == "gguf":
        return (f"Prefer {relevant}, or a higher tier such as Q4_K_M or Q5_K_M, where calibration matters less. "
                "An English imatrix still beats none, so do not drop the imatrix at the same tier.")
    return (f"Prefer {relevant}, or fall back to GGUF Q4_K_M, which needs no calibration. "
            "The gain is modest and model-dependent (up to ~3.5 perplexity points in the multilingual study).")


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    cal = model.calibration
    if cal is None or cal.kind == "default-assumed":
        return
    from quantlint.facts.datasets import DOMAIN_LABELS, GENERAL_ENGLISH

    entry = _known_set(model)
    if entry is None or entry.domain != GENERAL_ENGLISH:
        return
    domain_info = model.domain or {}
    domain, confidence = domain_info.get("domain"), domain_info.get("confidence")
    if domain not in TARGET_DOMAINS or confidence not in ("high", "medium"):
        return
    bits = _bits(model)
    threshold = float(ctx.options.get("info_at_bits", 5.0))
    severity = "warning" if confidence == "high" and (bits is None or bits < threshold) else "info"
    evidence = "; ".join(str(e) for e in (domain_info.get("evidence") or [])[:2])
    message = (f"calibrated on {cal.dataset} ({entry.label}: {DOMAIN_LABELS[GENERAL_ENGLISH]}, from {cal.source}) "
               f"but this is a {domain} model ({confidence} confidence: {evidence})")
    yield Finding(message=message, hint=_hint(model, domain), location=cal.source, severity=severity,
                  data={"dataset": cal.dataset, "set": entry.key, "set_domain": entry.domain, "model_domain": domain,
                        "domain_confidence": confidence, "bits": bits})
