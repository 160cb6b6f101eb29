"""What llama.cpp allocates for the model at the planned settings exceeds the memory budget (`--memory`).

## What it does
Estimates every buffer llama.cpp 0c1e57098 allocates (quantlint.runtime.memory, checked against a
real build in docs/memory.md): the weights (every tensor the header declares; all experts of a
Mixture-of-Experts model), on CPU the repack buffer (Q4_0/Q4_K/IQ4_NL weights re-laid out for
the CPU kernels), the KV cache at the planned context and cache types (per-layer head counts and
sliding-window caches honoured), the compute buffer (the f32 logits of one micro-batch,
n_vocab x n_ubatch x 4, or with flash attention off the attention scores when they are larger)
and the output buffer. `-fa`, `-ub`, `-b`, `-np`, `-ngl` and `--no-mmap` move it. Compares the
total with `--memory` (several devices, `24GiB,24GiB`, are added up). Without `-c`, the context is the runtime's default: the model's training context
for recent llama.cpp, 4096 for Ollama. Reports by how much the estimate is over, and what would
fit: the largest context, a q8_0 cache, or a smaller quant.

## Why is this bad?
The seed: "This card doesn't have enough VRAM for what you're asking it to do." A model that
does not fit is either refused at load ("failed to allocate buffer"), or spills layers to
system RAM and runs several times slower. The estimate matches llama.cpp's own buffers within
10% on the files measured, and says what it leaves out (the GPU runtime's own context, a
vision projector, how a partial -ngl splits the load): treat a total within a few hundred MB
of the budget as "will not fit" too.

## Example
`quantlint --memory 4GiB Llama-3.1-8B-Q4_K_M.gguf`: 4.58 GiB of weights alone exceed 4 GiB.

## How to fix
Lower the context (`-c`, the hint gives the largest that fits), use
`--cache-type-k q8_0 --cache-type-v q8_0` (half the f16 cache, near-lossless), a smaller
`-ub` for a large-vocabulary model (the logits scale with it), `-fa on` at long contexts, or pick a
smaller quant (`quantlint pick DIR --memory 24GiB`). Below the floor (Q4_K_M), a smaller model
at Q4_K_M is usually the better trade.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from quantlint.facts.tiers import TIERS, is_below, tier
from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.facts.llamacpp_memory import DEFAULT_N_UBATCH
from quantlint.settings import CheckContext, RuntimePlan

if TYPE_CHECKING:
    from quantlint.runtime.memory import Component, MemoryEstimate
# The memory model is imported inside the functions below: most lints give no --memory budget,
# and its import is a few percent of a whole `quantlint model.gguf` run.

CODE = "QL202"
NAME = "memory-over-budget"
SEVERITY = "error"
UBATCH_STEPS = (256, 128, 64)  # micro-batches worth offering: below 64 prompt processing crawls
MIN_USEFUL_CONTEXT = 2048  # below this a context is no remedy worth offering
FALLBACK_CONTEXT = 4096  # a smaller quant is also tried at this context


def _smaller_quant(model: Model, ctx: CheckContext, est: MemoryEstimate, budget: int) -> tuple[str, int] | None:
    """(tier, context): the highest measured tier whose scaled weights fit next to the KV cache,
    at the planned context, else at 4096 tokens."""
    from quantlint.runtime.memory import estimate_memory

    current = tier(model.quant) if model.format == "gguf" else None
    if current is None or current.size_gib_llama3_8b is None:
        return None
    for context in dict.fromkeys((est.context, min(est.context, FALLBACK_CONTEXT))):
        at = estimate_memory(model, ctx.settings.plan, context=context)
        if at is None:
            return None
        scaled = at.weights_bytes + at.component("repack") - at.reclaimable_bytes  # both follow the quant
        room = budget - (at.fit_bytes - scaled)
        for t in TIERS:
            if t.size_gib_llama3_8b is None or not is_below(t.label, current.label):
                continue
            # scale by llama.cpp's measured Llama-3-8B sizes (quantize.cpp), not nominal bpw:
            # real files carry higher-precision tensors the nominal figure leaves out
            if scaled * t.size_gib_llama3_8b / current.size_gib_llama3_8b <= room:
                return t.label, context
    return None


def _batching_remedies(model: Model, plan: RuntimePlan, est: MemoryEstimate, budget: int) -> list[str]:
    """Settings that shrink the compute buffer without giving up context: flash attention (the
    attention scores go), then a smaller micro-batch (the logits shrink with it)."""
    from quantlint.runtime.memory import estimate_memory, fmt_bytes

    out: list[str] = []
    if not est.flash_attention:
        on = estimate_memory(model, replace(plan, flash_attention=True), context=est.context)
        if on is not None and on.fit_bytes <= budget:
            out.append(f"`-fa on` (no attention-score matrix) brings it to {fmt_bytes(on.fit_bytes)}")
    current = plan.n_ubatch or DEFAULT_N_UBATCH
    for ubatch in UBATCH_STEPS:
        if ubatch >= current:
            continue
        smaller = estimate_memory(model, replace(plan, n_ubatch=ubatch), context=est.context)
        if smaller is not None and smaller.fit_bytes <= budget:
            out.append(f"`-ub {ubatch}` (the compute buffer holds n_vocab x n_ubatch f32 logits; slower prompt "
                       f"processing) brings it to {fmt_bytes(smaller.fit_bytes)}")
            break
    return out


def _remedies(model: Model, ctx: CheckContext, est: MemoryEstimate, budget: int) -> list[str]:
    from quantlint.runtime.memory import estimate_memory, fmt_bytes, largest_context

    plan = ctx.settings.plan
    out: list[str] = _batching_remedies(model, plan, est, budget)
    best_ctx = largest_context(model, plan, budget)
    if best_ctx is not None and best_ctx >= MIN_USEFUL_CONTEXT and best_ctx < est.context:
        out.append(f"`-c {best_ctx}` fits (the largest context that does)")
    if est.kv_bytes and (est.cache_type_k, est.cache_type_v) != ("q8_0", "q8_0") \
            and est.cache_type_k in ("f16", "bf16", "f32"):
        q8 = estimate_memory(model, plan, context=est.context, cache_type_k="q8_0", cache_type_v="q8_0")
        if q8 is not None and q8.fit_bytes <= budget:
            out.append(f"`--cache-type-k q8_0 --cache-type-v q8_0` (near-lossless) brings it to {fmt_bytes(q8.fit_bytes)}")
    smaller = _smaller_quant(model, ctx, est, budget)
    if smaller:
        label, context = smaller
        note = ""
        if is_below(label, ctx.settings.floor):
            note = f", below the floor {ctx.settings.floor}: a smaller model at {ctx.settings.floor} is usually the better trade"
        where = "this context" if context == est.context else f"`-c {context}`"
        out.append(f"a smaller quant of this model, about {label} at {where}{note}")
    if not out:
        out.append("a smaller model, or more memory: even the weights leave no room at a useful context")
    return out


def _part(c: Component, est: MemoryEstimate) -> str:
    from quantlint.runtime.memory import fmt_bytes

    if c.name == "KV cache":
        return f"KV cache {fmt_bytes(c.bytes)} ({est.cache_type_k}/{est.cache_type_v})"
    if c.name == "compute":
        return f"compute buffer {fmt_bytes(c.bytes)} ({c.detail.split(':')[0]})"
    return f"{c.name} {fmt_bytes(c.bytes)}"


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    plan = ctx.settings.plan
    if not plan.memory_bytes:
        return
    from quantlint.runtime.memory import estimate_memory, fmt_bytes

    budget = sum(plan.memory_bytes)
    est = estimate_memory(model, plan)
    if est is None or est.fit_bytes <= budget:
        return
    devices = f" over {len(plan.memory_bytes)} devices" if len(plan.memory_bytes) > 1 else ""
    over = est.fit_bytes - budget
    parts = " + ".join(_part(c, est) for c in est.components if c.bytes or c.name == "weights")
    if est.kv_bytes is None:
        parts += " (KV cache not estimated)"
    if est.reclaimable_bytes:
        parts += (f", less {fmt_bytes(est.reclaimable_bytes)} of mapped file pages the repacked weights "
                  "leave unused")
    message = (f"needs about {fmt_bytes(est.fit_bytes)} at {est.context_source} ({est.settings}): "
               f"{parts}; the budget is {fmt_bytes(budget)}{devices}, {fmt_bytes(over)} short. "
               f"Sources: " + "; ".join(f"{c.name}: {c.source}" for c in est.components if c.bytes))
    hint = "What would fit: " + "; or ".join(_remedies(model, ctx, est, budget)) + "."
    yield Finding(message=message, hint=hint, location=plan.source,
                  data={**est.to_dict(), "budget_bytes": budget, "over_by_bytes": over})
