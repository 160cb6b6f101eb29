"""The plain records the GGUF header walker fills (gguf-py's reader style: each keeps its byte offset).

quantlint.readers.gguf_header walks the bytes; quantlint.readers.gguf_layout judges the data
section; quantlint.readers.gguf_model turns a GGUFHeader into the format-neutral Model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quantlint.model import ReadProblem

DEFAULT_ALIGNMENT = 32  # general.alignment when the file does not set it (ggml docs/gguf.md)


@dataclass(frozen=True)
class ArrayValue:
    """A metadata array: element type and count, its byte span, and the values when small."""

    element_type: int
    count: int
    offset: int  # absolute offset of the first element
    end: int  # absolute offset just past the last element
    values: list[Any] | None  # kept only for small arrays


@dataclass(frozen=True)
class KV:
    """One metadata key/value pair and the byte offset where it starts."""

    key: str
    value_type: int
    value: Any  # scalar, str, or ArrayValue
    offset: int  # where the key/value record starts


@dataclass(frozen=True)
class TensorInfo:
    """One tensor declaration: name, shape, ggml type and data offset."""

    name: str
    shape: tuple[int, ...]
    type_id: int
    type_name: str | None  # None for an id nobody knows
    relative_offset: int
    info_offset: int
    n_elements: int
    nbytes: int | None


@dataclass
class GGUFHeader:
    """Everything the walker read from a GGUF header, and the problems it met."""

    source_name: str
    file_size: int | None
    version: int | None = None
    byte_order: str = "<"
    tensor_count: int | None = None
    kv_count: int | None = None
    kvs: dict[str, KV] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)
    alignment: int = DEFAULT_ALIGNMENT
    data_offset: int | None = None
    data_end: int | None = None
    problems: list[ReadProblem] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    bytes_read: int = 0
    complete: bool = False  # the whole header (KVs and tensor infos) was walked

    def value(self, key: str, default: Any = None) -> Any:
        kv = self.kvs.get(key)
        return default if kv is None else kv.value
