"""A header-only GGUF walker over a random-access ByteSource.

Why not gguf.GGUFReader: it memory-maps the whole file and makes a numpy view for every array
element, which on the real Gemma 3 270M file (262,144-token vocabulary) takes 8.5-13 s and
716 MB. This walker reads the header with the standard library, keeps each value's byte
offset, counts and skips large arrays, and never touches tensor data.

Every length and count is checked against the bytes that remain before anything is
allocated, so a hostile header (a 2**62-byte string, a 2**40-element array) is a clean
"corrupt" problem in microseconds. Type ids, sizes and names come from llama.cpp's gguf-py
(through quantlint.facts.ggml_types, generated from it).

Layout (ggml docs/gguf.md): magic "GGUF", u32 version, u64 tensor_count, u64 kv_count,
kv_count x (string key, u32 value type, value), tensor_count x (string name, u32 n_dims,
u64 dims[n_dims], u32 ggml type, u64 offset), padding to the alignment, tensor data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from quantlint.facts.ggml_types import GGUF_VALUE_TYPES
from quantlint.facts.tiers import ggml_type
from quantlint.model import ReadProblem
from quantlint.sources import ByteSource, SourceError

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_KEY_BYTES = 65535  # spec: keys are at most 65535 bytes
MAX_TENSOR_NAME_BYTES = 65535  # GGML_MAX_NAME is 64; anything past 64 KiB is corrupt, not odd
MAX_HEADER_BYTES = 1 << 31  # 2 GiB of header is no model anyone made: treat as corrupt
MAX_ELEMENTS = 1 << 62  # a tensor product of dimensions past this would wrap int64 in ggml
MAX_ARRAY_DEPTH = 4
KEEP_STRING_ARRAY = 1024  # string arrays up to this many elements are kept (tags, languages)
KEEP_NUMERIC_ARRAY = 4096  # numeric arrays up to this are kept (per-layer head counts)
# Large arrays whose raw bytes checks need (token lookups for chat-template checks).
KEEP_BLOB_KEYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type")

# value type id -> (struct code, size); STRING=8 and ARRAY=9 are variable.
_SCALARS: dict[int, tuple[str, int]] = {
    0: ("B", 1), 1: ("b", 1), 2: ("H", 2), 3: ("h", 2), 4: ("I", 4), 5: ("i", 4),
    6: ("f", 4), 7: ("?", 1), 10: ("Q", 8), 11: ("q", 8), 12: ("d", 8),
}
STRING, ARRAY = 8, 9


class _Stop(Exception):
    """Walking cannot go on: carries the problem that says why."""

    def __init__(self, problem: ReadProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


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


class _Buffer:
    """The header bytes read so far; grows from the source on demand."""

    def __init__(self, source: ByteSource) -> None:
        self.source = source
        self.data = bytearray()
        self.size = source.size
        self.fetched = 0

    def ensure(self, end: int, estimated_end: int | None = None) -> bool:
        """Make bytes [0, end) available. False when the file ends first."""
        if end <= len(self.data):
            return True
        if self.size is not None and end > self.size:
            # Still load what exists, so offsets in messages stay meaningful.
            end_wanted = self.size
        else:
            end_wanted = end
        target = max(end_wanted, self.source.prefetch_hint(end_wanted, estimated_end))
        if self.size is not None:
            target = min(target, self.size)
        if target > len(self.data):
            chunk = self.source.read_at(len(self.data), target - len(self.data))
            self.fetched += len(chunk)
            self.data += chunk
        return end <= len(self.data)

    def remaining(self, pos: int) -> int | None:
        return None if self.size is None else self.size - pos


class _Walker:
    def __init__(self, source: ByteSource) -> None:
        self.buf = _Buffer(source)
        self.header = GGUFHeader(source_name=source.name, file_size=source.size)
        self.order = "<"
        self.pos = 0
        self.kv_remaining = 0
        self.token_record_bytes = 0.0  # bytes per token record, once the token list is walked

    # -- primitives ---------------------------------------------------------------------------
    def _truncated(self, what: str, needed: int) -> _Stop:
        size = self.buf.size if self.buf.size is not None else len(self.buf.data)
        return _Stop(ReadProblem(
            kind="truncated",
            message=(f"the file ends at byte {size} inside the header, while reading {what} "
                     f"(needed {needed} bytes at offset {self.pos})"),
            offset=self.pos,
            hint="The download was probably interrupted: download the file again and compare its size and sha256 with the source.",
            details={"expected_at_least": self.pos + needed, "found": size, "in_header": True},
        ))

    def _corrupt(self, message: str, offset: int | None = None, location: str | None = None) -> _Stop:
        return _Stop(ReadProblem(kind="corrupt", message=message,
                                 offset=self.pos if offset is None else offset, location=location))

    def _need(self, n: int, what: str, estimated_end: int | None = None) -> None:
        if not self.buf.ensure(self.pos + n, estimated_end):
            raise self._truncated(what, n)

    def _scalar(self, code: str, size: int, what: str) -> Any:
        if self.pos + size > len(self.buf.data):  # inline the common case: bytes already loaded
            self._need(size, what)
        (value,) = struct.unpack_from(self.order + code, self.buf.data, self.pos)
        self.pos += size
        return value

    def _u32(self, what: str) -> int:
        return self._scalar("I", 4, what)

    def _u64(self, what: str) -> int:
        return self._scalar("Q", 8, what)

    def _check_fits(self, nbytes: int, what: str, start: int) -> None:
        """Refuse a length or count before allocating for it."""
        remaining = self.buf.remaining(self.pos)
        if remaining is not None and nbytes > remaining:
            raise self._corrupt(
                f"{what} declares {nbytes:,} bytes but only {remaining:,} bytes remain in the file",
                offset=start,
            )
        if self.pos + nbytes > MAX_HEADER_BYTES:
            raise self._corrupt(f"{what} declares {nbytes:,} bytes, past the {MAX_HEADER_BYTES:,}-byte header limit", offset=start)

    def _string(self, what: str, limit: int | None = None) -> str:
        start = self.pos
        length = self._u64(f"the length of {what}")
        if limit is not None and length > limit:
            raise self._corrupt(f"{what} is {length:,} bytes long, more than the {limit:,} allowed", offset=start)
        self._check_fits(length, f"{what}", start)
        self._need(length, what)
        raw = bytes(self.buf.data[self.pos:self.pos + length])
        self.pos += length
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.header.problems.append(ReadProblem(
                kind="corrupt", message=f"{what} is not valid UTF-8", offset=start))
            return raw.decode("utf-8", errors="replace")

    # -- values -------------------------------------------------------------------------------
    def _value(self, vtype: int, key: str, depth: int = 0) -> Any:
        if vtype in _SCALARS:
            code, size = _SCALARS[vtype]
            return self._scalar(code, size, f"the value of {key}")
        if vtype == STRING:
            return self._string(f"the string value of {key}")
        if vtype == ARRAY:
            return self._array(key, depth)
        raise self._corrupt(f"unknown value type {vtype} for key {key!r}", offset=self.pos - 4, location=key)

    def _array(self, key: str, depth: int) -> ArrayValue:
        if depth >= MAX_ARRAY_DEPTH:
            raise self._corrupt(f"arrays nested deeper than {MAX_ARRAY_DEPTH} levels in {key!r}", location=key)
        start = self.pos
        etype = self._u32(f"the element type of {key}")
        count = self._u64(f"the element count of {key}")
        first = self.pos
        if etype in _SCALARS:
            code, size = _SCALARS[etype]
            self._check_fits(count * size, f"array {key!r} ({count:,} elements of {GGUF_VALUE_TYPES.get(etype)})", start)
            nbytes = count * size
            values = None
            if count <= KEEP_NUMERIC_ARRAY or key in KEEP_BLOB_KEYS:
                self._need(nbytes, f"array {key!r}", self._estimate_end(self.pos + nbytes))
                if count <= KEEP_NUMERIC_ARRAY:
                    values = list(struct.unpack_from(f"{self.order}{count}{code}", self.buf.data, self.pos))
                if key in KEEP_BLOB_KEYS:
                    self.header.blobs[key] = bytes(self.buf.data[self.pos:self.pos + nbytes])
            self.pos += nbytes
            return ArrayValue(etype, count, first, self.pos, values)
        if etype == STRING:
            self._check_fits(count * 8, f"array {key!r} ({count:,} strings)", start)
            values = self._string_array(key, count)
            if key in KEEP_BLOB_KEYS:
                self.header.blobs[key] = bytes(self.buf.data[first:self.pos])
            return ArrayValue(etype, count, first, self.pos, values)
        if etype == ARRAY:
            self._check_fits(count * 12, f"array {key!r} ({count:,} nested arrays)", start)
            nested = [self._array(key, depth + 1) for _ in range(count)]
            return ArrayValue(etype, count, first, self.pos, nested if count <= KEEP_STRING_ARRAY else None)
        raise self._corrupt(f"unknown element type {etype} in array {key!r}", offset=start, location=key)

    def _string_array(self, key: str, count: int) -> list[str] | None:
        """Walk `count` length-prefixed strings. Small arrays are decoded; big ones are skipped."""
        if count <= KEEP_STRING_ARRAY:
            return [self._string(f"element {i} of {key!r}") for i in range(count)]
        data = self.buf.data
        unpack = struct.Struct(self.order + "Q").unpack_from
        size = self.buf.size
        pos = self.pos
        array_start = pos
        i = 0
        mark_i, mark_pos = 0, pos  # start of the previous 4096-element chunk: the recent average
        while i < count:
            loaded = len(data)
            while i < count and pos + 8 <= loaded:
                chunk_i, chunk_pos = i, pos
                stop = min(count, i + 4096)
                # Fast path, the hot loop of the whole reader (262,144 strings in a Gemma vocab):
                # no per-element bounds check. A length field past the loaded bytes raises
                # struct.error; a string running past them leaves p beyond `loaded`. Either way
                # the chunk is walked again below with every check.
                p = pos
                try:
                    quads, rest = divmod(stop - i, 4)
                    for _ in range(quads):  # unrolled: loop overhead is a third of the cost
                        p += 8 + unpack(data, p)[0]
                        p += 8 + unpack(data, p)[0]
                        p += 8 + unpack(data, p)[0]
                        p += 8 + unpack(data, p)[0]
                    for _ in range(rest):
                        p += 8 + unpack(data, p)[0]
                except (struct.error, OverflowError):  # OverflowError: a hostile length pushed p past 2**63
                    p = loaded + 1
                if p <= loaded:
                    pos, i = p, stop
                    mark_i, mark_pos = chunk_i, chunk_pos
                    continue
                while i < stop and pos + 8 <= loaded:
                    (length,) = unpack(data, pos)
                    end = pos + 8 + length
                    if end > loaded:
                        break
                    pos = end
                    i += 1
                if i == stop:
                    mark_i, mark_pos = chunk_i, chunk_pos
                else:
                    break
            if i >= count:
                break
            self.pos = pos
            if pos + 8 <= loaded:
                (length,) = unpack(data, pos)
                if length > MAX_HEADER_BYTES or (size is not None and length > size - pos - 8):
                    raise self._corrupt(
                        f"element {i} of array {key!r} declares {length:,} bytes but only "
                        f"{max((size or MAX_HEADER_BYTES) - pos - 8, 0):,} bytes remain in the file", offset=pos, location=key)
                need = 8 + length
            else:
                need = 8
            # Vocabularies are ordered by merge rank, so later tokens run longer: the last
            # few thousand predict the rest better than the whole average does.
            average = max((pos - array_start) / max(i, 1), (pos - mark_pos) / max(i - mark_i, 1))
            estimate = pos + int((count - i) * average) + self._tail_estimate(key, count, average)
            if not self.buf.ensure(pos + need, estimate):
                raise self._truncated(f"element {i} of array {key!r}", need)
            data = self.buf.data
        self.pos = pos
        if key == "tokenizer.ggml.tokens" and count:
            self.token_record_bytes = (pos - array_start) / count
        return None

    def _tail_estimate(self, key: str, count: int, average: float) -> int:
        """Rough bytes still to come after the current array, for remote read-ahead."""
        tail = self._estimate_end(0)
        if key == "tokenizer.ggml.tokens":
            tail += self._tokenizer_arrays_after_tokens(count, average)
        return tail

    def _tokenizer_arrays_after_tokens(self, count: int, average: float) -> int:
        """The arrays that follow the token list in convert_hf_to_gguf's order."""
        if self.header.value("tokenizer.ggml.model") == "gpt2":
            # token_type (i32) and merges: byte-level BPE has about one merge per token, and
            # a merge "a b" is as long as the token it makes, plus the space.
            return count * 4 + int(count * (average + 1))
        return count * 8  # scores (f32) and token_type (i32)

    def _estimate_end(self, end: int) -> int:
        tail = self.kv_remaining * 64 + (self.header.tensor_count or 0) * 96
        h = self.header
        if (h.value("tokenizer.ggml.model") == "gpt2" and "tokenizer.ggml.tokens" in h.kvs
                and "tokenizer.ggml.merges" not in h.kvs and self.token_record_bytes):
            tail += int(h.kvs["tokenizer.ggml.tokens"].value.count * (self.token_record_bytes + 1))
        return end + tail

    # -- sections -----------------------------------------------------------------------------
    def walk(self) -> GGUFHeader:
        h = self.header
        try:
            self._preamble()
            self._kvs()
            self._tensor_infos()
            self._layout()
            h.complete = True
        except _Stop as stop:
            h.problems.append(stop.problem)
        except SourceError as exc:
            h.problems.append(ReadProblem(kind="unreadable", message=str(exc), offset=self.pos))
        h.bytes_read = self.buf.fetched
        return h

    def _preamble(self) -> None:
        h = self.header
        if h.file_size == 0:
            raise self._corrupt("the file is empty (0 bytes)", offset=0)
        self.buf.ensure(24)
        if bytes(self.buf.data[:4]) != GGUF_MAGIC:
            found = bytes(self.buf.data[:4])
            raise self._corrupt(f"bad magic {found!r} at offset 0: this is not a GGUF file", offset=0)
        self.pos = 4
        raw_version = self._u32("the version")
        if raw_version & 0xFFFF == 0 and raw_version != 0:
            self.order = ">"  # written on a big-endian host: every number is byte-swapped
            raw_version = struct.unpack("<I", struct.pack(">I", raw_version))[0]
        h.byte_order = self.order
        h.version = raw_version
        if raw_version not in SUPPORTED_VERSIONS:
            raise self._corrupt(f"unsupported GGUF version {raw_version} (quantlint reads versions 2 and 3)", offset=4)
        h.tensor_count = self._u64("the tensor count")
        h.kv_count = self._u64("the metadata count")
        remaining = self.buf.remaining(self.pos)
        if remaining is not None:
            # Each key/value needs at least 13 bytes, each tensor info at least 24.
            if h.kv_count * 13 > remaining:
                raise self._corrupt(f"the header declares {h.kv_count:,} metadata entries, impossible in the {remaining:,} bytes that remain", offset=16)
            if h.tensor_count * 24 > remaining:
                raise self._corrupt(f"the header declares {h.tensor_count:,} tensors, impossible in the {remaining:,} bytes that remain", offset=8)

    def _kvs(self) -> None:
        h = self.header
        for index in range(h.kv_count or 0):
            self.kv_remaining = (h.kv_count or 0) - index - 1
            start = self.pos
            key = self._string(f"the key of metadata entry {index}", MAX_KEY_BYTES)
            vtype = self._u32(f"the value type of {key!r}")
            value = self._value(vtype, key)
            if key in h.kvs:
                h.problems.append(ReadProblem(
                    kind="corrupt", message=f"duplicate metadata key {key!r} (first at offset {h.kvs[key].offset})",
                    offset=start, location=key))
                continue
            h.kvs[key] = KV(key, vtype, value, start)
        alignment = h.kvs.get("general.alignment")
        if alignment is not None:
            value = alignment.value
            if alignment.value_type != 4 or not isinstance(value, int) or value <= 0 or value & (value - 1):
                h.problems.append(ReadProblem(
                    kind="corrupt",
                    message=f"general.alignment is {value!r} ({GGUF_VALUE_TYPES.get(alignment.value_type)}); it must be a UINT32 power of two",
                    offset=alignment.offset, location="general.alignment"))
            else:
                h.alignment = value

    def _tensor_infos(self) -> None:
        h = self.header
        seen: dict[str, int] = {}
        for index in range(h.tensor_count or 0):
            start = self.pos
            name = self._string(f"the name of tensor {index}", MAX_TENSOR_NAME_BYTES)
            n_dims = self._u32(f"n_dims of tensor {name!r}")
            if n_dims > MAX_DIMS:
                raise self._corrupt(f"tensor {name!r} declares {n_dims} dimensions; GGML allows at most {MAX_DIMS}", offset=start, location=name)
            self._need(8 * n_dims, f"the dimensions of tensor {name!r}")
            shape = struct.unpack_from(f"{self.order}{n_dims}Q", self.buf.data, self.pos)
            self.pos += 8 * n_dims
            n_elements = 1
            for dim in shape:
                n_elements *= dim
                if n_elements > MAX_ELEMENTS:
                    raise self._corrupt(f"tensor {name!r} has dimensions {list(shape)} whose product overflows 64 bits", offset=start, location=name)
            type_id = self._u32(f"the type of tensor {name!r}")
            rel_offset = self._u64(f"the data offset of tensor {name!r}")
            known = ggml_type(type_id)
            nbytes = None
            type_name = None
            if known is None:
                h.problems.append(ReadProblem(
                    kind="corrupt",
                    message=f"tensor {name!r} has unknown GGML type {type_id}; its size cannot be computed",
                    offset=start, location=name, details={"type_id": type_id}))
            else:
                type_name, block, size = known
                if shape and shape[0] % block:
                    h.problems.append(ReadProblem(
                        kind="corrupt",
                        message=f"tensor {name!r}: its first dimension {shape[0]} is not a multiple of the {type_name} block size {block}",
                        offset=start, location=name))
                nbytes = (n_elements // block) * size
            if name in seen:
                h.problems.append(ReadProblem(
                    kind="corrupt", message=f"duplicate tensor name {name!r} (first declared at offset {seen[name]})",
                    offset=start, location=name))
            else:
                seen[name] = start
            h.tensors.append(TensorInfo(name, tuple(shape), type_id, type_name, rel_offset, start, n_elements, nbytes))

    def _layout(self) -> None:
        h = self.header
        align = h.alignment
        h.data_offset = (self.pos + align - 1) // align * align
        data_end = h.data_offset
        spans: list[tuple[int, int, str]] = []
        for t in h.tensors:
            if t.relative_offset % align:
                h.problems.append(ReadProblem(
                    kind="corrupt",
                    message=f"tensor {t.name!r} data offset {t.relative_offset} is not a multiple of the alignment {align}",
                    offset=t.info_offset, location=t.name))
            if t.nbytes is None:
                continue
            start = h.data_offset + t.relative_offset
            end = start + t.nbytes
            spans.append((start, end, t.name))
            data_end = max(data_end, end)
        spans.sort()
        for (a_start, a_end, a_name), (b_start, _b_end, b_name) in zip(spans, spans[1:]):
            if b_start < a_end:
                info = next(t.info_offset for t in h.tensors if t.name == b_name)
                h.problems.append(ReadProblem(
                    kind="corrupt",
                    message=f"tensor {b_name!r} (data at byte {b_start}) overlaps tensor {a_name!r} (bytes {a_start}-{a_end})",
                    offset=info, location=b_name))
                break
        h.data_end = data_end if h.tensors else self.pos
        if h.file_size is not None and h.tensors and h.data_end > h.file_size:
            missing = h.data_end - h.file_size
            h.problems.append(ReadProblem(
                kind="truncated",
                message=(f"expected {h.data_end:,} bytes, found {h.file_size:,}: the tensor data ends "
                         f"{missing:,} bytes ({missing / h.data_end:.0%}) short"),
                offset=h.file_size,
                hint="This is usually an interrupted download: fetch the file again (huggingface-cli download resumes) and check its size against the repo.",
                details={"expected": h.data_end, "found": h.file_size},
            ))


def read_gguf_header(source: ByteSource) -> GGUFHeader:
    """Walk a GGUF header. Never raises for bad input: problems are recorded on the result."""
    return _Walker(source).walk()
