"""A Mixture-of-Experts model whose expert or always-active weights sit below Q5 (5 bpw).

## What it does
For a model with more than one expert (`{arch}.expert_count`, fused `blk.N.ffn_*_exps`
tensors, old Mixtral files' per-expert `blk.N.ffn_gate.E.weight` under
`general.architecture = llama`, or the expert facts a Hugging Face reader fills for EXL2, AWQ
and GPTQ folders) it compares two measured figures with a threshold, 5.0 bpw by default:
- the expert tensors' own bits per weight (not the file's average), and
- the always-active tensors' bits per weight: attention, shared experts and dense FFN layers
  (the router is never quantized by llama-quantize and is left out of the figure).

The message says where the low bits are: in the experts, in the always-active tensors, or in
both. Low always-active tensors are a **warning**; experts alone below the threshold, with the
always-active tensors above it, are **info**, because that is where the evidence is weaker.

## Why is this bad?
The seed: MoE models lose more at the same bpw than dense ones ("Qwen3 235B-A22B needs Q5+ for
stability, while dense Llama 70B is fine at Q4_K_M"). The published evidence
(quality-evidence.md §3) is strongest for the always-active part:
- llama.cpp itself raises attention for Mixtral-style models: `attn_k`/`attn_v` to Q8_0 ("for
  the 8-expert model, bumping this to Q8_0 trades just ~128MB", PR #4406) and `attn_output` to
  Q5_K (PR #4906: "the attention portion of the network is a small fraction of the overall
  model size"); its MXFP4_MOE mix keeps every non-expert tensor at Q8_0. No such bump exists for
  other expert counts, so a Qwen3-MoE (128 experts) Q4_K_M has its attention at Q4_K.
- Qwen3.5-35B-A3B at Q4: a recipe that kept attention and shared experts at Q8_0 reached mean
  KLD 0.0102; one that put attention low measured 0.0524 (five times worse).
- DeepSeek R1 works at 1.58-bit experts only with attention and shared experts at 4-6 bit.

A blanket "MoE under Q5" is weaker than the folklore: routed experts tolerate 2-3 bit in several
studies (QMoE compresses SwitchTransformer-c2048 to 0.8 bit per parameter "at only minor accuracy
loss"; unsloth: "ffn_up_exps and ffn_gate_exps are generally ok to quantize to 3bit"), and no
published Qwen3-MoE Q4_K_M vs Q5_K_M measurement was found. Hence info, not warning, for
low experts alone.

## Example
`Qwen3-30B-A3B-Q4_K_M.gguf` (128 experts, 8 used): experts at 4.84 bpw and always-active
tensors at 4.84 bpw (attention 4.84), both below 5.0.

## How to fix
Take the Q5_K_M (or Q6_K) quant of the model, or a recipe that keeps attention and shared
experts at Q8_0 and only the routed experts low (`llama-quantize --tensor-type
"attn_.*=q8_0" --tensor-type "shexp=q8_0" ... Q4_K_M`). If memory is short, a smaller dense model
at Q4_K_M is often the better trade.

## Options
`min_expert_bpw`: the threshold. By default it follows the floor: one bit class above it
(floor Q4_K_M -> 5.0 bpw; `--floor Q5_K_M` or `--profile high-stakes` -> 6.0; `--floor Q3_K_M`
-> 4.0).

## Native precision (the exemption)
Experts stored in the format their model was released in are not judged: gpt-oss
(general.architecture `gpt-oss`) with MXFP4 experts (llama.cpp PR #15091 runs it "in native
MXFP4 format"), or a ternary model (BitNet, TriLM) in TQ1_0/TQ2_0. Such a file gets one **info**
note naming the reason; its always-active tensors are still judged. The table and its sources
are in quantlint/facts/native_precision.py (`quantlint explain QL101` tells the whole rule).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from quantlint.facts.tiers import floor_bits, normalise_label
from quantlint.facts.native_precision import NativeReason
from quantlint.findings import Finding
from quantlint.model import Model, TensorRecord
from quantlint.precision import native_precision
from quantlint.settings import CheckContext

CODE = "QL102"
NAME = "moe-below-q5"
SEVERITY = "warning"
OPTIONS = {"min_expert_bpw": None}  # None: one bit class above the floor

EXPERT = re.compile(r"^blk\.\d+\.ffn_(?:gate|up|down|gate_up)_exps\.|^blk\.\d+\.ffn_(?:gate|up|down)\.\d+\.weight$")
ROUTER = re.compile(r"^blk\.\d+\.ffn_gate_inp(?:_shexp)?\.")
GROUPS = (
    ("attention", re.compile(r"^blk\.\d+\.attn_")),
    ("shared experts", re.compile(r"^blk\.\d+\.ffn_\w+_shexp\.")),
    ("dense FFN", re.compile(r"^blk\.\d+\.ffn_(?:gate|up|down)\.weight$")),
)


def _floor(ctx: CheckContext) -> str:
    return normalise_label(str(ctx.settings.floor or "Q4_K_M"))


def threshold(ctx: CheckContext) -> tuple[float, str]:
    """(bpw threshold, how it was set) for the run's floor and options."""
    floor = _floor(ctx)
    explicit = ctx.options.get("min_expert_bpw")
    if explicit is not None:
        return float(explicit), f"min_expert_bpw = {float(explicit):g}"
    value = floor_bits(floor) + 1.0
    return value, f"one bit class above the floor {floor}"


