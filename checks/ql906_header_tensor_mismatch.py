"""A GGUF whose hyper-parameters contradict its tensor shapes: llama.cpp refuses to load it.

## What it does
For GGUF files with tensors: computes, from the header's hyper-parameters, the shape llama.cpp's
loader asks for each tensor, and compares it with the shape the file declares. Checked:
`<arch>.embedding_length` against the width of token_embd, output and every block tensor;
`attention.head_count`, `head_count_kv`, `key_length` and `value_length` against
attn_q/attn_k/attn_v/attn_qkv/attn_output; `feed_forward_length` (and
`expert_feed_forward_length`) against the FFN and expert tensors; `expert_count` against the
third dimension of the `*_exps` tensors and the router; `block_count` against the blk.N
tensors present (missing blocks, or blocks past the count); per-layer arrays against
`block_count`. The shapes come from one table (quantlint/facts/tensor_shapes.py, llama.cpp
0c1e57098) for llama, mistral3, qwen2, qwen2moe, qwen3, qwen3moe, gemma2, gemma3, phi3,
deepseek2 and gpt-oss; any other architecture gets only the block count and the
token_embd width. What llama.cpp allows is allowed: no output.weight where it falls back to
token_embd, fused attn_qkv or separate q/k/v, grouped-query attention, head sizes from
key_length (Gemma, gpt-oss), MLA in DeepSeek-V2/V3, optional biases and norms (checked only
when present). Files with sliding-window head sizes of their own (`attention.key_length_swa`)
get only the generic checks. A split set is judged as a whole. Vocabulary-only files (no
tensors) and headers without `embedding_length` or `block_count` are not judged; the
vocabulary rows belong to QL502/QL504.

## Why is this bad?
llama.cpp creates every tensor with the shape the header implies and stops at the first
that differs (src/llama-model-loader.cpp, `check_tensor_dims`): "tensor 'blk.0.attn_q.weight'
has wrong shape; expected 64, 63, got 64, 64, 1, 1", or "tensor 'blk.3.attn_norm.weight' not
found" when block_count promises a block the file lacks, or "wrong number of tensors" when the
file has blocks it never asks for. Such files come from hand-edited metadata, converters
that wrote one model's config next to another's weights, or merges and prunes that changed the
layer count without the header. The file downloads and passes every size check, then fails at
load time (or, in tools that skip the check, computes garbage).

## Example
`llama.embedding_length` 128 while token_embd and every block are 64 wide;
`llama.attention.head_count` 3 with an embedding of 64 (64 / 3 = 21-wide heads, 63 in all);
`llama.block_count` 4 with only blk.0 in the file.

## How to fix
Convert the model again with a current convert_hf_to_gguf.py from a consistent checkpoint. If
the tensors are right and one key is wrong, rewrite the key (gguf-py's
`gguf_new_metadata.py` / `gguf_set_metadata.py`) to the value the tensors imply.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from quantlint.facts.tensor_shapes import (
    EMPTY_LAYER_ARCHS,
    FIRST_LAYER_TENSOR,
    LLAMA_MAX_LAYERS,
    SWA_HEAD_KEYS,
    TENSOR_SHAPES,
    TOKEN_EMBD_NOT_N_EMBD,
    Expect,
)
from quantlint.findings import Finding
from quantlint.model import Model, TensorRecord
from quantlint.settings import CheckContext
from quantlint.shapes import HParams, read_hparams

CODE = "QL906"
NAME = "header-tensor-mismatch"
SEVERITY = "error"

BLOCK = re.compile(r"^blk\.(\d+)\.(.+)$")
HINT = ("Convert again with a current convert_hf_to_gguf.py from one consistent checkpoint; if the tensors are right "
        "and the key is wrong, rewrite the key (gguf-py's gguf_new_metadata.py) to the value the tensors imply.")


def _dims(shape: tuple[int, ...]) -> str:
    return " x ".join(str(d) for d in shape)


def _loader_shape(values: list[int | str]) -> str:
    """llama_format_tensor_shape without its %6 padding."""
    return ", ".join(str(v) for v in values)


@dataclass
class _Mismatch:
    tensor: TensorRecord
    expect: Expect
    expected: list[int | str]  # "*" for a dimension not judged here
    dim: int  # the first dimension that differs
    keys: tuple[str, ...]


@dataclass
class _Group:
    keys: tuple[str, ...]
    items: list[_Mismatch] = field(default_factory=list)


def _compare(t: TensorRecord, e: Expect, hp: HParams, layer: int | None) -> _Mismatch | None:
    expected: list[int | str] = []
    for d in e.dims:
        if d == "*":
            expected.append("*")
            continue
        value = hp.eval(d, layer)
        if value is None:
            return None  # a hyper-parameter is missing or unreadable: nothing to judge
        expected.append(value)
    actual = list(t.shape) + [1] * max(0, 4 - len(t.shape))
    for j, got in enumerate(actual):
        want = expected[j] if j < len(expected) else 1
        if want != "*" and want != got:
            keys = hp.keys_of(e.dims[j]) if j < len(e.dims) else ()
            return _Mismatch(t, e, expected, j, keys)
    return None


def _index(table: tuple[Expect, ...]) -> dict[str, list[tuple[int, Expect]]]:
    out: dict[str, list[tuple[int, Expect]]] = {}
    for n, e in enumerate(table):
        out.setdefault(e.name, []).append((n, e))
    return out


def _shape_mismatches(tensors: list[TensorRecord], table: tuple[Expect, ...], hp: HParams) -> list[tuple[tuple[int, int], _Mismatch]]:
    """Every present tensor the table knows, against its expected shape, in llama.cpp's load order."""
    index = _index(table)
    found = []
    for t in tensors:
        m = BLOCK.match(t.name)
        layer = int(m.group(1)) if m else None
        template = f"blk.{{i}}.{m.group(2)}" if m else t.name
        for order, e in index.get(template, ()):
            if e.when is not None and not hp.eval(e.when, layer):
                continue
            mismatch = _compare(t, e, hp, layer)
            if mismatch is not None:
                found.append(((-1 if layer is None else layer, order), mismatch))
            break
    found.sort(key=lambda item: item[0])
    return found


