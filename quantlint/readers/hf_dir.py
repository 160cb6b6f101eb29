"""Read a model folder in Hugging Face layout into the Model, without touching the weights.

What is read: config.json, the quant sidecars (quantize_config.json, quant_config.json,
EXL3's quantization_config.json), measurement.json (EXL2), tokenizer_config.json /
chat_template.jinja, model.safetensors.index.json, and the JSON header of every weight file
(exactly 8 + N bytes each). Everything goes through the Directory protocol, so a Hugging Face
repo read over HTTP can reuse this module as it is.
"""

from __future__ import annotations

import json
from typing import Any

from quantlint.model import FileFacts, MetadataValue, Model, ReadProblem, TensorRecord
from quantlint.readers import hf_formats as fmts
from quantlint.readers.hf_bpw import DECODER, Measurement, measure
from quantlint.readers.hf_config import fill_config_facts, fill_tokenizer, measurement_summary
from quantlint.readers.safetensors_header import SafetensorsHeader, read_safetensors_header
from quantlint.sources import Directory, SourceError
from quantlint.facts.hf_formats import formula_bpw

CONFIG_LIMIT = 64 << 20  # transformers GPTQ configs can carry the whole calibration list
SIDECAR_LIMIT = 16 << 20
MEASUREMENT_LIMIT = 64 << 20  # real 7B measurement.json: 1.8 MB
SIDECARS = ("quantize_config.json", "quant_config.json", "quantization_config.json")
INDEX = "model.safetensors.index.json"
# Safetensors files in a model folder that are not its weights (exllamav2 working dirs, PEFT).
NOT_WEIGHTS = {"cal_data.safetensors", "hidden_states.safetensors", "adapter_model.safetensors"}
SKIP_FLATTEN = {"tensor_storage"}  # EXL3 quantization_config.json: one entry per module, thousands


def read_local_directory(path: str, display: str) -> Model:
    from quantlint.sources.local import LocalDirectory

    return read_directory(LocalDirectory(path), display)


def read_directory(directory: Directory, display: str) -> Model:
    """Never raises for bad content: faults become ReadProblems on the Model."""
    model = Model(format="unknown", target=display)
    model.file = FileFacts(path=directory.name, bytes_read=0)
    try:
        files = directory.list_files()
    except SourceError as exc:
        model.problems.append(ReadProblem(kind="unreadable", message=str(exc)))
        return model
    config = _json(directory, "config.json", CONFIG_LIMIT, model)
    if config is not None and not isinstance(config, dict):
        model.problems.append(ReadProblem(kind="corrupt", location="config.json", offset=0,
                                          message=f"config.json holds a JSON {type(config).__name__}, not an object"))
    config = config if isinstance(config, dict) else {}
    sidecars = {name: d for name in SIDECARS if name in files
                and isinstance(d := _json(directory, name, SIDECAR_LIMIT, model), dict)}
    index = _json(directory, INDEX, SIDECAR_LIMIT, model) if INDEX in files else None
    weights, missing = _weight_files(files, index)
    headers = [_header(directory, name, model) for name in weights]
    model.tensors = [_record(h, t) for h in headers for t in h.tensors]
    names = [t.name for t in model.tensors]
    det = fmts.detect(config, sidecars, names, {t.name: t.type_name for t in model.tensors})
    _missing_shards(model, det, missing, weights)
    measured: Measurement | None = None
    if det is None:
        measured = _unquantized(model, config, files)
    elif det.unsupported:
        model.problems.append(ReadProblem(
            kind="unsupported", location=det.source,
            message=f"quantization method {det.unsupported!r} is not a format quantlint knows",
            hint="quantlint reads EXL2, EXL3, AWQ, GPTQ, compressed-tensors, auto-round, bitsandbytes, HQQ, FP8, "
                 "MXFP4, MLX and plain safetensors folders, and GGUF files."))
    else:
        measured = _quantized(model, det, config)
    fill_config_facts(model, config, measured)
    fill_tokenizer(model, directory, files)
    if "measurement.json" in files:
        raw = _json(directory, "measurement.json", MEASUREMENT_LIMIT, model, keep=False)
        if isinstance(raw, dict):
            measurement_summary(model, raw)
            if model.format == "unknown" and model.readable:
                model.format = "exl2"
                model.quant = "EXL2 measurement only (no weights)"
                model.quant_source = "measurement.json"
    for name, data in (("config.json", config), *sidecars.items()):
        _flatten(model, name, data)
    for h in headers:
        for key, value in h.metadata.items():
            model.metadata[f"{h.path}:__metadata__.{key}"] = MetadataValue(key=f"__metadata__.{key}", value=value,
                                                                           type_name="str", offset=8)
    model.file.size = sum(files.get(w) or 0 for w in weights) or None
    model.file.header_bytes = sum(h.data_start or 0 for h in headers) or None
    model.file.shards = list(weights)
    model.file.bytes_read = (model.file.bytes_read or 0) + sum(h.bytes_read for h in headers)
    return model


