"""Turn a walked GGUF header into the format-neutral Model."""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import Any

from quantlint.facts.ggml_types import GGUF_VALUE_TYPES
from quantlint.facts.tiers import file_type_label
from quantlint.model import (
    CalibrationFacts,
    FileFacts,
    Identity,
    MetadataValue,
    MoEFacts,
    Model,
    TensorRecord,
    TokenizerFacts,
)
from quantlint.readers.gguf_records import ArrayValue, GGUFHeader

# Tensor-name patterns (llama.cpp llama-arch.cpp / gguf-py TENSOR_NAMES).
BLOCK_TENSOR = re.compile(r"^blk\.(\d+)\.")
FUSED_EXPERT = re.compile(r"^blk\.\d+\.ffn_(?:gate|up|down|gate_up)_exps\.")
LEGACY_EXPERT = re.compile(r"^blk\.\d+\.ffn_(?:gate|up|down)\.\d+\.weight$")  # old Mixtral files
ROUTER = re.compile(r"^blk\.\d+\.ffn_gate_inp(?:_shexp)?\.")  # never quantized (llama-quant.cpp)

SPECIAL_TOKEN_KEYS = {
    "bos": "tokenizer.ggml.bos_token_id",
    "eos": "tokenizer.ggml.eos_token_id",
    "eot": "tokenizer.ggml.eot_token_id",
    "eom": "tokenizer.ggml.eom_token_id",
    "unk": "tokenizer.ggml.unknown_token_id",
    "pad": "tokenizer.ggml.padding_token_id",
    "sep": "tokenizer.ggml.seperator_token_id",  # sic: llama.cpp and gguf-py spell it so
    "cls": "tokenizer.ggml.cls_token_id",
    "mask": "tokenizer.ggml.mask_token_id",
}

IMATRIX_KEYS = ("file", "dataset", "entries_count", "chunks_count")


def _metadata(header: GGUFHeader) -> dict[str, MetadataValue]:
    out: dict[str, MetadataValue] = {}
    for key, kv in header.kvs.items():
        type_name = GGUF_VALUE_TYPES.get(kv.value_type, str(kv.value_type))
        if isinstance(kv.value, ArrayValue):
            out[key] = MetadataValue(
                key=key, value=kv.value.values, type_name="ARRAY", offset=kv.offset,
                element_type=GGUF_VALUE_TYPES.get(kv.value.element_type, str(kv.value.element_type)),
                count=kv.value.count)
        else:
            out[key] = MetadataValue(key=key, value=kv.value, type_name=type_name, offset=kv.offset)
    return out


def _tensors(header: GGUFHeader) -> list[TensorRecord]:
    base = header.data_offset or 0
    return [
        TensorRecord(
            name=t.name, type_name=t.type_name or f"type{t.type_id}", shape=t.shape,
            n_elements=t.n_elements, nbytes=t.nbytes, offset=base + t.relative_offset,
            info_offset=t.info_offset, type_id=t.type_id)
        for t in header.tensors
    ]


def _bpw(tensors: list[TensorRecord]) -> float | None:
    elements = sum(t.n_elements for t in tensors if t.nbytes is not None)
    nbytes = sum(t.nbytes for t in tensors if t.nbytes is not None)
    return nbytes * 8 / elements if elements else None


