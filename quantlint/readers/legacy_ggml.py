"""Model files older than GGUF (the .bin files of 2023), and GGUF version 1: recognised, not read.

The magics below are as they lie on disk: llama.cpp wrote a uint32 (0x67676a74 'ggjt') in little
endian, so the bytes read "tjgg". convert_llama_ggml_to_gguf.py (llama.cpp @0c1e57098,
GGMLModel.validate_header) checks exactly these: b'lmgg' (unversioned ggml), b'fmgg' (ggmf v1)
and b'tjgg' (ggjt v1-3). GGUF v1 (August 2023: 32-bit counts and lengths) is refused by
ggml/src/gguf.cpp: "GGUFv1 is no longer supported, please use a more up-to-date version".
"""

from __future__ import annotations

import struct

from quantlint.model import ReadProblem

# bytes on disk -> (format name, whether a u32 version follows)
LEGACY_MAGICS: dict[bytes, tuple[str, bool]] = {
    b"lmgg": ("ggml (unversioned)", False),
    b"fmgg": ("ggmf", True),
    b"tjgg": ("ggjt", True),
}

BIN_HINT = (
    "llama.cpp has not loaded this format since August 2023. Re-convert: from the original "
    "Hugging Face weights with llama.cpp's convert_hf_to_gguf.py (best), or from this file with "
    "convert_llama_ggml_to_gguf.py --input FILE.bin --output FILE.gguf (LLaMA-family files only; "
    "it refuses most quantized files older than ggjt v3), then re-quantize with llama-quantize."
)
GGUF_V1_HINT = (
    "GGUF version 1 (32-bit counts, 2023) is refused by llama.cpp (\"GGUFv1 is no longer "
    "supported\"). Re-convert from the original weights with llama.cpp's convert_hf_to_gguf.py, "
    "or download a newer conversion of this model."
)


def legacy_magic(head: bytes) -> str | None:
    """The pre-GGUF format a file's first bytes announce, e.g. "ggjt v3", or None."""
    known = LEGACY_MAGICS.get(bytes(head[:4]))
    if known is None:
        return None
    name, versioned = known
    if versioned and len(head) >= 8:
        return f"{name} v{struct.unpack_from('<I', head, 4)[0]}"
    return name


def legacy_problem(head: bytes) -> ReadProblem | None:
    """An "unsupported" problem for a pre-GGUF file, or None when the magic is not one."""
    fmt = legacy_magic(head)
    if fmt is None:
        return None
    return ReadProblem(
        kind="unsupported",
        message=f"a pre-GGUF {fmt} model file (magic {bytes(head[:4])!r}): llama.cpp no longer loads this format",
        offset=0, hint=BIN_HINT, details={"legacy_format": fmt})


def gguf_v1_problem() -> ReadProblem:
    return ReadProblem(
        kind="unsupported",
        message="GGUF version 1 (2023, 32-bit counts): llama.cpp no longer loads this version",
        offset=4, hint=GGUF_V1_HINT, details={"gguf_version": 1})
