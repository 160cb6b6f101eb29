"""Bits per weight measured from safetensors header shapes and byte counts (never the data).

Tensors are grouped into modules (`model.layers.0.self_attn.q_proj` + `.qweight`, `.scales`...).
Each quantized module's unpacked element count (in x out) comes from the layout its writer
uses (formats.md: EXL2 §1.3-1.4, EXL3 §2.3, AWQ §3.1, GPTQ §4.1, compressed-tensors §5.1, bnb
§5.2, HQQ §5.4, FP8 §5.5, MLX §5.6), and its storage bytes are the byte sum of every tensor
the format stores for it except the bias: for EXL2 this is exactly the converter's own
`QParams.total_bits`. bpw = 8 x bytes / elements.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from quantlint.facts.hf_formats import FLOAT_DTYPES
from quantlint.model import TensorRecord

DECODER = re.compile(r"(?:^|\.)(?:layers|h|blocks|block|layer)\.\d+\.")
EXPERT = re.compile(r"\.(?:experts|switch_mlp)\.")
# Multi-part suffixes (bitsandbytes) must be matched before the last dotted component.
LONG_SUFFIXES = ("weight.absmax", "weight.quant_map", "weight.nested_absmax", "weight.nested_quant_map",
                 "weight.quant_state.bitsandbytes__nf4", "weight.quant_state.bitsandbytes__fp4")
NOT_STORAGE = {"bias", "input_scale", "input_global_scale", "input_zero_point", "output_scale", "k_scale", "v_scale"}


@dataclass
class LinearStats:
    module: str
    kind: str  # exl2, exl3, gptq, awq, ct-pack, ct-float, fp8, bnb4, bnb8, hqq, mxfp4, mlx, plain
    numel: int  # unpacked weight elements (in x out, experts included for fused tensors)
    storage_bytes: int
    bits: float | None = None  # packed bit width measured from shapes, when the layout shows it

    @property
    def bpw(self) -> float:
        return self.storage_bytes * 8 / self.numel if self.numel else 0.0


@dataclass
class Measurement:
    linears: list[LinearStats] = field(default_factory=list)
    parameters: int = 0
    total_bytes: int = 0

    def _bpw(self, items: list[LinearStats]) -> float | None:
        numel = sum(s.numel for s in items)
        return sum(s.storage_bytes for s in items) * 8 / numel if numel else None

    def decoder(self) -> list[LinearStats]:
        return [s for s in self.linears if DECODER.search(s.module)]

    def bits_per_weight(self) -> float | None:
        return self._bpw(self.decoder())

    def experts(self) -> list[LinearStats]:
        return [s for s in self.decoder() if EXPERT.search(s.module + ".")]

    def expert_bpw(self) -> float | None:
        return self._bpw(self.experts())

    def always_active_bpw(self) -> float | None:
        return self._bpw([s for s in self.decoder() if not EXPERT.search(s.module + ".")])

    def file_bpw(self) -> float | None:
        return self.total_bytes * 8 / self.parameters if self.parameters else None

    def packed_bits(self) -> float | None:
        """The bit width holding most quantized decoder elements (dynamic overrides aside)."""
        counts: Counter[float] = Counter()
        for s in self.decoder():
            if s.bits is not None and s.kind != "plain":
                counts[s.bits] += s.numel
        return counts.most_common(1)[0][0] if counts else None

    def quantized_kinds(self) -> set[str]:
        return {s.kind for s in self.decoder() if s.kind != "plain"}


def split_name(name: str) -> tuple[str, str]:
    for suffix in LONG_SUFFIXES:
        if name.endswith("." + suffix):
            return name[: -len(suffix) - 1], suffix
    module, _, last = name.rpartition(".")
    for tail in ("_blocks", "_scales"):  # gpt-oss MXFP4: experts.gate_up_proj_blocks
        if last.endswith(tail) and last != tail[1:]:
            return f"{module}.{last[: -len(tail)]}", tail[1:]
    return module, last


def _nb(parts: dict[str, TensorRecord], skip: set[str] = NOT_STORAGE) -> int:
    return sum(t.nbytes or 0 for k, t in parts.items() if k not in skip)


def _exact_div(a: int, b: int) -> float | None:
    return a / b if b else None


def _bits(value: float | None) -> float | None:
    """Packed widths are whole numbers; anything else means the shapes were not what we think."""
    if value is None or not 0 < value <= 16 or abs(value - round(value)) > 1e-9:
        return None
    return float(round(value))


def measure_module(parts: dict[str, TensorRecord], ctx: dict[str, Any]) -> tuple[str, int, float | None] | None:
    """(kind, unpacked elements, packed bits) of one module, or None when it is no quantized or
    plain linear (norms, routers' biases, metadata tensors)."""
    p = parts.get
    declared = ctx.get("bits")
    group = ctx.get("group_size")
    if p("q_weight") and p("q_invperm"):
        return "exl2", p("q_invperm").shape[0] * p("q_weight").shape[-1], None
    if p("trellis") and len(p("trellis").shape) == 3:
        t = p("trellis").shape
        return "exl3", t[0] * 16 * t[1] * 16, float(t[2] // 16)
    if p("qweight") and p("scales"):
        qw, sc = p("qweight").shape, p("scales").shape
        if p("g_idx") and len(qw) == 2:  # GPTQ: qweight [in*b/32, out], g_idx [in]
            rows = p("g_idx").shape[0]
            return "gptq", rows * qw[1], _bits(_exact_div(32 * qw[0], rows))
        if ctx.get("format") in ("gptq", "auto-round") and p("qzeros") and len(qw) == 2:
            b = _bits(_exact_div(32 * p("qzeros").shape[-1], sc[-1]))
            rows = qw[0] * 32 / (b or declared or 4)
            return "gptq", int(rows) * qw[1], b
        if len(qw) == 2 and len(sc) == 2:  # AWQ GEMM: qweight [in, out*b/32], scales [in/g, out]
            return "awq", qw[0] * sc[1], _bits(_exact_div(32 * qw[1], sc[1]))
    if p("weight_packed"):
        wp = p("weight_packed")
        if wp.type_name == "U8":  # nvfp4 / mxfp4 pack: two 4-bit values per byte
            return "ct-pack", math.prod(wp.shape) * 2, 4.0
        scale = p("weight_scale")
        if scale is not None and len(scale.shape) == 2 and group and group > 0 and scale.shape[1] > 1:
            cols = scale.shape[1] * group
            return "ct-pack", wp.shape[0] * cols, _bits(_exact_div(32 * wp.shape[1], cols))
        b = declared or 4
        return "ct-pack", int(wp.shape[0] * wp.shape[1] * 32 / b), None
    if p("W_q") and p("scale"):
        n_groups = math.prod(p("scale").shape)
        g = group or 64
        numel = n_groups * g
        return "hqq", numel, _bits(_exact_div((p("W_q").nbytes or 0) * 8, numel))
    if p("weight.absmax") and p("weight"):
        return "bnb4", (p("weight").nbytes or 0) * 2, 4.0
    if p("SCB") and p("weight"):
        return "bnb8", p("weight").n_elements, 8.0
    if p("blocks") and p("scales"):
        return "mxfp4", (p("blocks").nbytes or 0) * 2, 4.0
    w = p("weight")
    if w is None or len(w.shape) < 2:
        return None
    if w.type_name == "U32" and p("scales"):  # MLX: weight uint32 [.., out, in*b/32], scales [.., out, in/g]
        g = ctx.get("module_group") or group or 64
        cols = p("scales").shape[-1] * g
        numel = math.prod(w.shape[:-1]) * cols
        return "mlx", numel, _bits(_exact_div(32 * w.shape[-1], cols))
    if w.type_name.startswith("F8") and p("weight_scale_inv"):
        return "fp8", w.n_elements, 8.0
    if w.type_name.startswith("F8") and p("weight_scale"):
        return "ct-float", w.n_elements, 8.0
    if w.type_name in ("I8", "U8") and p("weight_scale"):
        return "ct-int", w.n_elements, 8.0
    if w.type_name in FLOAT_DTYPES:
        return "plain", w.n_elements, None
    return None


def mlx_module_group(module: str, qc: dict[str, Any]) -> int | None:
    override = qc.get(module)
    if isinstance(override, dict) and isinstance(override.get("group_size"), int):
        return override["group_size"]
    return None


def measure(tensors: list[TensorRecord], ctx: dict[str, Any]) -> Measurement:
    modules: dict[str, dict[str, TensorRecord]] = {}
    for t in tensors:
        module, suffix = split_name(t.name)
        modules.setdefault(module, {})[suffix] = t
    out = Measurement(total_bytes=sum(t.nbytes or 0 for t in tensors))
    qc = ctx.get("qc") or {}
    for module, parts in modules.items():
        mctx = ctx
        if ctx.get("format") == "mlx":
            mctx = {**ctx, "module_group": mlx_module_group(module, qc)}
        try:
            found = measure_module(parts, mctx)
        except (IndexError, ZeroDivisionError, ValueError, OverflowError):
            found = None  # shapes that fit no known layout: counted as plain elements, not measured
        if found is None or found[1] <= 0:
            out.parameters += sum(t.n_elements for t in parts.values())
            continue
        kind, numel, bits = found
        storage = p_w if (p_w := parts.get("weight")) is not None and kind == "plain" else None
        storage_bytes = (storage.nbytes or 0) if storage is not None else _nb(parts)
        out.linears.append(LinearStats(module, kind, numel, storage_bytes, bits))
        bias = parts.get("bias")
        out.parameters += numel + (bias.n_elements if bias is not None else 0)
    return out