def _shape_findings(tensors: list[TensorRecord], table: tuple[Expect, ...], hp: HParams) -> Iterator[Finding]:
    groups: dict[tuple[str, ...], _Group] = {}
    for _, mismatch in _shape_mismatches(tensors, table, hp):
        groups.setdefault(mismatch.keys, _Group(mismatch.keys)).items.append(mismatch)
    for group in groups.values():
        first = group.items[0]
        t = first.tensor
        exp = first.expected
        want = [e if e != "*" else got for e, got in zip(exp, t.shape)] + exp[len(t.shape):]
        got4 = list(t.shape) + [1] * max(0, 4 - len(t.shape))
        loader = (f"check_tensor_dims: tensor '{t.name}' has wrong shape; expected {_loader_shape(want)}, "
                  f"got {_loader_shape(got4)}")
        keys = ", ".join(f"{k} = {hp.raw.get(k)}" for k in group.keys)
        keys = f" ({keys})" if keys else ""
        more = ""
        if len(group.items) > 1:
            names = list(dict.fromkeys(BLOCK.sub(r"\2", i.tensor.name) for i in group.items))
            shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
            more = f"; {len(group.items)} tensors in all ({shown})"
        expr = first.expect.dims[first.dim] if first.dim < len(first.expect.dims) else "1"
        value = want[first.dim] if first.dim < len(want) else 1
        yield Finding(
            message=(f"{t.name} is {_dims(t.shape)}, but the header{keys} makes llama.cpp ask for "
                     f"{_dims(tuple(want))} (dimension {first.dim}: {expr} = {value}){more}. "
                     f"llama.cpp stops with \"{loader}\""),
            hint=HINT, location=t.name, offset=t.info_offset,
            data={"keys": list(group.keys), "tensor": t.name, "expected": want, "got": list(t.shape),
                  "tensors": len(group.items), "loader_message": loader})


def _missing_globals(model: Model, table: tuple[Expect, ...], names: set[str]) -> Iterator[Finding]:
    for e in table:
        if e.required and "{i}" not in e.name and e.name not in names:
            loader = f"check_tensor_dims: tensor '{e.name}' not found"
            yield Finding(
                message=(f"{model.architecture} needs {e.name} (llama.cpp has no fallback for it here) and the file "
                         f"has none. llama.cpp stops with \"{loader}\""),
                hint=HINT, location=e.name, data={"tensor": e.name, "loader_message": loader})


def _ranges(numbers: list[int]) -> str:
    out, start = [], None
    for n, prev in zip(numbers, [None, *numbers]):
        if prev is None or n != prev + 1:
            if start is not None:
                out.append(str(start) if start == last else f"{start}-{last}")
            start = n
        last = n
    if start is not None:
        out.append(str(start) if start == last else f"{start}-{last}")
    return ", ".join(out)


