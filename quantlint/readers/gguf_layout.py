"""What a walked GGUF header says about its tensors: type ids and the data section.

Kept apart from the walker (gguf_header.py) so each stays small. The rules are those of
llama.cpp's loader, ggml/src/gguf.cpp @0c1e57098: tensor data packed in file order, each
tensor padded to the alignment (the last one too), and type ids from ggml.h (removed ids have
size 0 there and are refused).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quantlint.facts.ggml_types import GGML_TYPE_COUNT, REMOVED_GGML_TYPES
from quantlint.model import ReadProblem

if TYPE_CHECKING:
    from quantlint.readers.gguf_records import GGUFHeader, TensorInfo

LOADER = "@0c1e57098"  # the llama.cpp whose loader these checks follow
INT64_MAX = (1 << 63) - 1
PLAUSIBLE_TYPE_IDS = 1 << 16  # an id past ggml's newest but below this may be a newer type


def unknown_type_problem(name: str, type_id: int, start: int) -> ReadProblem:
    """A type id this table lacks: removed by llama.cpp, newer than it, or garbage."""
    details = {"type_id": type_id}
    if type_id in REMOVED_GGML_TYPES:
        old, why = REMOVED_GGML_TYPES[type_id]
        return ReadProblem(
            kind="unsupported", offset=start, location=name, details={**details, "removed_type": old},
            message=f"tensor {name!r} has type {old} (id {type_id}), which llama.cpp removed: {why}",
            hint=("Re-quantize from the original weights with a current llama-quantize; the interleaved "
                  "*_4_4/*_4_8/*_8_8 layouts are now made at load time from plain Q4_0/IQ4_NL."))
    if GGML_TYPE_COUNT <= type_id < PLAUSIBLE_TYPE_IDS:
        return ReadProblem(
            kind="unsupported", offset=start, location=name, details=details,
            message=(f"tensor {name!r} has a tensor type this quantlint does not know (id {type_id}; llama.cpp "
                     f"{LOADER} knows ids below {GGML_TYPE_COUNT}): newer llama.cpp?"),
            hint="Update quantlint (pip install -U quantlint); its size checks skip tensors of unknown types.")
    return ReadProblem(
        kind="corrupt", offset=start, location=name, details=details,
        message=f"tensor {name!r} has unknown GGML type {type_id}, no type id any llama.cpp has used; its size cannot be computed")


def layout(h: GGUFHeader, header_end: int) -> None:
    """Where the tensor data starts and ends, its packing, and whether the file holds it."""
    align = h.alignment
    h.data_offset = (header_end + align - 1) // align * align
    data_end = h.data_offset
    for t in h.tensors:
        if t.nbytes is not None:
            data_end = max(data_end, h.data_offset + t.relative_offset + t.nbytes)
    check_packing(h)
    h.data_end = data_end if h.tensors else header_end
    if h.data_end > INT64_MAX:  # no file can be this long (off_t is int64): the sizes are wrong
        last = max((t for t in h.tensors if t.nbytes is not None), key=lambda t: t.relative_offset + (t.nbytes or 0))
        h.problems.append(ReadProblem(
            kind="corrupt", offset=last.info_offset, location=last.name,
            message=(f"the tensor data would end at byte {h.data_end:,} (tensor {last.name!r}), "
                     f"past the largest offset any file can have (2**63 - 1)")))
    elif h.file_size is not None and h.tensors and pad(h.data_end, align) > h.file_size:
        # gguf.cpp sizes the data section as every tensor padded to the alignment, the last
        # one included, and refuses a file shorter than that when it reads the data.
        declared = pad(h.data_end, align)
        missing = declared - h.file_size
        if h.file_size < h.data_offset:
            where = "inside the padding before the tensor data"
        elif h.file_size < h.data_end:
            where = "inside the tensor data"
        else:
            where = ("inside the padding after the last tensor (llama.cpp's mmap loader may still load it; "
                     "gguf_init_from_file reading the data refuses it)")
        h.problems.append(ReadProblem(
            kind="truncated",
            message=(f"expected {declared:,} bytes, found {h.file_size:,}: the file ends at byte {h.file_size:,} "
                     f"{where}, {missing:,} bytes ({missing / declared:.0%}) short"),
            offset=h.file_size,
            hint="This is usually an interrupted download: fetch the file again (huggingface-cli download resumes) and check its size against the repo.",
            details={"expected": declared, "found": h.file_size},
        ))


def check_packing(h: GGUFHeader) -> None:
    """gguf.cpp requires each tensor's data right after the previous one's, padded to the
    alignment, in file order: anything else (misaligned, overlapping, a gap) is refused."""
    align = h.alignment
    expected = 0
    previous: TensorInfo | None = None
    for t in h.tensors:
        fault = None
        if t.relative_offset % align:
            fault = f"data offset {t.relative_offset} is not a multiple of the alignment {align}"
        elif t.relative_offset < expected and previous is not None:
            fault = (f"(data at byte {h.data_offset + t.relative_offset}) overlaps tensor {previous.name!r} "
                     f"(bytes {h.data_offset + expected - pad(previous.nbytes or 0, align)}-{h.data_offset + expected})")
        elif t.relative_offset != expected:
            fault = f"data offset {t.relative_offset} leaves a gap: llama.cpp expects {expected} (tensor data packed in file order)"
        if fault:
            h.problems.append(ReadProblem(kind="corrupt", message=f"tensor {t.name!r} {fault}",
                                          offset=t.info_offset, location=t.name))
            return
        if t.nbytes is None:
            return  # an unknown type: where the next tensor should start is unknown too
        expected += pad(t.nbytes, align)
        previous = t


def pad(n: int, align: int) -> int:
    return (n + align - 1) // align * align
