"""Readers: bytes in, Model out. A reader never imports a check and never decides a finding.

`read_source` sniffs what a file is (LFS pointer, GGUF, safetensors, something else) and hands
it to the right reader. Whatever goes wrong becomes a ReadProblem on the Model.
"""

from __future__ import annotations

import os

from quantlint.model import FileFacts, Model, ReadProblem
from quantlint.readers.legacy_ggml import legacy_problem
from quantlint.readers.lfs import POINTER_MAX_BYTES, parse_lfs_pointer
from quantlint.sources import ByteSource, SourceError

SNIFF_BYTES = POINTER_MAX_BYTES


def _lfs_model(source: ByteSource, path: str, target: str, head: bytes) -> Model | None:
    pointer = parse_lfs_pointer(head, source.size)
    if pointer is None:
        return None
    model = Model(format="lfs-pointer", target=target)
    model.file = FileFacts(path=path, size=source.size, bytes_read=len(head))
    real = f" of {pointer.size:,} bytes" if pointer.size is not None else ""
    model.problems.append(ReadProblem(
        kind="lfs-pointer",
        message=f"this is a Git LFS pointer ({source.size} bytes), not the model: the real file{real} was never downloaded",
        offset=0,
        hint="Run `git lfs pull --include=\"" + os.path.basename(path) + "\"` in the clone (or `git lfs install` then re-clone), or lint the published file directly: `quantlint ORG/REPO:" + os.path.basename(path) + "`.",
        details={"oid": pointer.oid, "size": pointer.size},
    ))
    return model


def _unsupported(source: ByteSource, path: str, target: str, head: bytes) -> Model:
    model = Model(format="unknown", target=target)
    model.file = FileFacts(path=path, size=source.size, bytes_read=len(head))
    what = "an empty file" if not head else f"a file starting with {head[:8]!r}"
    model.problems.append(ReadProblem(
        kind="unsupported",
        message=f"not a model file quantlint knows: {what}",
        offset=0,
        hint="quantlint reads GGUF files, safetensors files and Hugging Face model folders (config.json + weights).",
    ))
    return model


def read_source(source: ByteSource, path: str, target: str | None = None) -> Model:
    """Read one file through a byte source. Never raises for bad content."""
    target = target or path
    try:
        head = source.read_at(0, SNIFF_BYTES)
    except SourceError as exc:
        model = Model(format="unknown", target=target)
        model.file = FileFacts(path=path, size=source.size)
        model.problems.append(ReadProblem(kind="unreadable", message=str(exc)))
        return model
    lfs = _lfs_model(source, path, target, head)
    if lfs is not None:
        return lfs
    legacy = legacy_problem(head)
    if legacy is not None:  # a 2023 ggml/ggmf/ggjt .bin: QL905 with the way to re-convert it
        model = Model(format="unknown", target=target)
        model.file = FileFacts(path=path, size=source.size, bytes_read=len(head))
        model.problems.append(legacy)
        return model
    # A .gguf name with the wrong magic (or no bytes at all) goes to the GGUF reader too, so
    # the user hears "bad magic" (QL902) or "truncated" (QL901) rather than "unknown format".
    if head[:4] == b"GGUF" or path.endswith(".gguf"):
        from quantlint.readers.gguf_header import read_gguf_header
        from quantlint.readers.gguf_model import build_gguf_model

        return build_gguf_model(read_gguf_header(source), path, target)
    return _unsupported(source, path, target, head)


def read_local_file(path: str, target: str | None = None) -> Model:
    from quantlint.sources.local import LocalFileSource

    try:
        source = LocalFileSource(path)
    except SourceError as exc:
        model = Model(format="unknown", target=target or path)
        model.file = FileFacts(path=path)
        model.problems.append(ReadProblem(kind="unreadable", message=str(exc)))
        return model
    with source:
        return read_source(source, path, target)
