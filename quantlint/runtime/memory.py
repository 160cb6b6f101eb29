"""A pure memory estimate of what llama.cpp allocates, component by component, from a Model and a
RuntimePlan.

No I/O: checks (QL202), `inspect` and `pick` call it on a Model that a reader already built.
The components are the buffers llama.cpp itself logs at load (`-lv 4`): the mapped weights,
the CPU repack buffer, the KV cache, the compute buffer and the output buffer. Each carries
its bytes and where its formula comes from (quantlint/facts/llamacpp_memory.py SOURCES).
benchmarks/memory_truth.py checks the total against a real llama.cpp build (docs/memory.md).

- **Weights**: the sum of the tensor sizes the header declares (for a GGUF, the span of the
  tensor data that llama.cpp maps; for a Hugging Face folder the safetensors byte sizes).
  Mixture-of-Experts models count every expert: llama.cpp loads them all.
- **Repack** (CPU only, quantlint/runtime/components.py): Q4_0/Q4_K/IQ4_NL/MXFP4 weights are
  copied into a CPU_REPACK buffer laid out for the CPU kernels.
- **KV cache**: for each layer, cells x kv heads x head dim x bytes per element, K and V
  separately, each with its own cache type (q8_0 is 34 bytes per 32 values, q4_0 18 per 32:
  the GGML type table in quantlint/facts/ggml_types.py). Per-layer head counts
  (`head_count_kv` as an array; 0 means a layer without attention, as in hybrid models) are
  honoured. llama.cpp pads the cache to 256 cells.
- **Sliding-window layers**: llama.cpp (src/llama-kv-cache-iswa.cpp) gives SWA layers their
  own cache of min(context, window x n_seq + n_ubatch) cells, padded to 256 (n_seq only with a
  unified cache; otherwise each sequence's stream gets min(n_ctx_seq, window + n_ubatch)),
  unless `--swa-full`. Which layers slide follows each architecture's loader in
  src/llama-model.cpp (`set_swa_pattern`), listed in SWA_ARCHS, or the file's own
  `{arch}.attention.sliding_window_pattern` (a period, or one flag per layer). A
  `sliding_window` key on any other architecture (Mistral-style files) is ignored, as
  llama.cpp ignores it: every layer keeps the full context. The full-attention figure (every
  layer at the full context, the usual hand computation) is reported next to the SWA-aware one.
- **Compute and output buffers**: quantlint/runtime/components.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quantlint.facts.llamacpp_memory import LLAMA_CPP_COMMIT, SOURCES
from quantlint.model import Model
from quantlint.runtime.attention import (  # noqa: F401  (re-exported: the KV cache's public names)
    CELL_PADDING,
    DEFAULT_CACHE_TYPE,
    DEFAULT_UBATCH,
    MAX_LAYERS,
    SWA_ARCHS,
    AttentionLayout,
    _pad,
    attention_layout,
    cache_type_block,
    kv_cache_bytes,
    row_bytes,
)
from quantlint.settings import RuntimePlan

MIB = 1024 ** 2
GIB = 1024 ** 3
OLLAMA_DEFAULT_CTX = 4096  # Ollama's documented default num_ctx (older releases: 2048)
FALLBACK_CTX = 4096  # llama.cpp's default -c before "0 = from the model"

LEAVES_OUT: tuple[str, ...] = (
    "the GPU runtime's own context (CUDA/ROCm/Metal: typically 0.3-1 GiB per device)",
    "a vision projector (mmproj) or draft model loaded next to the model",
    "how a partial -ngl / --n-cpu-moe splits weights and cache between GPU and system RAM",
    "ggml-cpu's per-thread work buffer and the graph/scheduler metadata (host memory, not in llama.cpp's buffer logs)",
    "memory other programs (a desktop, a browser) already hold on the GPU",
    "fragmentation when layers are split across several devices",
)


@dataclass(frozen=True)
class Component:
    """One buffer llama.cpp allocates: its name, size, and where the formula comes from."""

    name: str
    bytes: int
    source: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.bytes, "source": self.source, "detail": self.detail}


@dataclass
class MemoryEstimate:
    context: int
    context_source: str
    cache_type_k: str
    cache_type_v: str
    weights_bytes: int
    weights_source: str
    kv_bytes: int | None  # what the runtime allocates (SWA-aware)
    kv_k_bytes: int | None
    kv_v_bytes: int | None
    kv_full_bytes: int | None  # every layer at the full context (the hand computation)
    components: list[Component] = field(default_factory=list)  # every buffer, KV included
    settings: str = ""  # the llama.cpp settings the buffers were sized for
    device: str = "cpu"
    flash_attention: bool = True
    reclaimable_bytes: int = 0  # mapped file pages of repacked tensors: read once, then droppable
    swa_layers: int = 0
    window: int | None = None
    notes: list[str] = field(default_factory=list)
    leaves_out: tuple[str, ...] = LEAVES_OUT

    @property
    def total_bytes(self) -> int:
        """The sum of llama.cpp's buffers, as its load log prints them."""
        return sum(c.bytes for c in self.components)

    @property
    def fit_bytes(self) -> int:
        """What must fit the budget: the buffers less the mapped pages of repacked weights, which
        llama.cpp reads once to repack and never touches again (clean file pages the OS drops)."""
        return self.total_bytes - self.reclaimable_bytes

    @property
    def overhead_bytes(self) -> int:
        """Everything but the weights and the KV cache: repack, compute and output buffers."""
        return self.total_bytes - self.weights_bytes - (self.kv_bytes or 0)

    def component(self, name: str) -> int:
        return sum(c.bytes for c in self.components if c.name == name)

    def summary(self) -> str:
        """'weights 235.2 MiB + repack 12.7 MiB + ...' for a message."""
        return " + ".join(f"{c.name} {fmt_bytes(c.bytes)}" for c in self.components if c.bytes or c.name == "weights")

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.context, "context_source": self.context_source,
            "cache_type_k": self.cache_type_k, "cache_type_v": self.cache_type_v,
            "weights_bytes": self.weights_bytes, "kv_bytes": self.kv_bytes,
            "kv_full_attention_bytes": self.kv_full_bytes, "overhead_bytes": self.overhead_bytes,
            "total_bytes": self.total_bytes, "fit_bytes": self.fit_bytes,
            "reclaimable_bytes": self.reclaimable_bytes, "swa_layers": self.swa_layers, "window": self.window,
            "device": self.device, "flash_attention": self.flash_attention, "settings": self.settings,
            "llama_cpp": LLAMA_CPP_COMMIT, "components": [c.to_dict() for c in self.components],
        }


