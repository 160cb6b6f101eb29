"""A bounded safetensors header parser over a ByteSource: 8-byte length + JSON, nothing else.

Layout (huggingface/safetensors README): u64 little-endian N, then N bytes of UTF-8 JSON
`{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}`,
then the data buffer; offsets are relative to the buffer, which starts at 8 + N.

The length is checked against the file size and a cap before anything is read, so a hostile
length costs nothing; the parser then reads exactly 8 + N bytes and never a byte of tensor data.
Faults become ReadProblems with byte offsets: "truncated" when the file ends before the header
or the data it declares, "corrupt" for a malformed header, bad offsets, overlapping tensors.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field

from quantlint.facts.hf_formats import dtype_nbytes
from quantlint.model import ReadProblem
from quantlint.readers.lfs import POINTER_MAX_BYTES, parse_lfs_pointer
from quantlint.sources import ByteSource, SourceError

# The safetensors crate refuses headers over 100 MB (MAX_HEADER_SIZE); huggingface_hub over
# 25 MB. Real headers are well under 1 MB (a 70B GPTQ: 0.27 MB).
MAX_HEADER_BYTES = 100_000_000
MAX_DIMS = 16


@dataclass(frozen=True)
class SafetensorsTensor:
    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int  # relative to the data buffer
    end: int

    @property
    def n_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.end - self.begin


@dataclass
class SafetensorsHeader:
    path: str
    file_size: int | None
    header_length: int | None = None  # N
    tensors: list[SafetensorsTensor] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    problems: list[ReadProblem] = field(default_factory=list)
    bytes_read: int = 0
    lfs_pointer: dict[str, object] | None = None  # oid/size when the file is a Git LFS pointer

    @property
    def data_start(self) -> int | None:
        return None if self.header_length is None else 8 + self.header_length

    @property
    def data_end(self) -> int | None:
        """Absolute offset just past the last tensor's data."""
        if self.data_start is None:
            return None
        return self.data_start + max((t.end for t in self.tensors), default=0)


def _problem(header: SafetensorsHeader, kind: str, message: str, offset: int | None, **details: object) -> None:
    header.problems.append(ReadProblem(kind=kind, message=f"{header.path}: {message}", offset=offset,
                                       location=header.path, details=dict(details)))


def _read(source: ByteSource, header: SafetensorsHeader, offset: int, length: int) -> bytes:
    data = source.read_at(offset, length)
    header.bytes_read += len(data)
    return data


def _pairs_no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _valid_shape(shape: object) -> bool:
    return (isinstance(shape, list) and len(shape) <= MAX_DIMS
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape))


def _entry(header: SafetensorsHeader, name: str, info: object) -> SafetensorsTensor | None:
    where = 8  # faults inside the JSON are reported at the start of the header
    if not isinstance(info, dict):
        _problem(header, "corrupt", f"tensor {name!r}: header entry is not an object", where)
        return None
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dtype, str):
        _problem(header, "corrupt", f"tensor {name!r}: dtype is missing or not a string", where)
        return None
    if not _valid_shape(shape):
        _problem(header, "corrupt", f"tensor {name!r}: shape {shape!r} is not a list of non-negative integers", where)
        return None
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
            and offsets[0] <= offsets[1]):
        _problem(header, "corrupt", f"tensor {name!r}: data_offsets {offsets!r} is not [begin, end] with begin <= end", where)
        return None
    tensor = SafetensorsTensor(name, dtype, tuple(shape), offsets[0], offsets[1])
    expected = dtype_nbytes(dtype, tensor.n_elements)
    if expected is not None and expected != tensor.nbytes:
        _problem(header, "corrupt", f"tensor {name!r}: {dtype} {list(shape)} needs {expected:,} bytes but "
                 f"data_offsets span {tensor.nbytes:,}", (header.data_start or 8) + tensor.begin,
                 tensor=name, expected=expected, declared=tensor.nbytes)
    return tensor


def _check_layout(header: SafetensorsHeader) -> None:
    """Overlaps between tensors, and data declared past the end of the file."""
    start = header.data_start or 0
    ordered = sorted(header.tensors, key=lambda t: (t.begin, t.end))
    for prev, cur in zip(ordered, ordered[1:]):
        if cur.begin < prev.end and cur.nbytes and prev.nbytes:
            _problem(header, "corrupt", f"tensors {prev.name!r} [{prev.begin}, {prev.end}) and {cur.name!r} "
                     f"[{cur.begin}, {cur.end}) overlap", start + cur.begin, tensors=[prev.name, cur.name])
            break  # one overlap says the layout is broken; a thousand say nothing more
    end = header.data_end
    if end is not None and header.file_size is not None and end > header.file_size:
        last = max(header.tensors, key=lambda t: t.end)
        _problem(header, "truncated", f"expected {end:,} bytes, found {header.file_size:,} "
                 f"({end - header.file_size:,} missing; tensor {last.name!r} ends past the end of the file)",
                 header.file_size, expected=end, found=header.file_size, missing=end - header.file_size)


def read_safetensors_header(source: ByteSource, path: str | None = None,
                            max_header_bytes: int = MAX_HEADER_BYTES) -> SafetensorsHeader:
    """Walk one safetensors header. Never raises for bad content; I/O faults become problems."""
    header = SafetensorsHeader(path=path or source.name, file_size=source.size)
    try:
        _walk(source, header, max_header_bytes)
    except SourceError as exc:
        _problem(header, "unreadable", str(exc), None)
    return header


def _walk(source: ByteSource, header: SafetensorsHeader, max_header_bytes: int) -> None:
    size = header.file_size
    head = _read(source, header, 0, 8)
    if head.startswith(b"version "):  # maybe a Git LFS pointer left by a clone without `git lfs pull`
        text = head + _read(source, header, 8, POINTER_MAX_BYTES - 8)
        pointer = parse_lfs_pointer(text, size if size is not None else len(text))
        if pointer is not None:
            header.lfs_pointer = {"oid": pointer.oid, "size": pointer.size}
            return
    if len(head) < 8:
        _problem(header, "truncated", f"file is {len(head)} bytes: it ends inside the 8-byte header length", len(head))
        return
    (length,) = struct.unpack("<Q", head)
    if length > max_header_bytes:
        _problem(header, "corrupt", f"header length {length:,} is over the {max_header_bytes:,}-byte limit: "
                 "not a safetensors file, or a corrupt one", 0, header_length=length)
        return
    if length < 2:
        _problem(header, "corrupt", f"header length {length} is too short for a JSON object", 0, header_length=length)
        return
    if size is not None and 8 + length > size:
        _problem(header, "truncated", f"header declares {length:,} bytes but only {size - 8:,} follow the length: "
                 "the file ends inside its header", size, header_length=length, found=size)
        return
    raw = _read(source, header, 8, length)
    if len(raw) < length:
        _problem(header, "truncated", f"header declares {length:,} bytes, read {len(raw):,}", 8 + len(raw))
        return
    header.header_length = length
    try:
        parsed = json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs_no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        _problem(header, "corrupt", f"header is not valid UTF-8 JSON: {exc}", 8)
        return
    if not isinstance(parsed, dict):
        _problem(header, "corrupt", "header JSON is not an object", 8)
        return
    meta = parsed.pop("__metadata__", None)
    if isinstance(meta, dict):
        header.metadata = {str(k): v for k, v in meta.items() if isinstance(v, str)}
    elif meta is not None:
        _problem(header, "corrupt", "__metadata__ is not an object of strings", 8)
    for name, info in parsed.items():
        tensor = _entry(header, name, info)
        if tensor is not None:
            header.tensors.append(tensor)
    _check_layout(header)
