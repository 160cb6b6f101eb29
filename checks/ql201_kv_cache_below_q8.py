"""The planned KV cache is quantized below q8_0 for a context of 4096 tokens or more.

## What it does
Reads the planned cache types (`-ctk/--cache-type-k`, `-ctv/--cache-type-v`, a launch command
read by `quantlint launch`, or Ollama's `OLLAMA_KV_CACHE_TYPE`) and reports a type below q8_0
(q4_0, q4_1, iq4_nl, q5_0, q5_1) when the context is 4096 tokens or more. The context is the
planned one (`-c`, `num_ctx`, `OLLAMA_CONTEXT_LENGTH`); without one, the runtime's default:
recent llama.cpp allocates the model's training context (common.h `n_ctx = 0`, "0 == context
the model was trained with"; older builds used 4096), Ollama 4096. **Warning** when the K cache
is below q8_0; **info** when only the V cache is, because V is the less sensitive half.
Nothing is reported when no cache type is planned: both default to f16.

## Why is this bad?
The seed: "A KV cache quantized to Q4 hurts long-context coherence more than weight
quantization does: use F16 or Q8 KV." The measurements (../shared/reference/quality-evidence.md
§2): q8_0 K+V is near-lossless (KLD about 0.001 on a Llama-3-8B-class model, llama.cpp PR
#7412, below the cost of q8_0 *weights*); q4_0 K costs +1.9 % perplexity on LLaMA-2-7B at a
512-token context (PR #6183) and +11.3 % on Qwen3-30B-A3B (ik_llama.cpp PR #1034). V matters
less than K. The evidence is weaker than the folklore in one place: that the loss *grows with
context* is stated by llama.cpp's and Ollama's authors ("may be more noticeable at higher
context sizes") but no controlled long-context figure for llama.cpp q4_0 was found, so the
rule says "expected to grow", not by how much. Newer llama.cpp builds rotate K and V before
quantizing (PR #21038), which narrows the short-context gap to about 1 %.

## Example
`quantlint -c 32768 -ctk q4_0 -ctv q4_0 model.gguf`, or
`quantlint launch -- llama-server -m model.gguf -c 32768 --cache-type-k q4_0`.

## How to fix
Use `--cache-type-k q8_0 --cache-type-v q8_0` (Ollama: `OLLAMA_KV_CACHE_TYPE=q8_0`): half the
memory of f16 at almost no cost. If memory is why q4_0 was chosen, a shorter context or a
smaller weight quant costs less quality; `quantlint pick DIR --memory 24GiB --ctx N` shows what
fits.

## Options
`min_context` (default 4096): the smallest context the rule applies to.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL201"
NAME = "kv-cache-below-q8"
SEVERITY = "warning"
OPTIONS = {"min_context": 4096}

# llama.cpp's cache types below q8_0 (common/arg.cpp kv_cache_types, gguf-facts.md §9.4)
BELOW_Q8 = frozenset({"q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"})


def _memory_note(model: Model, ctx: CheckContext, context: int) -> str:
    from quantlint.runtime.memory import estimate_memory, fmt_bytes

    plan = ctx.settings.plan
    now = estimate_memory(model, plan, context=context)
    q8 = estimate_memory(model, plan, context=context, cache_type_k="q8_0", cache_type_v="q8_0")
    if now is None or q8 is None or now.kv_bytes is None or q8.kv_bytes is None:
        return ""
    return f": the KV cache at this context is {fmt_bytes(q8.kv_bytes)} at q8_0, against {fmt_bytes(now.kv_bytes)} as planned"


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    plan = ctx.settings.plan
    k = (plan.cache_type_k or "f16").lower()
    v = (plan.cache_type_v or "f16").lower()
    low = [name for name, t in (("K", k), ("V", v)) if t in BELOW_Q8]
    if not low:
        return
    # Imported here, past the common case (no cache type below q8_0 planned): start-up time.
    from quantlint.runtime.memory import effective_context

    context, context_source = effective_context(model, plan)
    if context < int(ctx.options.get("min_context", 4096)):
        return
    severity = "warning" if "K" in low else "info"
    which = " and ".join(f"{half} cache {t}" for half, t in (("K", k), ("V", v)) if half in low)
    message = (f"{which} with {context_source}: below q8_0 the cache costs quality "
               "(q4_0 K: +1.9 % perplexity on LLaMA-2-7B, +11.3 % on Qwen3-30B-A3B), a loss expected to grow "
               "with context; q8_0 is near-lossless")
    if "K" not in low:
        message += " (V is the less sensitive half)"
    if plan.runtime == "ollama":
        fix = "Set OLLAMA_KV_CACHE_TYPE=q8_0 (or f16)"
    else:
        fix = "Use `--cache-type-k q8_0 --cache-type-v q8_0` instead"
    hint = fix + _memory_note(model, ctx, context) + "."
    if "V" in low and plan.flash_attention is False and plan.runtime != "ollama":
        hint += " llama.cpp also refuses a quantized V cache without flash attention (-fa)."
    yield Finding(
        message=message, hint=hint, location=plan.source, severity=severity,
        data={"cache_type_k": k, "cache_type_v": v, "context": context, "below_q8": low},
    )
