"""The parts of llama.cpp's memory besides the KV cache: mapped weights, the CPU repack buffer,
the compute buffer and the output buffer. Pure functions of a Model and resolved settings.

The formulas follow what llama.cpp 0c1e57098 allocates (quantlint/facts/llamacpp_memory.py
names each source); benchmarks/memory_truth.py measures them against a real build and
docs/memory.md holds the table. In short, for a graph reserved at n_ubatch tokens:

- the **compute buffer** is the peak of the graph allocator, which reuses memory between
  layers: the largest of (a) the output step, f32 logits [n_vocab, n_ubatch] next to two
  hidden-state rows; (b) one attention step, the KQ mask(s) [n_kv, n_ubatch] (f16 with flash
  attention, f32 without), the f32 scores [n_kv, n_ubatch, n_head] when flash attention is off
  (soft_max runs in place), Q/K/V rows and three hidden-state rows; (c) one feed-forward step,
  the mask(s), two hidden-state rows and the gate/up rows [n_ff, n_ubatch] (for MoE, of the
  experts used). gguf-parser-go adds its graph/scheduler metadata (tensor overheads, a 4 MiB
  scheduler figure) on top: that is host memory outside llama.cpp's buffers, so it is left out
  here (the totals are checked against the buffers llama.cpp logs).
- the **output buffer** holds f32 logits for n_seq_max outputs (output_reserve).
- the **repack buffer** (CPU only) holds a re-laid-out copy of each weight whose type the CPU
  kernels repack; with mmap on, the mapped file still spans the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quantlint.facts.llamacpp_memory import (
    DEFAULT_CPU_CLASS,
    DEFAULT_N_BATCH,
    DEFAULT_N_UBATCH,
    FA_FORCED_OFF_ARCHS,
    GET_ROWS_TENSORS,
    N_CTX_PAD,
    REPACK_TYPES,
    SERVER_AUTO_PARALLEL,
)
from quantlint.model import Model
from quantlint.settings import RuntimePlan

F32 = 4
F16 = 2
QUANTIZED_CACHE = ("q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")


def pad(n: int, to: int = N_CTX_PAD) -> int:
    return -(-n // to) * to


@dataclass(frozen=True)
class LlamaParams:
    """The llama.cpp context parameters the buffers depend on, resolved as llama_context does."""

    n_ctx: int  # padded to 256 (and to n_seq x n_ctx_seq without a unified cache)
    n_ctx_seq: int  # cells per KV stream
    n_batch: int
    n_ubatch: int
    n_seq: int
    unified: bool
    flash_attn: bool
    flash_attn_why: str
    mmap: bool
    repack: bool
    device: str  # "cpu" | "gpu"
    cpu_class: str = DEFAULT_CPU_CLASS

    @property
    def n_stream(self) -> int:
        return 1 if self.unified else self.n_seq

    def describe(self) -> str:
        fa = "on" if self.flash_attn else "off"
        text = (f"{self.device.upper()}, flash attention {fa} ({self.flash_attn_why}), -b {self.n_batch} "
                f"-ub {self.n_ubatch}, {self.n_seq} sequence{'s' if self.n_seq != 1 else ''}")
        if self.n_seq > 1:
            text += ", unified KV" if self.unified else f", {self.n_ctx_seq} cells each"
        return text + ("" if self.mmap else ", no mmap")


def resolve_params(model: Model, plan: RuntimePlan, context: int, cache_type_v: str) -> LlamaParams:
    """llama_context's arithmetic (src/llama-context.cpp constructor) on the planned settings."""
    n_seq = max(1, plan.n_parallel or 1)
    unified = plan.kv_unified if plan.kv_unified is not None else n_seq == 1
    n_ctx = pad(max(context, 1))
    if unified:
        n_ctx_seq = n_ctx
    else:
        n_ctx_seq = pad(max(n_ctx // n_seq, 1))
        n_ctx = n_ctx_seq * n_seq
    n_batch = min(n_ctx, plan.n_batch or DEFAULT_N_BATCH)  # causal models: min(n_ctx, n_batch)
    n_ubatch = min(n_batch, plan.n_ubatch or DEFAULT_N_UBATCH)
    fa, why = _flash_attention(model, plan, cache_type_v)
    device = "gpu" if plan.gpu_layers else "cpu"
    return LlamaParams(n_ctx=n_ctx, n_ctx_seq=n_ctx_seq, n_batch=n_batch, n_ubatch=n_ubatch, n_seq=n_seq,
                       unified=unified, flash_attn=fa, flash_attn_why=why, mmap=not plan.no_mmap,
                       repack=device == "cpu" and not plan.no_repack, device=device)


def _flash_attention(model: Model, plan: RuntimePlan, cache_type_v: str) -> tuple[bool, str]:
    if plan.flash_attention is not None:
        return plan.flash_attention, "-fa " + ("on" if plan.flash_attention else "off")
    if (model.architecture or "") in FA_FORCED_OFF_ARCHS:
        return False, f"auto: llama.cpp forces it off for {model.architecture}"
    if cache_type_v in QUANTIZED_CACHE:
        return True, "auto: on, required by the quantized V cache"
    return True, "auto: on, every layer's device runs it"


# -- weights ----------------------------------------------------------------------------------
def _repack_row_multiple(tensor: Any, types: dict[str, int]) -> int | None:
    multiple = types.get(tensor.type_name)
    if multiple is None or tensor.name in GET_ROWS_TENSORS or tensor.name.endswith(GET_ROWS_TENSORS):
        return None
    dims = [d for d in tensor.shape[2:] if d != 1]
    if len(tensor.shape) < 2 or len(dims) > 1:  # 2-D (MUL_MAT) or 3-D experts (MUL_MAT_ID)
        return None
    return multiple


def repack_bytes(model: Model, cpu_class: str = DEFAULT_CPU_CLASS) -> tuple[int, int]:
    """(bytes, tensors) the CPU_REPACK buffer holds for this file on this CPU class."""
    if model.format != "gguf":
        return 0, 0
    types = REPACK_TYPES[cpu_class]
    total = count = 0
    for t in model.tensors:
        multiple = _repack_row_multiple(t, types)
        if multiple and t.nbytes and t.shape[1] % multiple == 0:
            total += t.nbytes
            count += 1
    return total, count


def mapped_span(model: Model) -> int | None:
    """The bytes a CPU_Mapped buffer spans: first tensor offset to last tensor end, per file."""
    spans: dict[str | None, list[int]] = {}
    for t in model.tensors:
        if t.offset is None or t.nbytes is None:
            return None
        lo_hi = spans.setdefault(t.file, [t.offset, t.offset + t.nbytes])
        lo_hi[0], lo_hi[1] = min(lo_hi[0], t.offset), max(lo_hi[1], t.offset + t.nbytes)
    return sum(hi - lo for lo, hi in spans.values()) if spans else None


# -- compute and output ------------------------------------------------------------------------
def hyper_int(model: Model, name: str) -> int | None:
    value = model.hyperparameters.get(name)
    if value is None and model.architecture:
        value = model.meta(f"{model.architecture}.{name}")
    if isinstance(value, list):
        ints = [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
        return max(ints) if ints else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def vocab_size(model: Model) -> int | None:
    if model.tokenizer.vocab_size:
        return model.tokenizer.vocab_size
    for t in model.tensors:
        if t.name in ("output.weight", "token_embd.weight") and len(t.shape) >= 2:
            return t.shape[1]
    return None


@dataclass(frozen=True)
class ComputeParts:
    """The three candidate peaks of the compute graph, in bytes; the buffer is the largest."""

    output_step: int
    attention_step: int
    ffn_step: int
    logits: int
    scores: int
    masks: int

    @property
    def peak(self) -> int:
        return max(self.output_step, self.attention_step, self.ffn_step)

    @property
    def dominant(self) -> str:
        if self.peak == self.output_step:
            return "output step (logits)"
        return "attention step" if self.peak == self.attention_step else "feed-forward step"


def compute_parts(model: Model, layout: Any, p: LlamaParams) -> ComputeParts | None:
    """The compute-buffer candidates; None without the shapes (embedding length) to size them."""
    n_embd = hyper_int(model, "embedding_length")
    if not n_embd:
        return None
    n_tok = p.n_ubatch
    n_vocab = vocab_size(model) or 0
    act = n_embd * n_tok * F32
    logits = n_vocab * n_tok * F32  # n_outputs = min(n_ubatch, n_outputs_max = n_batch)
    output_step = logits + 2 * act
    n_head = hyper_int(model, "attention.head_count") or 0
    masks = scores = q_rows = kv_rows = 0
    if layout is not None:
        cells_full = p.n_ctx_seq  # per stream: n_kv x (n_ubatch / n_stream) x n_stream
        cells_swa = pad(min(p.n_ctx_seq, (layout.window or 0) * (p.n_seq if p.unified else 1) + p.n_ubatch))
        mask_elt = F16 if p.flash_attn else F32
        attn = [il for il in range(layout.n_layer) if layout.kv_heads[il]]
        if any(not layout.swa[il] for il in attn):
            masks += cells_full * n_tok * mask_elt
        if any(layout.swa[il] for il in attn):
            masks += cells_swa * n_tok * mask_elt
        for il in attn:
            n_kv = cells_swa if layout.swa[il] else cells_full
            if not p.flash_attn:
                scores = max(scores, n_kv * n_tok * n_head * F32)
            q_rows = max(q_rows, n_head * layout.key_length[il] * n_tok * F32)
            kv_rows = max(kv_rows, layout.kv_heads[il] * (layout.key_length[il] + layout.value_length[il]) * n_tok * F32)
    attention_step = masks + scores + 3 * act + q_rows + kv_rows
    n_ff = hyper_int(model, "feed_forward_length") or 4 * n_embd
    if model.moe is not None:
        n_ff_exp = hyper_int(model, "expert_feed_forward_length") or n_ff
        n_ff = n_ff_exp * (model.moe.experts_used or 1)
    ffn_step = masks + 2 * act + 2 * n_ff * n_tok * F32
    return ComputeParts(output_step=output_step, attention_step=attention_step, ffn_step=ffn_step,
                        logits=logits, scores=scores, masks=masks)


def output_bytes(model: Model, p: LlamaParams) -> int:
    """output_reserve(n_seq_max): f32 logits for one output per sequence."""
    return (vocab_size(model) or 0) * p.n_seq * F32


def server_defaults(program: str) -> tuple[int, bool] | None:
    """llama-server without -np: 4 slots sharing one unified KV cache (tools/server/server.cpp)."""
    return (SERVER_AUTO_PARALLEL, True) if program == "llama-server" else None