def _block_findings(model: Model, hp: HParams, complete: bool) -> Iterator[Finding]:
    n_all, n_layer = hp.values.get("n_layer_all"), hp.values.get("n_layer")
    key = f"{hp.arch}.block_count"
    layers: dict[int, list[TensorRecord]] = {}
    for t in model.tensors:
        m = BLOCK.match(t.name)
        if m:
            layers.setdefault(int(m.group(1)), []).append(t)
    if n_all is None or n_all <= 0 or not layers:
        return  # no block_count, or an architecture without blk.N tensors (t5: enc./dec.)
    if n_all > LLAMA_MAX_LAYERS:
        loader = "GGML_ASSERT(hparams.n_layer_all > 0 && hparams.n_layer_all <= LLAMA_MAX_LAYERS) failed"
        yield Finding(
            message=(f"{key} = {n_all:,}, more than llama.cpp's {LLAMA_MAX_LAYERS} layers, while the file has "
                     f"{len(layers):,} blocks: llama.cpp aborts with \"{loader}\""),
            hint=HINT, location=key, offset=model.meta_offset(key),
            data={"key": key, "block_count": n_all, "blocks": len(layers), "loader_message": loader})
        return
    extra = sorted(i for i in layers if i >= n_all)
    if extra:
        count = sum(len(layers[i]) for i in extra)
        total = len(model.tensors)
        loader = f"done_getting_tensors: wrong number of tensors; expected {total}, got {total - count}"
        yield Finding(
            message=(f"{key} = {n_all}, but the file has tensors for block(s) {_ranges(extra)} ({count} tensors, "
                     f"e.g. {layers[extra[0]][0].name}): llama.cpp never asks for them and stops with \"{loader}\""),
            hint=HINT, location=key, offset=model.meta_offset(key),
            data={"key": key, "block_count": n_all, "extra_blocks": extra, "tensors": count, "loader_message": loader})
    if not complete or hp.arch in EMPTY_LAYER_ARCHS:
        return
    optional_from = n_layer if n_layer is not None and n_layer < n_all else n_all  # nextn (MTP) layers may be absent
    missing = [i for i in range(optional_from) if i not in layers]
    if not missing:
        return
    first = _first_tensor_name(model, hp, layers, missing[0])
    loader = f"check_tensor_dims: tensor '{first}' not found"
    present = sorted(i for i in layers if i < n_all)
    yield Finding(
        message=(f"{key} = {n_all}, but block(s) {_ranges(missing)} have no tensors (the file has block(s) "
                 f"{_ranges(present) or 'none'}): llama.cpp stops with \"{loader}\""),
        hint=HINT, location=key, offset=model.meta_offset(key),
        data={"key": key, "block_count": n_all, "missing_blocks": missing, "loader_message": loader})


def _first_tensor_name(model: Model, hp: HParams, layers: dict[int, list[TensorRecord]], i: int) -> str:
    """The name llama.cpp asks for first in block i: the table's, else the first of a present block."""
    if hp.arch in TENSOR_SHAPES:
        return FIRST_LAYER_TENSOR.format(i=i)
    sample = layers[min(layers)][0].name
    return BLOCK.sub(lambda m: f"blk.{i}.{m.group(2)}", sample)


def _array_findings(model: Model, hp: HParams) -> Iterator[Finding]:
    n_all = hp.values.get("n_layer_all")
    if n_all is None:
        return
    for key, count in hp.arrays.items():
        if count != n_all:
            loader = f"key {key} has wrong array length; expected {n_all}, got {count}"
            yield Finding(
                message=(f"{key} is a per-layer array of {count} values, but {hp.arch}.block_count = {n_all}: "
                         f"llama.cpp stops with \"{loader}\""),
                hint=HINT, location=key, offset=model.meta_offset(key),
                data={"key": key, "block_count": n_all, "length": count, "loader_message": loader})


def _generic_findings(model: Model, hp: HParams) -> Iterator[Finding]:
    """An architecture without a table: only token_embd's width against embedding_length."""
    if hp.arch in TOKEN_EMBD_NOT_N_EMBD:
        return
    token_embd = next((t for t in model.tensors if t.name == "token_embd.weight"), None)
    if token_embd is not None:
        yield from _shape_findings([token_embd], (Expect("token_embd.weight", ("n_embd", "*")),), hp)


def _tensor_list_complete(model: Model) -> bool:
    """False when the header walk stopped early or a split set is incomplete: absence proves nothing then."""
    if model.file is None or model.file.header_bytes is None:
        return False
    split = model.file.split or {}
    count, total = split.get("split.count"), split.get("split.tensors.count")
    if isinstance(count, int) and count > 1 and total != len(model.tensors):
        return False  # one shard on its own (renamed, or a set read partially): the rest is elsewhere
    return not any(p.kind == "split" or p.details.get("in_header") for p in model.problems)


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    if model.format != "gguf" or not model.tensors or not model.readable or not model.architecture:
        return  # vocab-only files (no tensors) and unreadable headers are not judged
    hp = read_hparams(model)
    if hp.values.get("n_embd") is None or hp.values.get("n_layer_all") is None:
        return  # no embedding_length/block_count: llama.cpp stops at "key not found", not at a shape
    complete = _tensor_list_complete(model)
    yield from _array_findings(model, hp)
    yield from _block_findings(model, hp, complete)
    table = TENSOR_SHAPES.get(model.architecture)
    if any(f"{hp.arch}.{k}" in model.metadata for k in SWA_HEAD_KEYS):
        table = None  # per-layer head sizes this table does not model
    if table is None:
        yield from _generic_findings(model, hp)
        return
    yield from _shape_findings(model.tensors, table, hp)
    if complete:
        yield from _missing_globals(model, table, {t.name for t in model.tensors})