def _elements_by_type(tensors: list[TensorRecord]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for t in tensors:
        counts[t.type_name] += t.n_elements
    return dict(counts.most_common())


def is_block_tensor(t: TensorRecord) -> bool:
    """A tensor of a repeating block (blk.N.*): its matrices and its norms."""
    return bool(BLOCK_TENSOR.match(t.name))


def is_block_matrix(t: TensorRecord) -> bool:
    """A weight matrix of a repeating block (blk.N.*, two or more dimensions)."""
    return is_block_tensor(t) and len(t.shape) >= 2


def is_expert_tensor(t: TensorRecord) -> bool:
    return bool(FUSED_EXPERT.match(t.name) or LEGACY_EXPERT.match(t.name))


def _scalar_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return max(value)
    return None


def _moe(model: Model, arch: str) -> MoEFacts | None:
    experts = _scalar_int(model.meta(f"{arch}.expert_count"))
    fused = [t for t in model.tensors if FUSED_EXPERT.match(t.name)]
    legacy = [t for t in model.tensors if LEGACY_EXPERT.match(t.name)]
    detected = f"{arch}.expert_count" if experts and experts > 1 else None
    layout = "fused" if fused else ("per-expert" if legacy else None)
    if not detected and layout is None:
        return None
    if (not experts or experts <= 1) and legacy:
        # Old Mixtral files: count E in blk.0.ffn_gate.E.weight
        indices = {int(t.name.split(".")[3]) for t in legacy if t.name.startswith("blk.0.")}
        experts = max(indices) + 1 if indices else None
        detected = "per-expert tensor names (blk.N.ffn_gate.E.weight)"
    if (not experts or experts <= 1) and fused:
        experts = max((t.shape[2] for t in fused if len(t.shape) >= 3), default=None)
        detected = "fused expert tensors (blk.N.ffn_*_exps.weight)"
    if not experts or experts <= 1:
        return None
    expert_tensors = fused + legacy
    # Always active: attention, shared experts, dense FFNs. The router (ffn_gate_inp) is always
    # active too, but llama-quantize never quantizes it (F32), so it would only inflate the bpw.
    always_active = [t for t in model.tensors
                     if is_block_matrix(t) and not is_expert_tensor(t) and not ROUTER.match(t.name)]
    return MoEFacts(
        experts=experts,
        experts_used=_scalar_int(model.meta(f"{arch}.expert_used_count")),
        shared_experts=_scalar_int(model.meta(f"{arch}.expert_shared_count")),
        expert_bits_per_weight=_bpw(expert_tensors),
        always_active_bits_per_weight=_bpw(always_active),
        expert_tensor_types=_elements_by_type(expert_tensors),
        detected_from=detected,
        layout=layout or "config",
    )


def _identity(model: Model, path: str) -> Identity:
    ident = Identity(
        name=model.meta("general.name"),
        basename=model.meta("general.basename"),
        finetune=model.meta("general.finetune"),
        version=model.meta("general.version"),
        size_label=model.meta("general.size_label"),
        organization=model.meta("general.organization"),
        quantized_by=model.meta("general.quantized_by"),
        file_name=os.path.basename(path),
        tags=[t for t in (model.meta("general.tags") or []) if isinstance(t, str)],
        languages=[t for t in (model.meta("general.languages") or []) if isinstance(t, str)],
    )
    count = _scalar_int(model.meta("general.base_model.count")) or 0
    for i in range(min(count, 64)):
        repo_url = model.meta(f"general.base_model.{i}.repo_url")
        org = model.meta(f"general.base_model.{i}.organization")
        name = model.meta(f"general.base_model.{i}.name")
        if isinstance(repo_url, str) and "huggingface.co/" in repo_url:
            ident.base_models.append(repo_url.split("huggingface.co/", 1)[1].strip("/"))
        elif name:
            ident.base_models.append(f"{org}/{name}" if org else str(name))
    return ident


def _tokenizer(model: Model, header: GGUFHeader) -> TokenizerFacts:
    tok = TokenizerFacts(
        model=model.meta("tokenizer.ggml.model"),
        pre=model.meta("tokenizer.ggml.pre"),
        byte_order=header.byte_order,
    )
    for attr, key in (("vocab_size", "tokenizer.ggml.tokens"), ("scores_count", "tokenizer.ggml.scores"),
                      ("token_type_count", "tokenizer.ggml.token_type"), ("merges_count", "tokenizer.ggml.merges")):
        entry = model.metadata.get(key)
        if entry is not None and entry.count is not None:
            setattr(tok, attr, entry.count)
    for name, key in SPECIAL_TOKEN_KEYS.items():
        value = model.meta(key)
        if isinstance(value, int) and not isinstance(value, bool):
            tok.special_ids[name] = value
    template = model.meta("tokenizer.chat_template")
    if isinstance(template, str):
        tok.chat_template = template
        tok.has_chat_template = True
        tok.chat_template_source = "tokenizer.chat_template"
    for key, entry in model.metadata.items():
        if key.startswith("tokenizer.chat_template.") and isinstance(entry.value, str):
            tok.named_chat_templates[key.removeprefix("tokenizer.chat_template.")] = entry.value
    tok.tokens_blob = header.blobs.get("tokenizer.ggml.tokens")
    tok.token_types_blob = header.blobs.get("tokenizer.ggml.token_type")
    return tok


def _calibration(model: Model) -> None:
    imatrix = {k: model.meta(f"quantize.imatrix.{k}") for k in IMATRIX_KEYS if f"quantize.imatrix.{k}" in model.metadata}
    if not imatrix:
        return
    model.imatrix = imatrix
    dataset = imatrix.get("dataset")
    source = "quantize.imatrix.dataset"
    if not dataset and imatrix.get("file"):
        dataset = None
        source = "quantize.imatrix.file"
    model.calibration = CalibrationFacts(
        dataset=dataset, source=source, kind="recorded",
        details={k: v for k, v in imatrix.items() if k != "dataset"})


def _guess_quant(model: Model) -> tuple[str | None, str]:
    """Without general.file_type llama.cpp guesses from the most frequent tensor type *by count*,
    which 1-D F32 norms usually win. quantlint instead names the type holding most block-matrix
    elements, and says that it guessed."""
    block = [t for t in model.tensors if is_block_matrix(t)]
    counts: Counter[str] = Counter()
    for t in block or model.tensors:
        counts[t.type_name] += t.n_elements
    if not counts:
        return None, "no tensors"
    top = counts.most_common(1)[0][0]
    label = {"Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M"}.get(top, top)
    return label, "guessed from the tensor mix (no general.file_type)"


def derive_tensor_facts(model: Model) -> None:
    """The facts computed from the tensor list and the label: quant, type mix, bpw, MoE.

    Kept apart from build_gguf_model so that a split set (readers/gguf_split.py) can recompute
    them once every shard's tensors are merged."""
    arch = model.architecture or ""
    file_type = model.meta("general.file_type")
    if isinstance(file_type, int) and not isinstance(file_type, bool):
        model.file_type = file_type
        label = file_type_label(file_type)
        model.quant = label or f"unknown file type {file_type}"
        model.quant_source = "general.file_type"
    elif model.tensors:
        model.quant, model.quant_source = _guess_quant(model)

    model.tensor_types = _elements_by_type(model.tensors)
    # bpw "inside the blocks" counts every blk.N.* tensor (norms too): 5.45 on the real
    # Gemma 3 270M Q4_K_M, against 7.36 over the whole file with its Q8_0 tied embedding.
    block = [t for t in model.tensors if is_block_tensor(t)]
    model.block_tensor_types = _elements_by_type(block)
    model.bits_per_weight = _bpw(block)
    model.bits_per_weight_file = _bpw(model.tensors)
    model.parameters = sum(t.n_elements for t in model.tensors) or None
    model.moe = _moe(model, arch)


def build_gguf_model(header: GGUFHeader, path: str, target: str | None = None) -> Model:
    model = Model(format="gguf", target=target or path)
    model.metadata = _metadata(header)
    model.tensors = _tensors(header)
    model.problems = list(header.problems)
    arch = model.meta("general.architecture")
    model.architecture = arch if isinstance(arch, str) else None
    arch = model.architecture or ""

    derive_tensor_facts(model)

    ctx = model.meta(f"{arch}.context_length")
    model.context_length = _scalar_int(ctx)
    for name in ("block_count", "embedding_length", "feed_forward_length", "vocab_size",
                 "attention.head_count", "attention.head_count_kv", "attention.key_length",
                 "attention.value_length", "attention.sliding_window", "expert_count",
                 "expert_used_count", "expert_shared_count", "expert_feed_forward_length",
                 "leading_dense_block_count"):
        value = model.meta(f"{arch}.{name}")
        if value is not None:
            model.hyperparameters[name] = value

    model.identity = _identity(model, path)
    model.tokenizer = _tokenizer(model, header)
    _calibration(model)

    split = {k: model.meta(k) for k in ("split.no", "split.count", "split.tensors.count") if k in model.metadata}
    model.file = FileFacts(
        path=path, size=header.file_size, header_bytes=header.data_offset, data_end=header.data_end,
        bytes_read=header.bytes_read, version=header.version,
        byte_order="little" if header.byte_order == "<" else "big", alignment=header.alignment,
        split=split or None)
    return model
