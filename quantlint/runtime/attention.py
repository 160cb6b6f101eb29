"""The attention layout of a model and the KV cache llama.cpp allocates for it (exact).

Per-layer KV head counts and head sizes, which layers keep only a sliding window (SWA_ARCHS,
or the file's own pattern), and kv_cache_bytes: cells x kv heads x head dim x bytes per
element, K and V at their own cache types, padded to 256 cells, with llama.cpp's separate
sliding-window cache (src/llama-kv-cache-iswa.cpp) and per-sequence streams
(src/llama-kv-cache.cpp). Checked exact against llama.cpp 0c1e57098 (docs/memory.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quantlint.config import KV_CACHE_TYPES
from quantlint.facts.ggml_types import GGML_TYPES
from quantlint.facts.llamacpp_memory import DEFAULT_N_UBATCH, N_CTX_PAD
from quantlint.model import Model

CELL_PADDING = N_CTX_PAD  # llama.cpp pads KV caches (and the SWA cache) to 256 cells
DEFAULT_UBATCH = DEFAULT_N_UBATCH  # llama.cpp common.h n_ubatch
MAX_LAYERS = 512  # llama.cpp src/llama-hparams.h LLAMA_MAX_LAYERS
DEFAULT_CACHE_TYPE = "f16"  # common.h: cache_type_k = cache_type_v = f16

# general.architecture -> (period, dense_first, default window or None, needs a window key)
# from llama.cpp src/llama-model.cpp load_hparams: set_swa_pattern(period) marks layer il as
# sliding when il % period < period - 1 (so gemma3 is 5 local : 1 global, layers 5, 11, 17...
# global). gemma2 falls back to a 4096 window; llama4 uses chunked attention of 8192 tokens
# on 3 of 4 layers; gpt-oss slides on every other layer.
SWA_ARCHS: dict[str, tuple[int, bool, int | None, bool]] = {
    "gemma2": (2, False, 4096, False),
    "gemma3": (6, False, None, True),
    "gemma-embedding": (6, False, None, True),
    "cohere2": (4, False, None, True),
    "gpt-oss": (2, False, None, True),
    "llama4": (4, False, 8192, False),
}


@dataclass(frozen=True)
class AttentionLayout:
    n_layer: int
    kv_heads: tuple[int, ...]  # per layer; 0 = no attention in that layer (recurrent blocks)
    key_length: tuple[int, ...]  # per layer
    value_length: tuple[int, ...]
    swa: tuple[bool, ...]  # per layer: True when the layer keeps only the sliding window
    window: int | None
    swa_rule: str | None  # where the SWA layout came from
    notes: tuple[str, ...] = ()


# -- cache types -------------------------------------------------------------------------------
def cache_type_block(cache_type: str) -> tuple[int, int]:
    """(values per block, bytes per block) for a llama.cpp cache type name (q8_0 -> (32, 34))."""
    wanted = cache_type.strip().upper()
    for name, block, size in GGML_TYPES.values():
        if name == wanted:
            return block, size
    raise ValueError(f"unknown cache type {cache_type!r}; llama.cpp accepts {', '.join(KV_CACHE_TYPES)}")


def row_bytes(cache_type: str, n_values: int) -> int:
    block, size = cache_type_block(cache_type)
    return -(-n_values // block) * size


def _pad(n: int, to: int = CELL_PADDING) -> int:
    return -(-n // to) * to


# -- the model's attention layout ---------------------------------------------------------------
def _hyper(model: Model, name: str) -> Any:
    if name in model.hyperparameters:
        return model.hyperparameters[name]
    return model.meta(f"{model.architecture}.{name}") if model.architecture else None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _per_layer(value: Any, n_layer: int, what: str, notes: list[str]) -> list[int] | None:
    if value is None:
        return None
    if isinstance(value, list):
        ints = [_as_int(v) for v in value]
        if not ints or any(v is None or v < 0 for v in ints):
            return None
        if len(ints) == n_layer:
            return [int(v) for v in ints]  # type: ignore[arg-type]
        notes.append(f"{what} has {len(ints)} entries for {n_layer} layers: the largest is used for every layer")
        return [max(ints)] * n_layer  # type: ignore[type-var]
    single = _as_int(value)
    return None if single is None or single < 0 else [single] * n_layer


def _swa_flags(model: Model, n_layer: int, window: int | None) -> tuple[list[bool], str | None, int | None]:
    arch = model.architecture or ""
    entry = SWA_ARCHS.get(arch)
    if window is None and entry is not None:
        window = entry[2]
    if not window:
        return [False] * n_layer, None, None
    pattern = _hyper(model, "attention.sliding_window_pattern")
    if isinstance(pattern, list) and len(pattern) == n_layer:
        return [bool(v) for v in pattern], f"{arch}.attention.sliding_window_pattern (one flag per layer)", window
    period, dense_first = (entry[0], entry[1]) if entry else (None, False)
    source = f"llama.cpp's {arch} loader (set_swa_pattern({period}))" if entry else None
    if _as_int(pattern) is not None:
        period, source = _as_int(pattern), f"{arch}.attention.sliding_window_pattern = {pattern}"
    if period is None:
        return [False] * n_layer, None, None
    if dense_first:
        flags = [period == 0 or il % period != 0 for il in range(n_layer)]
    else:
        flags = [period == 0 or il % period < period - 1 for il in range(n_layer)]
    return flags, source, window


def attention_layout(model: Model) -> tuple[AttentionLayout | None, str]:
    """The per-layer attention shape, or None and the reason it cannot be known."""
    notes: list[str] = []
    n_layer = _as_int(_hyper(model, "block_count"))
    if not n_layer or n_layer <= 0:
        return None, "the model states no layer count (block_count)"
    if n_layer > MAX_LAYERS:  # also keeps a hostile header from costing time or memory here
        return None, f"block_count {n_layer} is more than llama.cpp loads ({MAX_LAYERS})"
    heads = _per_layer(_hyper(model, "attention.head_count"), n_layer, "head_count", notes)
    if not heads or not any(heads):
        return None, "the model states no attention head count (recurrent models keep no KV cache)"
    kv_heads = _per_layer(_hyper(model, "attention.head_count_kv"), n_layer, "head_count_kv", notes) or list(heads)
    n_embd = _as_int(_hyper(model, "embedding_length"))
    first_heads = next(h for h in heads if h)
    default_dim = n_embd // first_heads if n_embd else None
    k_len = _as_int(_hyper(model, "attention.key_length")) or default_dim
    v_len = _as_int(_hyper(model, "attention.value_length")) or default_dim
    if not k_len or not v_len:
        return None, "the model states neither key_length nor embedding_length"
    declared_window = _as_int(_hyper(model, "attention.sliding_window"))
    flags, rule, window = _swa_flags(model, n_layer, declared_window)
    if declared_window and rule is None:
        notes.append(f"sliding_window = {declared_window} is set, but llama.cpp applies no sliding window to "
                     f"{model.architecture}: every layer keeps the full context")
    # Some architectures (gemma4) give SWA layers their own head size.
    k_swa = _as_int(_hyper(model, "attention.key_length_swa")) or k_len
    v_swa = _as_int(_hyper(model, "attention.value_length_swa")) or v_len
    return AttentionLayout(
        n_layer=n_layer, kv_heads=tuple(kv_heads),
        key_length=tuple(k_swa if f else k_len for f in flags),
        value_length=tuple(v_swa if f else v_len for f in flags),
        swa=tuple(flags), window=window, swa_rule=rule, notes=tuple(notes),
    ), ""


def kv_cache_bytes(layout: AttentionLayout, context: int, cache_type_k: str = DEFAULT_CACHE_TYPE,
                   cache_type_v: str = DEFAULT_CACHE_TYPE, *, sliding: bool = True,
                   n_ubatch: int = DEFAULT_UBATCH, n_seq: int = 1, unified: bool = True) -> tuple[int, int]:
    """(K bytes, V bytes) of the cache at `context` tokens. sliding=False keeps every layer at
    the full context (what --swa-full does, and what a hand computation assumes). Without a
    unified cache each of the n_seq sequences gets its own stream of context / n_seq cells
    (llama-context.cpp n_ctx_seq), and its own sliding-window cache."""
    streams = 1 if unified else max(n_seq, 1)
    cells_seq = _pad(max(context, 1)) if streams == 1 else _pad(max(_pad(max(context, 1)) // streams, 1))
    cells_swa = cells_seq
    if sliding and layout.window:
        window_cells = layout.window * (max(n_seq, 1) if streams == 1 else 1) + n_ubatch
        cells_swa = _pad(min(cells_seq, window_cells))
    k_total = v_total = 0
    for il in range(layout.n_layer):
        heads = layout.kv_heads[il]
        if heads == 0:
            continue
        cells = (cells_swa if layout.swa[il] else cells_seq) * streams
        k_total += cells * row_bytes(cache_type_k, heads * layout.key_length[il])
        v_total += cells * row_bytes(cache_type_v, heads * layout.value_length[il])
    return k_total, v_total