def _json(directory: Directory, name: str, limit: int, model: Model, keep: bool = True) -> Any:
    try:
        raw = directory.read_small(name, limit)
    except SourceError as exc:
        model.problems.append(ReadProblem(kind="unreadable", message=str(exc), location=name))
        return None
    if raw is None:
        return None
    if model.file is not None:
        model.file.bytes_read = (model.file.bytes_read or 0) + len(raw)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        lineno = getattr(exc, "lineno", None)
        where = f" (line {lineno})" if lineno else ""
        model.problems.append(ReadProblem(kind="corrupt", message=f"{name} is not valid JSON{where}: {exc}",
                                          location=name, offset=getattr(exc, "pos", None)))
        return None


def _weight_files(files: dict[str, int | None], index: Any) -> tuple[list[str], list[str]]:
    """(weight files to read, shards the index names that are not here). Top level only:
    subfolders (original/, out_tensor/) hold other checkpoints or working files."""
    present = sorted(f for f in files if f.endswith(".safetensors") and "/" not in f and f not in NOT_WEIGHTS)
    named: list[str] = []
    if isinstance(index, dict) and isinstance(index.get("weight_map"), dict):
        named = sorted({v for v in index["weight_map"].values() if isinstance(v, str)})
    here = [n for n in named if n in files]
    missing = [n for n in named if n not in files]
    # Mistral repos ship consolidated.safetensors beside the HF shards: read only the index's.
    return (here if here else present), missing


def _missing_shards(model: Model, det: fmts.Detection | None, missing: list[str], weights: list[str]) -> None:
    if not missing:
        return
    if (det is not None and det.format == "exl2") or (weights and all(w.startswith("output") for w in weights)):
        model.notes.append(f"{INDEX} names {len(missing)} shard(s) that are not here (exllamav2 copies the source "
                           f"model's index); read the weight files present instead: {', '.join(weights) or 'none'}")
        return
    shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
    model.problems.append(ReadProblem(
        kind="truncated", location=INDEX, details={"missing": missing},
        message=f"{INDEX} names {len(missing)} shard(s) that are not in the folder: {shown}",
        hint="Download the missing shards (`huggingface-cli download ORG/REPO` resumes) and lint again."))


def _header(directory: Directory, name: str, model: Model) -> SafetensorsHeader:
    try:
        source = directory.open(name)
    except SourceError as exc:
        header = SafetensorsHeader(path=name, file_size=None)
        header.problems.append(ReadProblem(kind="unreadable", message=str(exc), location=name))
    else:
        try:
            header = read_safetensors_header(source, name)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
    model.problems.extend(header.problems)
    if header.lfs_pointer is not None:
        real = header.lfs_pointer.get("size")
        model.problems.append(ReadProblem(
            kind="lfs-pointer", location=name, offset=0, details=dict(header.lfs_pointer),
            message=f"{name} is a Git LFS pointer, not the weights" + (f" (the real file is {real:,} bytes)" if real else ""),
            hint=f"Run `git lfs pull --include=\"{name}\"` in the clone, or lint the repo remotely: `quantlint ORG/REPO`."))
    return header


def _record(header: SafetensorsHeader, t: Any) -> TensorRecord:
    start = header.data_start or 0
    return TensorRecord(name=t.name, type_name=t.dtype, shape=t.shape, n_elements=t.n_elements, nbytes=t.nbytes,
                        offset=start + t.begin, file=header.path)