def _bpw(tensors: list[TensorRecord]) -> float | None:
    known = [t for t in tensors if t.nbytes is not None and t.n_elements]
    elements = sum(t.n_elements for t in known)
    return sum(t.nbytes or 0 for t in known) * 8 / elements if elements else None


def _always_active_parts(model: Model) -> dict[str, float]:
    """bpw per always-active group of a GGUF file (attention, shared experts, dense FFN)."""
    matrices = [t for t in model.tensors if len(t.shape) >= 2 and t.name.startswith("blk.")
                and not EXPERT.match(t.name) and not ROUTER.match(t.name)]
    parts: dict[str, float] = {}
    for label, pattern in GROUPS:
        bpw = _bpw([t for t in matrices if pattern.match(t.name)])
        if bpw is not None:
            parts[label] = bpw
    return parts


def _native_experts(model: Model) -> NativeReason | None:
    """Why the expert tensors' types are the model's own released precision, if they are."""
    types = set(model.moe.expert_tensor_types) if model.moe else set()
    return native_precision(model, types) if types else None


def _first_expert_tensor(model: Model) -> str | None:
    return next((t.name for t in model.tensors if EXPERT.match(t.name)), None)


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    moe = model.moe
    if moe is None or moe.experts <= 1:
        return
    limit, why = threshold(ctx)
    native = _native_experts(model)
    experts_bpw = None if native else moe.expert_bits_per_weight
    active_bpw = moe.always_active_bits_per_weight
    low_experts = experts_bpw is not None and experts_bpw < limit
    low_active = active_bpw is not None and active_bpw < limit
    if not (low_experts or low_active):
        if native is not None and moe.expert_bits_per_weight is not None and moe.expert_bits_per_weight < limit:
            yield _native_note(model, native, moe.expert_bits_per_weight, limit, why)
        return

    shape = f"{moe.experts} experts" + (f", {moe.experts_used} used" if moe.experts_used else "")
    if moe.shared_experts:
        shape += f", {moe.shared_experts} shared"
    parts = _always_active_parts(model) if model.format == "gguf" else {}
    detail = ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
    active_text = f"always-active tensors at {active_bpw:.2f} bpw" if active_bpw is not None else ""
    if detail and active_text:
        active_text += f" ({detail})"
    experts_text = f"experts at {experts_bpw:.2f} bpw" if experts_bpw is not None else ""

    if low_experts and low_active:
        where = "both"
        message = f"MoE ({shape}): {experts_text} and {active_text}, both below {limit:g} bpw ({why})"
        severity = "warning"
    elif low_active:
        where = "always-active"
        message = f"MoE ({shape}): {active_text}, below {limit:g} bpw ({why})"
        if experts_text:
            message += f"; the {experts_text} are fine"
        severity = "warning"
    else:
        where = "experts"
        message = f"MoE ({shape}): {experts_text}, below {limit:g} bpw ({why})"
        if active_text:
            message += f"; the {active_text} are not low"
        severity = "info"
    hint = ("Keep attention and shared experts high (Q8_0 in the best-measured recipes: KLD 0.0102 vs 0.0524 "
            "on Qwen3.5-35B-A3B), or take the Q5_K_M quant of this model.")
    if where == "experts":
        hint = ("The evidence for low routed experts alone is weak (they tolerate 3 bit in several studies); "
                "take Q5_K_M if quality matters more than memory.")
    yield Finding(
        message=message, hint=hint, location=_first_expert_tensor(model) or moe.detected_from,
        severity=severity,
        data={"where": where, "threshold": limit, "expert_bpw": experts_bpw, "always_active_bpw": active_bpw,
              "always_active_parts": parts, "experts": moe.experts, "experts_used": moe.experts_used},
    )


def _native_note(model: Model, native: NativeReason, bpw: float, limit: float, why: str) -> Finding:
    types = ", ".join(sorted(model.moe.expert_tensor_types)) if model.moe else ""
    return Finding(
        message=(f"MoE experts at {bpw:.2f} bpw ({types}) are below {limit:g} bpw ({why}), but that is this model's "
                 f"released precision: {native.family}, {native.reason} (recognised by {native.evidence}); "
                 "the threshold does not apply"),
        hint="Nothing to change: the experts are stored as the model was released.",
        location=_first_expert_tensor(model), severity="info",
        data={"where": "experts", "threshold": limit, "expert_bpw": bpw,
              "native": {"family": native.family, "reason": native.reason, "evidence": native.evidence,
                         "source": native.source}})
