"""The Model: the one format-neutral record that every check reads.

Every reader (GGUF header walker, Hugging Face model directory, remote variants of both) fills
the same record. A fact a reader cannot know stays None. Checks never see a file, a header
or a config: only this record, so one rule works for every format.

The records keep byte offsets and the key or tensor a fact came from, so a finding can point
at the place in the file (gguf-py's reader style).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any


@dataclass(frozen=True)
class ReadProblem:
    """Something a reader could not read, or found broken, while walking a file.

    kind is one of: "truncated", "corrupt", "lfs-pointer", "unsupported", "unreadable", "oddity"
    (something llama.cpp's loader accepts but no writer should produce; the file stays readable).
    QL9xx checks turn these into findings; the reader itself never knows a rule.
    """

    kind: str
    message: str
    offset: int | None = None
    location: str | None = None
    hint: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetadataValue:
    """One metadata entry: a GGUF key/value, or a config field. Large arrays are summarised."""

    key: str
    value: Any
    type_name: str
    offset: int | None = None
    # For arrays: element type and element count; value holds the elements only when small.
    element_type: str | None = None
    count: int | None = None


@dataclass(frozen=True)
class TensorRecord:
    """One tensor as declared by a header (GGUF tensor info or safetensors header entry)."""

    name: str
    type_name: str  # ggml type name ("Q4_K") or safetensors dtype ("I32")
    shape: tuple[int, ...]
    n_elements: int
    nbytes: int | None  # None when the type is unknown, so the size cannot be computed
    offset: int | None = None  # absolute byte offset of the data, when known
    info_offset: int | None = None  # where the declaration itself sits in the file
    type_id: int | None = None
    file: str | None = None  # shard or weight file the tensor lives in


@dataclass
class MoEFacts:
    """A Mixture-of-Experts model: expert counts and the experts' own bits per weight."""

    experts: int
    experts_used: int | None = None
    shared_experts: int | None = None
    expert_bits_per_weight: float | None = None
    always_active_bits_per_weight: float | None = None
    expert_tensor_types: dict[str, int] = field(default_factory=dict)  # elements per type
    detected_from: str | None = None  # key or tensor pattern that revealed the MoE
    layout: str | None = None  # "fused" | "per-expert" | "config"


@dataclass
class CalibrationFacts:
    """The calibration data a quant records (or a format's default), and where it was read."""

    dataset: str | None
    source: str  # where it was read: a key, a config field, a card section, or "default"
    kind: str = "recorded"  # "recorded" | "default-assumed" | "built-in"
    confidence: str = "high"  # "high" | "medium" | "low"
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Identity:
    """What the model says it is: general.* names, base models, the repo and file it came from."""

    name: str | None = None
    basename: str | None = None
    finetune: str | None = None
    version: str | None = None
    size_label: str | None = None
    organization: str | None = None
    base_models: list[str] = field(default_factory=list)
    repo: str | None = None  # Hugging Face repo id when the target came from one
    file_name: str | None = None
    name_or_path: str | None = None  # config.json _name_or_path
    architectures: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    quantized_by: str | None = None


@dataclass
class TokenizerFacts:
    """Tokenizer facts: model and pre-tokenizer, vocabulary size, special ids, chat template."""

    model: str | None = None  # tokenizer.ggml.model (gpt2, llama, ...) or HF tokenizer class
    pre: str | None = None
    vocab_size: int | None = None
    scores_count: int | None = None
    token_type_count: int | None = None
    merges_count: int | None = None
    special_ids: dict[str, int] = field(default_factory=dict)  # "bos" -> id
    has_chat_template: bool = False
    chat_template: str | None = None
    named_chat_templates: dict[str, str] = field(default_factory=dict)
    chat_template_source: str | None = None
    # Raw bytes of the tokens array (length-prefixed strings) and the token_type array, kept
    # from the header buffer so that checks can look tokens up without any I/O.
    tokens_blob: bytes | None = field(default=None, repr=False)
    token_types_blob: bytes | None = field(default=None, repr=False)
    byte_order: str = "<"


@dataclass
class FileFacts:
    """The file itself: size, header bytes, where the data ends, bytes read, shards."""

    path: str
    size: int | None = None
    header_bytes: int | None = None
    data_end: int | None = None  # where the last tensor's data ends
    bytes_read: int | None = None
    version: int | None = None
    byte_order: str | None = None
    alignment: int | None = None
    shards: list[str] = field(default_factory=list)
    split: dict[str, Any] | None = None  # split.no / split.count / split.tensors.count


@dataclass
class CardFacts:
    """The model card (README.md front matter), when one was found."""

    source: str
    base_model: list[str] = field(default_factory=list)
    base_model_relation: str | None = None
    quantized_by: str | None = None
    pipeline_tag: str | None = None
    tags: list[str] = field(default_factory=list)
    language: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)  # training data, not calibration data
    license: str | None = None
    model_name: str | None = None
    text: str | None = field(default=None, repr=False)  # markdown body, for card-table readers