def _unquantized(model: Model, config: dict[str, Any], files: dict[str, int | None]) -> Measurement | None:
    if model.tensors:
        model.format = "safetensors"
        m = measure(model.tensors, {"format": "safetensors"})
        _apply_measurement(model, m)
        dtypes: dict[str, int] = {}
        for s in m.decoder() or m.linears:
            dtype = next((t.type_name for t in model.tensors if t.name == f"{s.module}.weight"), None)
            if dtype:
                dtypes[dtype] = dtypes.get(dtype, 0) + s.numel
        model.quant = max(dtypes, key=dtypes.get) if dtypes else None
        model.quant_source = "safetensors dtypes (no quantization config)"
        return m
    if any(p.kind in ("lfs-pointer", "truncated", "corrupt", "unreadable") for p in model.problems):
        return None
    if "measurement.json" in files:  # an exllamav2 working folder: read_directory summarises it
        return None
    bins = [f for f in files if f.endswith((".bin", ".pt", ".pth")) and "/" not in f]
    what = "only PyTorch pickle weights (" + ", ".join(sorted(bins)[:3]) + ")" if bins else \
        ("a config.json but no weight files" if config else "no config.json and no *.safetensors weights")
    model.problems.append(ReadProblem(
        kind="unsupported", location=model.file.path if model.file else None,
        message=f"no model quantlint can read in this folder: {what}",
        hint="quantlint reads GGUF files and Hugging Face folders with safetensors weights or a quantization config "
             "(EXL2, EXL3, AWQ, GPTQ, compressed-tensors, bitsandbytes, HQQ, FP8, MXFP4, MLX)."))
    return None


def _apply_measurement(model: Model, m: Measurement) -> None:
    model.bits_per_weight = m.bits_per_weight()
    model.bits_per_weight_file = m.file_bpw()
    model.parameters = m.parameters or None
    types: dict[str, int] = {}
    block: dict[str, int] = {}
    for t in model.tensors:
        types[t.type_name] = types.get(t.type_name, 0) + t.n_elements
        if DECODER.search(t.name):
            block[t.type_name] = block.get(t.type_name, 0) + t.n_elements
    model.tensor_types = dict(sorted(types.items(), key=lambda kv: -kv[1]))
    model.block_tensor_types = dict(sorted(block.items(), key=lambda kv: -kv[1]))


def _quantized(model: Model, det: fmts.Detection, config: dict[str, Any]) -> Measurement:
    model.format = det.format
    bits, group = fmts.declared(det)
    model.declared_bits, model.group_size = bits, group
    where = det.source.rsplit(".", 1)[0] if det.source.endswith((".quant_method", ".method")) else det.source
    m = measure(model.tensors, {"format": det.format, "bits": bits, "group_size": group, "qc": det.qc})
    if m.linears:
        _apply_measurement(model, m)
        if det.format not in ("exl2", "exl3", "fp8", "mxfp4"):
            model.packed_bits = m.packed_bits()
    if model.bits_per_weight is None or not m.decoder():
        hidden = config.get("hidden_size") if isinstance(config.get("hidden_size"), int) else None
        extra = {"weight_block_size": det.qc.get("weight_block_size"), "mode": det.qc.get("mode"),
                 "double_quant": det.qc.get("bnb_4bit_use_double_quant")}
        model.bits_per_weight = formula_bpw(det.format, bits, group, hidden, hidden, **extra)
        if model.bits_per_weight is not None:
            why = "no weight files" if not model.tensors else "no quantized decoder linears found in the headers"
            model.notes.append(f"bits per weight from the {det.format} storage formula ({why})")
    model.quant = fmts.label(det, bits, group, model.bits_per_weight)
    model.quant_source = det.source
    if det.producer:
        model.notes.append(f"written by {det.producer}")
    model.kept_high_precision = fmts.kept_high_precision(det, bits)
    model.calibration = fmts.calibration(det, where)
    return m


def _flatten(model: Model, file: str, data: Any, prefix: str = "", depth: int = 0) -> None:
    """Config fields as MetadataValues keyed "file:dotted.key"; long lists and strings summarised."""
    if len(model.metadata) > 4000:
        return
    if isinstance(data, dict) and depth < 4:
        for key, value in data.items():
            if key in SKIP_FLATTEN:
                continue
            _flatten(model, file, value, f"{prefix}.{key}" if prefix else str(key), depth + 1)
        return
    key = f"{file}:{prefix}"
    if isinstance(data, list):
        small = len(data) <= 16 and all(isinstance(v, (int, float, str, bool)) and len(str(v)) <= 200 for v in data)
        model.metadata[key] = MetadataValue(key=prefix, value=data if small else None, type_name="ARRAY",
                                            element_type=type(data[0]).__name__ if data else None, count=len(data))
    elif isinstance(data, str) and len(data) > 1000:
        model.metadata[key] = MetadataValue(key=prefix, value=data[:200] + "...", type_name="str", count=None)
    else:
        model.metadata[key] = MetadataValue(key=prefix, value=data, type_name=type(data).__name__)