def fmt_bytes(n: int | float) -> str:
    """1.23 GiB / 144.0 MiB: two figures a person compares with a card's size."""
    if abs(n) >= GIB:
        return f"{n / GIB:.2f} GiB"
    return f"{n / MIB:.1f} MiB"


# -- weights and context -------------------------------------------------------------------------
def weight_bytes(model: Model) -> tuple[int | None, str]:
    sizes = [t.nbytes for t in model.tensors if t.nbytes is not None]
    if model.tensors and len(sizes) == len(model.tensors):
        where = "header" if model.format == "gguf" else "safetensors headers"
        return sum(sizes), f"the tensor sizes the {where} declare"
    if model.format == "gguf" and model.file is not None and model.file.size:
        return model.file.size, "file size (some tensor types unknown)"
    if model.parameters and model.bits_per_weight_file:
        return int(model.parameters * model.bits_per_weight_file / 8), "parameters x bits per weight"
    if sizes:
        return sum(sizes), "tensors of known size only"
    return None, "unknown"


def effective_context(model: Model, plan: RuntimePlan) -> tuple[int, str]:
    """The context the runtime would allocate, and why.

    -c N wins. Without it, recent llama.cpp (common.h: n_ctx = 0, "0 == context the model was
    trained with") allocates the model's training context, and -c 0 asks for the same; Ollama
    uses num_ctx / OLLAMA_CONTEXT_LENGTH, else its default of 4096."""
    if plan.ctx_size and plan.ctx_size > 0:
        return plan.ctx_size, f"context {plan.ctx_size} ({plan.source or 'planned'})"
    if plan.runtime == "ollama":
        return OLLAMA_DEFAULT_CTX, f"context {OLLAMA_DEFAULT_CTX} (Ollama's default num_ctx)"
    if model.context_length and model.format != "gguf":
        return model.context_length, f"context {model.context_length}, the model's own (most runtimes' default)"
    if model.context_length:
        return model.context_length, (f"context {model.context_length}, the model's training context "
                                      "(llama.cpp's default when -c is not given, or -c 0)")
    return FALLBACK_CTX, f"context {FALLBACK_CTX} (assumed: the model states no context length)"