@dataclass
class Model:
    """The format-neutral record every check reads (DESIGN.md); unknown facts stay None."""

    format: str  # gguf, exl2, exl3, awq, gptq, compressed-tensors, auto-round, bitsandbytes,
    # hqq, fp8, mxfp4, mlx, safetensors, lfs-pointer, unknown
    target: str
    architecture: str | None = None
    quant: str | None = None  # human label: "Q4_K_M", "EXL2 4.0 bpw (head 6)"
    quant_source: str | None = None  # where the label came from (general.file_type, guessed...)
    file_type: int | None = None  # GGUF general.file_type (LlamaFileType) when present
    bits_per_weight: float | None = None  # over the repeating-block weight matrices
    bits_per_weight_file: float | None = None  # over every tensor in the file
    declared_bits: float | None = None  # what the config or label says (EXL2 target, GPTQ bits)
    packed_bits: float | None = None  # bit width measured from packed tensor shapes (AWQ/GPTQ)
    domain: dict[str, Any] | None = None  # inferred use domain: {"domain": "code", "confidence": ..., "evidence": [...]}
    group_size: int | None = None
    tensor_types: dict[str, int] = field(default_factory=dict)  # elements per type
    block_tensor_types: dict[str, int] = field(default_factory=dict)  # elements per type, blk.* only
    kept_high_precision: list[str] = field(default_factory=list)
    moe: MoEFacts | None = None
    parameters: int | None = None
    context_length: int | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)  # layers, heads, kv heads, ...
    calibration: CalibrationFacts | None = None
    imatrix: dict[str, Any] | None = None  # quantize.imatrix.* as read
    identity: Identity = field(default_factory=Identity)
    tokenizer: TokenizerFacts = field(default_factory=TokenizerFacts)
    file: FileFacts | None = None
    card: CardFacts | None = None
    # What the model was promised to be vs what it says it is (quantlint.provenance), and the
    # base_model chain read from the Hub (quantlint.readers.card.walk_base_chain).
    provenance: dict[str, Any] | None = None
    tensors: list[TensorRecord] = field(default_factory=list)
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    problems: list[ReadProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # facts worth showing in inspect

    @property
    def readable(self) -> bool:
        """True when the header could be walked far enough for quality checks to be meaningful.

        A file cut inside its header is not: the keys after the cut are unknown, so a quality
        check would report what is merely unread (no base model, no chat template) as missing.
        A file cut inside its tensor data keeps a whole header and stays readable."""
        return not any(p.kind in ("corrupt", "lfs-pointer", "unsupported", "unreadable")
                       or (p.kind == "truncated" and p.details.get("in_header")) for p in self.problems)

    def meta(self, key: str, default: Any = None) -> Any:
        entry = self.metadata.get(key)
        return default if entry is None else entry.value

    def meta_offset(self, key: str) -> int | None:
        entry = self.metadata.get(key)
        return None if entry is None else entry.offset


# Fields of the Model that are too bulky (or binary) for the JSON contract.
_NOT_IN_JSON = {"tensors", "metadata", "tokens_blob", "token_types_blob", "chat_template", "named_chat_templates", "text"}


def to_jsonable(value: Any) -> Any:
    """Turn a Model (or one of its parts) into plain JSON data, dropping bulky fields."""
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in fields(value):
            if f.name in _NOT_IN_JSON:
                continue
            out[f.name] = to_jsonable(getattr(value, f.name))
        return out
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return None
    if isinstance(value, float):
        return round(value, 4)
    return value


def model_to_json(model: Model) -> dict[str, Any]:
    data = to_jsonable(model)
    data.pop("target", None)
    data["readable"] = model.readable
    data["tensor_count"] = len(model.tensors)
    tok = data.get("tokenizer")
    if isinstance(tok, dict):
        tok["chat_template_chars"] = len(model.tokenizer.chat_template or "")
    return data
