"""Which quant format a Hugging Face model folder holds, and what its configs declare.

Detection order (../shared/reference/formats.md §0.1, it avoids the known traps):
1. MLX: a top-level `quantization` dict (mlx_lm copies it to `quantization_config` *without*
   a quant_method, so it must be looked at first);
2. `quantization_config.quant_method` (or GPTQModel >= 7's `method`), also inside
   text_config / llm_config / language_config for multimodal models;
3. EXL3's own `quantization_config.json`, then the legacy sidecars quantize_config.json
   (AutoGPTQ, GPTQ-for-LLaMa) and quant_config.json (AutoAWQ <= 0.1.8: w_bit / q_group_size);
4. tensor names from the safetensors headers (q_weight -> EXL2, trellis -> EXL3, ...).
Nothing here reads a file: hf_dir hands in the parsed JSON and the tensor names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quantlint.facts.hf_formats import EXL3_BUILTIN_CORPUS, EXL2_DEFAULT_DATASET, QUANT_METHODS, SUB_CONFIG_KEYS
from quantlint.model import CalibrationFacts

# AutoGPTQ QUANT_CONFIG_ARG_SYNONYMS (auto_gptq/quantization/config.py): AutoAWQ's spellings.
SYNONYMS = {"w_bit": "bits", "q_group_size": "group_size"}


@dataclass
class Detection:
    format: str  # a quantlint format, or "unknown"
    qc: dict[str, Any] = field(default_factory=dict)  # the quantization config, synonyms resolved
    source: str = ""  # where the format was read: "config.json quantization_config.quant_method"
    producer: str | None = None  # AutoGPTQ, GPTQModel, transformers/optimum, auto-round, ...
    unsupported: str | None = None  # a quant method quantlint does not know


def _norm(qc: dict[str, Any]) -> dict[str, Any]:
    return {SYNONYMS.get(k, k): v for k, v in qc.items()}


def find_quant_config(config: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    qc = config.get("quantization_config")
    if isinstance(qc, dict):
        return qc, "config.json quantization_config"
    for key in SUB_CONFIG_KEYS:
        sub = config.get(key)
        if isinstance(sub, dict) and isinstance(sub.get("quantization_config"), dict):
            return sub["quantization_config"], f"config.json {key}.quantization_config"
    return None, ""


def sniff_tensors(names: list[str], dtypes: dict[str, str]) -> tuple[str | None, str]:
    """The format the tensor names give away (formats.md §0.1 step 5), with the evidence."""
    suffixes = {n.rsplit(".", 1)[-1] for n in names}
    if "q_weight" in suffixes and "q_invperm" in suffixes:
        return "exl2", "tensors *.q_weight + *.q_invperm"
    if "trellis" in suffixes:
        return "exl3", "tensors *.trellis"
    if "qweight" in suffixes:
        return ("gptq", "tensors *.qweight + *.g_idx") if "g_idx" in suffixes else ("awq", "tensors *.qweight without *.g_idx")
    if "weight_packed" in suffixes:
        return "compressed-tensors", "tensors *.weight_packed"
    if "W_q" in suffixes:
        return "hqq", "tensors *.W_q"
    if "absmax" in suffixes or "SCB" in suffixes:
        return "bitsandbytes", "tensors *.weight.absmax / *.SCB"
    if any(s.endswith("_blocks") for s in suffixes) and any(s.endswith("_scales") for s in suffixes):
        return "mxfp4", "tensors *_blocks + *_scales"
    if "weight_scale_inv" in suffixes:
        return "fp8", "tensors *.weight_scale_inv"
    if "scales" in suffixes and "biases" in suffixes and any(d == "U32" for n, d in dtypes.items() if n.endswith(".weight")):
        return "mlx", "tensors uint32 *.weight + *.scales + *.biases"
    return None, ""


def _gptq_producer(qc: dict[str, Any], from_sidecar: bool, in_config: bool) -> str:
    meta = qc.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("quantizer"), list):
        names = " ".join(str(q) for q in meta["quantizer"])
        return "optimum + GPTQModel" if "optimum" in names else "GPTQModel"
    if any(k in qc for k in ("dataset", "model_seqlen", "use_exllama", "tokenizer", "exllama_config")):
        return "transformers/optimum"
    if "model_file_base_name" in qc or "checkpoint_format" in qc or "static_groups" in qc:
        return "AutoGPTQ"
    if from_sidecar and not in_config:
        return "AutoGPTQ / GPTQ-for-LLaMa (legacy quantize_config.json)"
    return "AutoGPTQ"


def detect(config: dict[str, Any], sidecars: dict[str, dict[str, Any]], names: list[str],
           dtypes: dict[str, str]) -> Detection | None:
    """The format of a folder, or None when nothing says it is quantized."""
    mlx = config.get("quantization")
    if isinstance(mlx, dict) and ("bits" in mlx or "group_size" in mlx):
        return Detection("mlx", dict(mlx), "config.json quantization (mlx_lm)", "mlx_lm")
    qc, where = find_quant_config(config)
    quantize_cfg = sidecars.get("quantize_config.json")
    if qc is not None:
        method = qc.get("quant_method", qc.get("method"))
        if isinstance(method, str):
            fmt = QUANT_METHODS.get(method.lower())
            key = "quant_method" if "quant_method" in qc else "method"
            if fmt is None:
                return Detection("unknown", _norm(qc), f"{where}.{key}", unsupported=method)
            merged = _norm({**(quantize_cfg or {}), **qc}) if fmt == "gptq" else _norm(qc)
            return Detection(fmt, merged, f"{where}.{key}", _producer(fmt, merged, False, True))
        sniffed, _ = sniff_tensors(names, dtypes)
        if sniffed == "mlx":
            return Detection("mlx", dict(qc), f"{where} (mlx_lm copy, no quant_method)", "mlx_lm")
    exl3 = sidecars.get("quantization_config.json")
    if isinstance(exl3, dict) and str(exl3.get("quant_method", "")).lower() == "exl3":
        return Detection("exl3", exl3, "quantization_config.json quant_method", "exllamav3")
    if isinstance(quantize_cfg, dict):
        qcn = _norm(quantize_cfg)
        method = str(qcn.get("quant_method", "gptq")).lower()
        if method == "awq" or str(qcn.get("version", "")).lower() in ("gemm", "gemv"):
            return Detection("awq", qcn, "quantize_config.json", "AutoAWQ")
        fmt = QUANT_METHODS.get(method, "gptq")
        return Detection(fmt, qcn, "quantize_config.json", _producer(fmt, qcn, True, qc is not None))
    awq_legacy = sidecars.get("quant_config.json")
    if isinstance(awq_legacy, dict):
        qcn = _norm(awq_legacy)
        if str(qcn.get("version", "gemm")).lower().startswith("gem") or "zero_point" in qcn:
            return Detection("awq", qcn, "quant_config.json (AutoAWQ <= 0.1.8)", "AutoAWQ")
        return Detection("gptq", qcn, "quant_config.json", "AutoGPTQ")
    sniffed, evidence = sniff_tensors(names, dtypes)
    if sniffed:
        producer = {"exl2": "exllamav2 (no quantization_config: made before v0.0.16 or without -cf)"}.get(sniffed)
        return Detection(sniffed, {}, evidence, producer)
    return None


def _producer(fmt: str, qc: dict[str, Any], from_sidecar: bool, in_config: bool) -> str | None:
    if qc.get("provider") == "auto-round" or "autoround_version" in qc:
        return "auto-round"
    if fmt == "gptq":
        return _gptq_producer(qc, from_sidecar, in_config)
    return {"exl2": "exllamav2", "exl3": "exllamav3", "awq": "AutoAWQ", "compressed-tensors": "llm-compressor",
            "auto-round": "auto-round", "bitsandbytes": "bitsandbytes", "hqq": "hqq", "mlx": "mlx_lm"}.get(fmt)


# ---------------------------------------------------------------- what the config declares

def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def ct_weights(qc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, int]:
    """compressed-tensors: (weights args, input-activation args, number of groups) of the
    group that targets Linear (or the first one)."""
    groups = qc.get("config_groups")
    if not isinstance(groups, dict) or not groups:
        return {}, None, 0
    chosen = next((g for g in groups.values() if isinstance(g, dict) and "Linear" in (g.get("targets") or [])),
                  next(iter(groups.values())))
    if not isinstance(chosen, dict):
        return {}, None, len(groups)
    weights = chosen.get("weights") if isinstance(chosen.get("weights"), dict) else {}
    acts = chosen.get("input_activations") if isinstance(chosen.get("input_activations"), dict) else None
    return weights, acts, len(groups)


def declared(det: Detection) -> tuple[float | None, int | None]:
    """(declared bits, group size) from the quantization config."""
    qc, fmt = det.qc, det.format
    if fmt == "compressed-tensors":
        w, _, _ = ct_weights(qc)
        return _num(w.get("num_bits")), _int(w.get("group_size"))
    if fmt == "hqq":
        wq = (qc.get("quant_config") or {}).get("weight_quant_params") if isinstance(qc.get("quant_config"), dict) else None
        wq = wq if isinstance(wq, dict) else {}
        return _num(wq.get("nbits")), _int(wq.get("group_size"))
    if fmt == "bitsandbytes":
        if qc.get("load_in_8bit") or qc.get("_load_in_8bit"):
            return 8.0, None
        return 4.0, 64  # bitsandbytes 4-bit blocksize (quant_state), one absmax per 64
    if fmt == "fp8":
        return 8.0, None
    if fmt == "mxfp4":
        return 4.0, 32
    return _num(qc.get("bits")), _int(qc.get("group_size"))


def format_bpw(value: float) -> str:
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def label(det: Detection, bits: float | None, group: int | None, measured: float | None) -> str:
    qc, fmt = det.qc, det.format
    if fmt in ("exl2", "exl3"):
        shown = bits if bits is not None else measured
        text = f"{fmt.upper()} {format_bpw(shown)} bpw" if shown is not None else fmt.upper()
        head = _int(qc.get("head_bits"))
        return text + (f" (head {head})" if head is not None else "")
    b = f"{int(bits)}-bit" if bits is not None and float(bits).is_integer() else (f"{bits:g}-bit" if bits else "")
    g = (f" g{group}" if group and group > 0 else (" no-group" if group is not None else ""))
    if fmt == "gptq":
        return f"GPTQ {b}{g}" + (" act-order" if qc.get("desc_act") else "")
    if fmt == "awq":
        version = str(qc.get("version", "gemm")).lower()
        return f"AWQ {b}{g}" + ("" if version == "gemm" else f" {version.upper()}")
    if fmt == "auto-round":
        return f"AutoRound {b}{g}"
    if fmt == "compressed-tensors":
        w, acts, _ = ct_weights(qc)
        a = _int(acts.get("num_bits")) if acts else None
        kind = "FP" if w.get("type") == "float" else "INT"
        return f"compressed-tensors W{_int(w.get('num_bits')) or '?'}A{a or 16} ({kind}{_int(w.get('num_bits')) or ''}{',' + g if g else ''})"
    if fmt == "bitsandbytes":
        if bits == 8:
            return "bitsandbytes INT8"
        kind = str(qc.get("bnb_4bit_quant_type", "nf4")).upper()
        return f"bitsandbytes {kind}" + (" double-quant" if qc.get("bnb_4bit_use_double_quant") else "")
    if fmt == "hqq":
        return f"HQQ {b}{g}"
    if fmt == "fp8":
        block = qc.get("weight_block_size")
        return "FP8" + (f" block {block[0]}x{block[1]}" if isinstance(block, list) and len(block) == 2 else "")
    if fmt == "mxfp4":
        return "MXFP4"
    if fmt == "mlx":
        mode = qc.get("mode") or "affine"
        return f"MLX {b}{g}" + ("" if mode == "affine" else f" {mode}")
    return fmt


def kept_high_precision(det: Detection, bits: float | None) -> list[str]:
    """Modules the config keeps above the model's bit width (formats.md §0.2)."""
    qc, fmt = det.qc, det.format
    out: list[str] = []

    def add(items: Any) -> None:
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, (list, tuple, dict)):
            return
        for item in items:
            if isinstance(item, str) and item not in out:
                out.append(item)

    if fmt in ("exl2", "exl3"):
        head = _int(qc.get("head_bits"))
        if head is not None and (bits is None or head > bits):
            add("lm_head (unquantized)" if head >= 16 else f"lm_head ({head}-bit)")
    elif fmt in ("awq", "auto-round"):
        add("lm_head")
        add(qc.get("modules_to_not_convert"))
    elif fmt == "gptq":
        if not qc.get("lm_head"):
            add("lm_head")
        dynamic = qc.get("dynamic")
        if isinstance(dynamic, dict):
            for key, override in dynamic.items():
                if key.startswith("-:"):
                    add(key[2:])
                elif isinstance(override, dict) and bits is not None and (_num(override.get("bits")) or 0) > bits:
                    add(f"{key.removeprefix('+:')} ({int(override['bits'])}-bit)")
    elif fmt == "compressed-tensors":
        add(qc.get("ignore"))
    elif fmt == "bitsandbytes":
        add(qc.get("llm_int8_skip_modules") or ["lm_head"])
    elif fmt == "hqq":
        add(qc.get("skip_modules", ["lm_head"]))
    elif fmt in ("fp8", "mxfp4"):
        add(qc.get("modules_to_not_convert") or qc.get("ignored_layers") or ["lm_head"])
    elif fmt == "mlx":
        for key, value in qc.items():
            if value is False:
                add(key)
            elif isinstance(value, dict) and bits is not None and (_num(value.get("bits")) or 0) > bits:
                add(f"{key} ({int(value['bits'])}-bit)")
    return out


