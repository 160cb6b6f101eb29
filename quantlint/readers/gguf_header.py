"""A header-only GGUF walker over a random-access ByteSource.

Why not gguf.GGUFReader: it memory-maps the whole file and makes a numpy view for every array
element, which on the real Gemma 3 270M file (262,144-token vocabulary) takes 8.5-13 s and
716 MB. This walker reads the header with the standard library, keeps each value's byte
offset, counts and skips large arrays, and never touches tensor data.

Every length and count is checked before anything is allocated. Past the limits llama.cpp's
loader enforces (ggml/src/gguf.cpp: 1 GiB strings, 2**30-element arrays, int64 dimensions) a
value is "corrupt" (bytes present and wrong: a 2**62-byte string is a clean problem in
microseconds); within them, a value that runs past the end of the file is "truncated" (the
file ends before the bytes it declares). What the loader accepts but no writer should produce
(strings that are not UTF-8) is an "oddity", never "corrupt". Type ids and sizes are ggml's own
(quantlint.facts.ggml_types, generated from ggml.c and ggml-common.h).

Layout (ggml docs/gguf.md): magic "GGUF", u32 version, u64 tensor_count, u64 kv_count,
kv_count x (string key, u32 value type, value), tensor_count x (string name, u32 n_dims,
u64 dims[n_dims], u32 ggml type, u64 offset), padding to the alignment, tensor data.
"""

from __future__ import annotations

import struct
from typing import Any