def estimate_memory(model: Model, plan: RuntimePlan | None = None, *, context: int | None = None,
                    cache_type_k: str | None = None, cache_type_v: str | None = None,
                    unknown_weights: bool = False) -> MemoryEstimate | None:
    """Every buffer llama.cpp allocates for this model and plan, or None when the weights' size
    cannot be known (unknown_weights=True: the other buffers anyway, weights counted as 0, for
    `inspect`; a budget check must not use such a total)."""
    from quantlint.runtime.components import mapped_span, output_bytes, repack_bytes, resolve_params

    plan = plan or RuntimePlan()
    weights, weights_source = weight_bytes(model)
    if weights is None:
        if not unknown_weights:
            return None
        weights, weights_source = 0, "unknown: no tensor sizes or parameter count were read"
    if context is not None:
        ctx, ctx_source = context, f"context {context}"
    else:
        ctx, ctx_source = effective_context(model, plan)
    tk = (cache_type_k or plan.cache_type_k or DEFAULT_CACHE_TYPE).lower()
    tv = (cache_type_v or plan.cache_type_v or DEFAULT_CACHE_TYPE).lower()
    p = resolve_params(model, plan, ctx, tv)
    est = MemoryEstimate(context=ctx, context_source=ctx_source, cache_type_k=tk, cache_type_v=tv,
                         weights_bytes=weights, weights_source=weights_source, kv_bytes=None,
                         kv_k_bytes=None, kv_v_bytes=None, kv_full_bytes=None, settings=p.describe(),
                         device=p.device, flash_attention=p.flash_attn)
    repack, n_repacked = repack_bytes(model, p.cpu_class) if p.repack else (0, 0)
    span = mapped_span(model) if model.format == "gguf" else None
    if p.mmap:
        mapped = span if span is not None else weights
        est.reclaimable_bytes = repack
        detail = f"mapped, {weights_source}"
        if repack:
            detail += f"; {fmt_bytes(repack)} of it are the repacked tensors' file pages, droppable after load"
        est.components.append(Component("weights", mapped, SOURCES["weights"], detail))
    else:
        est.components.append(Component("weights", weights - repack, SOURCES["weights"],
                                        f"read into RAM (no mmap), less the {fmt_bytes(repack)} repacked"))
    est.weights_bytes = est.components[0].bytes
    if p.device == "cpu":
        est.components.append(Component("repack", repack, SOURCES["repack"],
                                        f"{n_repacked} tensors of {', '.join(_repack_types(p.cpu_class))} "
                                        f"on {p.cpu_class}"))
    layout, why = attention_layout(model)
    if layout is None:
        est.notes.append(f"KV cache not estimated: {why}")
    else:
        kw = {"n_ubatch": p.n_ubatch, "n_seq": p.n_seq, "unified": p.unified}
        k, v = kv_cache_bytes(layout, ctx, tk, tv, **kw)
        fk, fv = kv_cache_bytes(layout, ctx, tk, tv, sliding=False, **kw)
        est.kv_k_bytes, est.kv_v_bytes, est.kv_bytes, est.kv_full_bytes = k, v, k + v, fk + fv
        est.components.append(Component("KV cache", k + v, SOURCES["kv"], f"K {fmt_bytes(k)} {tk}, V {fmt_bytes(v)} {tv}"))
        est.window = layout.window
        est.swa_layers = sum(1 for il, f in enumerate(layout.swa) if f and layout.kv_heads[il])
        est.notes.extend(layout.notes)
        if est.swa_layers:
            est.notes.append(f"{est.swa_layers} of {layout.n_layer} layers slide over a {layout.window}-token window "
                             f"({layout.swa_rule}); with --swa-full the cache is {fmt_bytes(fk + fv)}")
    _add_compute(est, model, layout, p)
    est.components.append(Component("output", output_bytes(model, p), SOURCES["output"],
                                     f"{p.n_seq} sequence{'s' if p.n_seq != 1 else ''}"))
    if not p.flash_attn and tv not in ("f32", "f16", "bf16"):
        est.notes.append(f"llama.cpp refuses a {tv} V cache with flash attention off "
                         "(\"quantized V cache requires flash_attn\")")
    if model.moe is not None:
        est.notes.append(f"Mixture of Experts: all {model.moe.experts} experts are resident in the weights "
                         f"(only {model.moe.experts_used or '?'} are read per token); the KV cache is unaffected")
    return est