def calibration(det: Detection, where: str) -> CalibrationFacts | None:
    """The calibration record as written, raw: no dataset-domain judgement here."""
    qc, fmt = det.qc, det.format
    cal = qc.get("calibration") if isinstance(qc.get("calibration"), dict) else None
    if fmt == "exl2" and cal is not None:
        dataset = cal.get("dataset")
        builtin = dataset == EXL2_DEFAULT_DATASET
        return CalibrationFacts(dataset=dataset if isinstance(dataset, str) else None,
                                source=f"{where}.calibration", kind="built-in" if builtin else "recorded",
                                details={k: v for k, v in cal.items() if k != "dataset"})
    if fmt == "exl3":
        details: dict[str, Any] = {"corpus": EXL3_BUILTIN_CORPUS}
        details.update({k: v for k, v in (cal or {}).items() if isinstance(v, (int, float, str))})
        return CalibrationFacts(dataset="(built-in)", kind="built-in",
                                source=f"{where}.calibration" if cal else "exllamav3 (no dataset option)",
                                details=details)
    dataset = qc.get("dataset")
    if fmt in ("gptq", "awq", "auto-round") and dataset is not None:
        if isinstance(dataset, str):
            return CalibrationFacts(dataset=dataset, source=f"{where}.dataset", kind="recorded",
                                    details={k: qc[k] for k in ("nsamples", "seqlen", "model_seqlen") if k in qc})
        if isinstance(dataset, list):
            texts = [d for d in dataset if isinstance(d, str)]
            return CalibrationFacts(dataset=f"(custom list of {len(dataset)} texts)", source=f"{where}.dataset",
                                    kind="recorded", details={"type": "list", "count": len(dataset),
                                                              "total_chars": sum(len(t) for t in texts)})
    return None
