"""llama.cpp's own files, taken from the llama-cpp-python sdist on PyPI: real-data oracles for tests.

llama-cpp-python 0.3.36 vendors llama.cpp 0c1e57098 under vendor/llama.cpp/: the ggml-vocab-*.gguf
files (tests/test_vocab_files.py) and the chat templates of models/templates/
(tests/test_template_clean_corpus.py). The sdist is fetched once with pip from PyPI (the package
registry) into the cache, and only the wanted members are extracted, each into a directory of
the caller's. Set QUANTLINT_NO_FETCH=1 to never download; a test that cannot have its files skips.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

SDIST = "llama-cpp-python==0.3.36"
SDIST_GLOB = "llama_cpp_python-0.3.36.tar.gz"
VENDOR_DIR = "/vendor/llama.cpp/"
MAX_MEMBER_BYTES = 32 << 20
MANIFEST = "MANIFEST.txt"
# The vocab files llama.cpp ships under models/ (gguf-facts.md §8).
VOCAB_NAMES = ("aquila", "baichuan", "bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4",
               "gpt-2", "gpt-neox", "llama-bpe", "llama-spm", "mpt", "nomic-bert-moe", "phi-3", "qwen2", "qwen35",
               "refact", "starcoder")


def cache_root() -> Path:
    base = os.environ.get("QUANTLINT_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "quantlint"


def vocab_dir() -> Path:
    return Path(os.environ.get("QUANTLINT_VOCAB_DIR") or Path.home() / ".cache" / "quantlint" / "vocab")


def _sdist_candidates() -> list[Path]:
    # The vocab tests downloaded it next to the vocab files before this module existed.
    return [cache_root() / "sdist", vocab_dir() / "sdist"]


def sdist_path(fetch: bool) -> Path | None:
    """The cached sdist, downloaded first when `fetch` and it is not cached."""
    for directory in _sdist_candidates():
        found = sorted(directory.glob(SDIST_GLOB))
        if found:
            return found[0]
    if not fetch:
        return None
    download = _sdist_candidates()[0]
    download.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps", SDIST,
                    "-d", str(download)], check=True, capture_output=True, timeout=600)
    (sdist,) = download.glob(SDIST_GLOB)
    return sdist


def extract(sdist: Path, directory: Path, wanted: Callable[[str], bool]) -> list[str]:
    """Write each regular member under vendor/llama.cpp/ whose path there `wanted` accepts into
    `directory` under its base name; the base names written, in archive order."""
    written: list[str] = []
    with tarfile.open(sdist) as tar:
        for member in tar:
            if not (member.isfile() and VENDOR_DIR in member.name and member.size <= MAX_MEMBER_BYTES):
                continue
            if not wanted(member.name.split(VENDOR_DIR, 1)[1]):
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
        sdist = sdist_path(fetch=not os.environ.get("QUANTLINT_NO_FETCH"))
        if sdist is None:
            pytest.skip(f"{what} not cached and QUANTLINT_NO_FETCH is set")
        directory.mkdir(parents=True, exist_ok=True)
        names = extract(sdist, directory, wanted)
        (directory / MANIFEST).write_text("".join(n + "\n" for n in names), encoding="utf-8")
    except (OSError, subprocess.SubprocessError, tarfile.TarError, ValueError) as exc:
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