def _repack_types(cpu_class: str) -> list[str]:
    from quantlint.facts.llamacpp_memory import REPACK_TYPES

    return list(REPACK_TYPES[cpu_class])


def _add_compute(est: MemoryEstimate, model: Model, layout: AttentionLayout | None, p: Any) -> None:
    from quantlint.runtime.components import compute_parts

    parts = compute_parts(model, layout, p)
    if parts is None:
        est.notes.append("compute buffer not estimated: the model states no embedding_length")
        return
    detail = (f"peak at the {parts.dominant}: logits {fmt_bytes(parts.logits)}"
              + (f", attention scores {fmt_bytes(parts.scores)}" if parts.scores else "")
              + f", KQ mask {fmt_bytes(parts.masks)}; n_ubatch {p.n_ubatch}")
    est.components.append(Component("compute", parts.peak, SOURCES["compute"], detail))
    if p.device == "gpu":
        from quantlint.runtime.components import F32, hyper_int

        host = (hyper_int(model, "embedding_length") or 0) * p.n_ubatch * F32
        est.components.append(Component("host compute", host, SOURCES["host compute"], "system RAM"))


def largest_context(model: Model, plan: RuntimePlan, budget: int, *, upper: int | None = None) -> int | None:
    """The largest context (a multiple of 256) whose estimate fits `budget`, or None if none does."""
    def fits(ctx: int) -> bool:
        est = estimate_memory(model, plan, context=ctx)
        return est is not None and est.fit_bytes <= budget

    top = upper or max(model.context_length or 0, plan.ctx_size or 0, FALLBACK_CTX)
    lo, hi = 1, _pad(top) // CELL_PADDING
    if not fits(lo * CELL_PADDING):
        return None
    while lo < hi:  # the estimate grows with the context: binary search over 256-cell steps
        mid = (lo + hi + 1) // 2
        if fits(mid * CELL_PADDING):
            lo = mid
        else:
            hi = mid - 1
    return lo * CELL_PADDING


def memory_rows(model: Model, plan: RuntimePlan | None = None) -> list[tuple[str, str]]:
    """`inspect`'s memory section: each buffer with its source at 4096 tokens, then the total at
    4096 tokens and at the training context (f16 cache, llama.cpp's defaults unless `plan` says)."""
    if not model.readable:
        return []
    plan = plan or RuntimePlan()
    contexts = sorted({plan.ctx_size or FALLBACK_CTX, model.context_length or FALLBACK_CTX})
    estimates = [e for e in (estimate_memory(model, plan, context=c, unknown_weights=True) for c in contexts)
                 if e is not None]
    if not estimates:
        return []
    first = estimates[0]
    rows = [("settings", f"{first.settings}; llama.cpp {LLAMA_CPP_COMMIT}")]
    for c in first.components:
        rows.append((f"{c.name} @ {first.context}", f"{fmt_bytes(c.bytes)}  ({c.detail}) from {c.source}"))
    for est in estimates:
        label = f"at {est.context} tokens" + (" (training context)" if est.context == model.context_length else "")
        if est.weights_source.startswith("unknown"):
            label += " (weights unknown, not counted)"
        if est.kv_bytes is not None:
            kv = f"KV {fmt_bytes(est.kv_bytes)} {est.cache_type_k}"
            if est.kv_full_bytes != est.kv_bytes:
                kv += f" (every layer at full context: {fmt_bytes(est.kv_full_bytes or 0)})"
            q8 = estimate_memory(model, plan, context=est.context, cache_type_k="q8_0", cache_type_v="q8_0")
            if q8 is not None and q8.kv_bytes is not None:
                kv += f", q8_0 {fmt_bytes(q8.kv_bytes)}"
            rows.append((label, f"total {fmt_bytes(est.total_bytes)}; {kv}; compute {fmt_bytes(est.component('compute'))}"))
        else:
            rows.append((label, f"total {fmt_bytes(est.total_bytes)} without the KV cache"))
    rows.extend(("memory note", note) for note in first.notes)
    rows.append(("leaves out", "; ".join(first.leaves_out)))
    return rows