from quantlint.facts.ggml_types import GGUF_VALUE_TYPES
from quantlint.facts.tiers import ggml_type
from quantlint.model import ReadProblem
from quantlint.readers.gguf_layout import LOADER, layout, unknown_type_problem
from quantlint.readers.gguf_records import DEFAULT_ALIGNMENT, KV, ArrayValue, GGUFHeader, TensorInfo
from quantlint.readers.legacy_ggml import gguf_v1_problem, legacy_problem
from quantlint.sources import ByteSource, SourceError

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
NEWEST_PLAUSIBLE_VERSION = 255  # a version past 3 but below this is a newer format, above it garbage
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_KEY_BYTES = 65535  # spec: keys are at most 65535 bytes (llama.cpp accepts longer: an oddity)
GGML_MAX_NAME = 64  # ggml.h: llama.cpp refuses a tensor name of 64 bytes or more
MAX_STRING_BYTES = 1 << 30  # gguf.cpp GGUF_MAX_STRING_LENGTH: the loader refuses longer strings
MAX_ARRAY_ELEMENTS = 1 << 30  # gguf.cpp GGUF_MAX_ARRAY_ELEMENTS
MAX_COUNT = 1 << 24  # more tensors or metadata entries than any model has: a corrupt count
MAX_HEADER_BYTES = 1 << 31  # 2 GiB of header is no model anyone made: treat as corrupt
INT64_MAX = (1 << 63) - 1  # gguf.cpp: dimensions and element counts are int64
SIZE_MAX = (1 << 64) - 1  # gguf.cpp: a tensor's bytes (padded) must fit a size_t
MIN_KV_BYTES = 13  # key length (8) + value type (4) + a 1-byte value
MIN_TENSOR_INFO_BYTES = 24  # name length (8) + n_dims (4) + type (4) + offset (8)
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
        self.kv_remaining = 0  # records still to come: a lower bound on the bytes a cut file lacks
        self.tensors_remaining = 0
        self.token_record_bytes = 0.0  # bytes per token record, once the token list is walked

    # -- primitives ---------------------------------------------------------------------------
    def _truncated(self, what: str, needed: int) -> _Stop:
        """The file ends before the `needed` bytes of `what` at self.pos (and the records after it)."""
        size = self.buf.size if self.buf.size is not None else len(self.buf.data)
        expected = self.pos + needed + self.kv_remaining * MIN_KV_BYTES + self.tensors_remaining * MIN_TENSOR_INFO_BYTES
        missing = max(expected - size, 1)
        return _Stop(ReadProblem(
            kind="truncated",
            message=(f"the file ends at byte {size:,}, inside the header while reading {what} at offset "
                     f"{self.pos:,}: at least {missing:,} more bytes are missing"),
            offset=size,
            hint="The download was probably interrupted: download the file again and compare its size and sha256 with the source.",
            details={"expected_at_least": expected, "found": size, "missing_at_least": missing,
                     "record_offset": self.pos, "in_header": True},
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

    def _check_fits(self, nbytes: int, what: str, start: int, limit: int | None = None, count: int | None = None) -> None:
        """Refuse a length or count before allocating for it: past a loader limit it is corrupt,
        past the end of the file the file is truncated."""
        remaining = self.buf.remaining(self.pos)
        left = f" (only {remaining:,} bytes remain in the file)" if remaining is not None else ""
        if limit is not None and (count if count is not None else nbytes) > limit:
            raise self._corrupt(f"{what} declares {nbytes:,} bytes, past llama.cpp's limit of {limit:,}{left}", offset=start)
        if self.pos + nbytes > MAX_HEADER_BYTES:
            raise self._corrupt(f"{what} declares {nbytes:,} bytes, past the {MAX_HEADER_BYTES:,}-byte header limit{left}", offset=start)
        if remaining is not None and nbytes > remaining:
            raise self._truncated(what, nbytes)

    def _string(self, what: str, limit: int | None = None) -> str:
        start = self.pos
        length = self._u64(f"the length of {what}")
        if limit is not None and length > limit:
            raise self._corrupt(f"{what} is {length:,} bytes long, more than the {limit:,} llama.cpp allows", offset=start)
        self._check_fits(length, f"{what}", start, MAX_STRING_BYTES)
        self._need(length, what)
        raw = bytes(self.buf.data[self.pos:self.pos + length])
        self.pos += length
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            # llama.cpp stores the bytes as they are and loads the file (tests/test-gguf.cpp
            # writes random bytes as strings and expects them back): odd, not corrupt.
            self.header.problems.append(ReadProblem(
                kind="oddity", message=f"{what} is not valid UTF-8", offset=start,
                details={"oddity": "invalid-utf8"}))
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
            self._check_fits(count * size, f"array {key!r} ({count:,} elements of {GGUF_VALUE_TYPES.get(etype)})", start,
                             MAX_ARRAY_ELEMENTS, count)
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
            self._check_fits(count * 8, f"array {key!r} ({count:,} strings)", start, MAX_ARRAY_ELEMENTS, count)
            values = self._string_array(key, count)
            if key in KEEP_BLOB_KEYS:
                self.header.blobs[key] = bytes(self.buf.data[first:self.pos])
            return ArrayValue(etype, count, first, self.pos, values)
        if etype == ARRAY:
            if depth == 0:  # the spec allows it; gguf.cpp refuses it ("has invalid GGUF type 9")
                self.header.problems.append(ReadProblem(
                    kind="unsupported", offset=start, location=key, details={"nested_array": key},
                    message=f"metadata {key!r} is an array of arrays, which llama.cpp's loader refuses (\"invalid GGUF type 9\")",
                    hint="Rewrite the value as a flat array (gguf-py's gguf-new-metadata) or re-convert with llama.cpp's converter."))
            self._check_fits(count * 12, f"array {key!r} ({count:,} nested arrays)", start, MAX_ARRAY_ELEMENTS, count)
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
                if length > MAX_STRING_BYTES:
                    raise self._corrupt(
                        f"element {i} of array {key!r} declares {length:,} bytes, past llama.cpp's limit of "
                        f"{MAX_STRING_BYTES:,} (only {max((size or MAX_HEADER_BYTES) - pos - 8, 0):,} bytes remain in the file)",
                        offset=pos, location=key)
                if size is not None and length > size - pos - 8:
                    raise self._truncated(f"element {i} of array {key!r}", 8 + length)
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
            layout(h, self.pos)
            h.complete = True
        except _Stop as stop:
            h.problems.append(stop.problem)
        except SourceError as exc:
            h.problems.append(ReadProblem(kind="unreadable", message=str(exc), offset=self.pos))
        h.bytes_read = self.buf.fetched
        return h

    def _preamble(self) -> None:
        h = self.header
        self.buf.ensure(24)
        head = bytes(self.buf.data[:8])
        if len(head) < 4 and GGUF_MAGIC.startswith(head):
            what = "an empty file (0 bytes)" if not head else f"{len(head)} bytes ({head!r})"
            raise self._truncated(f"the GGUF magic ({what})", 24)
        if head[:4] != GGUF_MAGIC:
            legacy = legacy_problem(head)
            if legacy is not None:
                raise _Stop(legacy)
            raise self._corrupt(f"bad magic {head[:4]!r} at offset 0: this is not a GGUF file", offset=0)
        self.pos = 4
        raw_version = self._u32("the version")
        if raw_version & 0xFFFF == 0 and raw_version != 0:
            self.order = ">"  # written on a big-endian host: every number is byte-swapped
            raw_version = struct.unpack("<I", struct.pack(">I", raw_version))[0]
        h.byte_order = self.order
        h.version = raw_version
        if raw_version == 1:
            raise _Stop(gguf_v1_problem())
        if SUPPORTED_VERSIONS[-1] < raw_version <= NEWEST_PLAUSIBLE_VERSION:
            raise _Stop(ReadProblem(
                kind="unsupported", offset=4, details={"gguf_version": raw_version},
                message=f"GGUF version {raw_version}, newer than the versions quantlint and llama.cpp {LOADER} read (2 and 3)",
                hint="A newer llama.cpp may write this version: update quantlint (pip install -U quantlint) and your runtime."))
        if raw_version not in SUPPORTED_VERSIONS:
            raise self._corrupt(f"GGUF version {raw_version} is no version llama.cpp ever wrote (it reads 2 and 3)", offset=4)
        h.tensor_count = self._u64("the tensor count")
        h.kv_count = self._u64("the metadata count")
        for count, what, offset in ((h.tensor_count, "tensors", 8), (h.kv_count, "metadata entries", 16)):
            if count > MAX_COUNT:
                raise self._corrupt(f"the header declares {count:,} {what}; no model has more than {MAX_COUNT:,}", offset=offset)
        self.kv_remaining, self.tensors_remaining = h.kv_count, h.tensor_count
        remaining = self.buf.remaining(self.pos)
        if remaining is not None:
            # Each key/value needs at least 13 bytes, each tensor info at least 24: a file
            # shorter than that ends before the records its counts declare.
            self.kv_remaining, self.tensors_remaining = 0, 0
            if h.kv_count * MIN_KV_BYTES + h.tensor_count * MIN_TENSOR_INFO_BYTES > remaining:
                raise self._truncated(f"{h.kv_count:,} metadata entries and {h.tensor_count:,} tensor infos",
                                      h.kv_count * MIN_KV_BYTES + h.tensor_count * MIN_TENSOR_INFO_BYTES)

    def _kvs(self) -> None:
        h = self.header
        for index in range(h.kv_count or 0):
            self.kv_remaining = (h.kv_count or 0) - index - 1
            self.tensors_remaining = h.tensor_count or 0
            start = self.pos
            key = self._string(f"the key of metadata entry {index}")
            if not key:
                raise self._corrupt(f"the key of metadata entry {index} is empty (llama.cpp refuses it)", offset=start)
            if len(key) > MAX_KEY_BYTES:
                h.problems.append(ReadProblem(
                    kind="oddity", offset=start, location=key[:64],
                    message=f"metadata key {index} is {len(key):,} bytes long; the GGUF spec allows {MAX_KEY_BYTES:,}",
                    details={"oddity": "long-key"}))
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
        self.kv_remaining = 0
        for index in range(h.tensor_count or 0):
            self.tensors_remaining = (h.tensor_count or 0) - index - 1
            start = self.pos
            # llama.cpp refuses a name of GGML_MAX_NAME (64) bytes or more.
            name = self._string(f"the name of tensor {index}", GGML_MAX_NAME - 1)
            n_dims = self._u32(f"n_dims of tensor {name!r}")
            if n_dims > MAX_DIMS:
                raise self._corrupt(f"tensor {name!r} declares {n_dims} dimensions; GGML allows at most {MAX_DIMS}", offset=start, location=name)
            self._need(8 * n_dims, f"the dimensions of tensor {name!r}")
            shape = struct.unpack_from(f"{self.order}{n_dims}Q", self.buf.data, self.pos)
            self.pos += 8 * n_dims
            n_elements = self._elements(name, shape, start)
            type_id = self._u32(f"the type of tensor {name!r}")
            rel_offset = self._u64(f"the data offset of tensor {name!r}")
            known = ggml_type(type_id)
            nbytes = None
            type_name = None
            if known is None:
                h.problems.append(unknown_type_problem(name, type_id, start))
            else:
                type_name, block, size = known
                ne0 = shape[0] if shape else 1
                if ne0 % block:
                    h.problems.append(ReadProblem(
                        kind="corrupt",
                        message=f"tensor {name!r}: its first dimension {ne0} is not a multiple of the {type_name} block size {block}",
                        offset=start, location=name))
                nbytes = (n_elements // block) * size
                if nbytes > SIZE_MAX - (h.alignment - 1):
                    raise self._corrupt(f"tensor {name!r} with shape {list(shape)} would take {nbytes:,} bytes, "
                                        f"more than a 64-bit size can hold once padded", offset=start, location=name)
            if name in seen:
                h.problems.append(ReadProblem(
                    kind="corrupt", message=f"duplicate tensor name {name!r} (first declared at offset {seen[name]})",
                    offset=start, location=name))
            else:
                seen[name] = start
            h.tensors.append(TensorInfo(name, tuple(shape), type_id, type_name, rel_offset, start, n_elements, nbytes))

    def _elements(self, name: str, shape: tuple[int, ...], start: int) -> int:
        """The element count, refusing what gguf.cpp refuses: negative or overflowing int64 dims."""
        n_elements = 1
        for dim in shape:
            if dim > INT64_MAX:
                raise self._corrupt(f"tensor {name!r} has a negative dimension ({dim - (1 << 64)}) in {list(shape)}",
                                    offset=start, location=name)
            n_elements *= dim
            if n_elements > INT64_MAX:
                raise self._corrupt(f"tensor {name!r} has dimensions {list(shape)} whose product overflows 64 bits", offset=start, location=name)
        return n_elements


def read_gguf_header(source: ByteSource) -> GGUFHeader:
    """Walk a GGUF header. Never raises for bad input: problems are recorded on the result."""
    return _Walker(source).walk()
