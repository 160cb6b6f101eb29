"""llama.cpp's own files, taken from the llama-cpp-python sdist on PyPI: real-data oracles for tests.

llama-cpp-python 0.3.36 vendors llama.cpp 0c1e57098 under vendor/llama.cpp/: the ggml-vocab-*.gguf
files (tests/test_vocab_files.py) and the chat templates of models/templates/
(tests/test_template_clean_corpus.py). The sdist is fetched once with pip from PyPI (the package
registry) into the cache, and only the wanted members are extracted, each into a directory of
the caller's. The sdist itself comes from fixtures/llama_sdist.py (one download place for tests,
scripts and the loader oracle). Set QUANTLINT_NO_FETCH=1 to never download; a test that cannot
have its files skips.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.llama_sdist import MAX_MEMBER_BYTES, SDIST, VENDOR, SdistUnavailable, sdist_path
from fixtures.llama_sdist import cache_dir as vocab_dir

MANIFEST = "MANIFEST.txt"
# The vocab files llama.cpp ships under models/ (gguf-facts.md §8).
VOCAB_NAMES = ("aquila", "baichuan", "bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4",
               "gpt-2", "gpt-neox", "llama-bpe", "llama-spm", "mpt", "nomic-bert-moe", "phi-3", "qwen2", "qwen35",
               "refact", "starcoder")


def cache_root() -> Path:
    base = os.environ.get("QUANTLINT_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "quantlint"


def extract(sdist: Path, directory: Path, wanted: Callable[[str], bool]) -> list[str]:
    """Write each regular member under vendor/llama.cpp/ whose path there `wanted` accepts into
    `directory` under its base name; the base names written, in archive order."""
    written: list[str] = []
    with tarfile.open(sdist) as tar:
        for member in tar:
            if not (member.isfile() and VENDOR in member.name and member.size <= MAX_MEMBER_BYTES):
                continue
            if not wanted(member.name.split(VENDOR, 1)[1]):
                continue
            source = tar.extractfile(member)
            if source is not None:
                base = member.name.rsplit("/", 1)[-1]
                (directory / base).write_bytes(source.read(MAX_MEMBER_BYTES))
                written.append(base)
    return written


def manifest(directory: Path) -> list[str] | None:
    """The base names ensure_members extracted into `directory`, or None before it has."""
    path = directory / MANIFEST
    if not path.is_file():
        return None
    names = [n for n in path.read_text(encoding="utf-8").splitlines() if n and (directory / n).is_file()]
    return names or None


def ensure_members(directory: Path, complete: Callable[[Path], bool], wanted: Callable[[str], bool],
                   what: str) -> Path:
    """`directory` once `complete` says it holds the members, extracting them from the sdist
    (fetched unless QUANTLINT_NO_FETCH is set) if not, and listing them in its MANIFEST;
    pytest.skip when they cannot be had."""
    if complete(directory):
        return directory
    try:
        sdist = sdist_path()
        directory.mkdir(parents=True, exist_ok=True)
        names = extract(sdist, directory, wanted)
        (directory / MANIFEST).write_text("".join(n + "\n" for n in names), encoding="utf-8")
    except (SdistUnavailable, OSError, tarfile.TarError, ValueError) as exc:
        # no registry, no pip, a changed or damaged sdist: skip, never fail
        pytest.skip(f"could not get {what} from {SDIST} ({type(exc).__name__}: {exc})")
    if not complete(directory):
        pytest.skip(f"{SDIST} did not hold {what}")
    return directory


def _have_all_vocab(directory: Path) -> bool:
    return all((directory / f"ggml-vocab-{name}.gguf").is_file() for name in VOCAB_NAMES)


def _is_vocab(path: str) -> bool:
    base = path.rsplit("/", 1)[-1]
    return path.startswith("models/") and base.startswith("ggml-vocab-") and base.endswith(".gguf")


def ensure_vocab() -> Path:
    """The directory holding the 19 ggml-vocab-NAME.gguf files (pytest.skip if they cannot be had)."""
    return ensure_members(vocab_dir(), _have_all_vocab, _is_vocab, "the 19 llama.cpp vocab files")
