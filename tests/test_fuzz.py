"""Fuzz the whole lint path with mutated GGUF headers (hypothesis).

A failure is any exception escaping the reader, enrichers or checks, a run over 2 s of CPU,
or the process's peak memory growing by more than 128 MiB while linting one mutant. The CI budget is small; a long run is:

    QUANTLINT_FUZZ_EXAMPLES=20000 python -m pytest -q tests/test_fuzz.py -p no:cacheprovider

(the closing note of the robustness issue quotes such a run). Seeds: synthetic headers with a
chat template, MoE tensors, big-endian order, and the real Gemma header when it is present.
"""

from __future__ import annotations

import os
import struct
import resource
import time
from functools import lru_cache
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fixtures.ggufgen import Arch, encode_header, model_spec  # noqa: E402
from quantlint.engine import Selection, load_registry, run_checks  # noqa: E402
from quantlint.enrich import enrich  # noqa: E402
from quantlint.readers import read_source  # noqa: E402
from quantlint.readers.gguf_header import read_gguf_header  # noqa: E402
from quantlint.settings import LintSettings, RuntimePlan  # noqa: E402
from tests.conftest import gemma_path  # noqa: E402

EXAMPLES = int(os.environ.get("QUANTLINT_FUZZ_EXAMPLES", "150"))
MAX_SECONDS = 2.0
MAX_GROWTH = 128 * 1024 * 1024  # peak RSS may not grow past this while linting one mutant


class BytesSource:
    """An in-memory ByteSource; `declared_size` lets a short header pose as a big file."""

    def __init__(self, data: bytes, declared_size: int | None = None) -> None:
        self.data = data
        self.name = "fuzz.gguf"
        self.size = declared_size if declared_size is not None else len(data)

    def read_at(self, offset: int, length: int) -> bytes:
        end = min(offset + length, len(self.data), self.size)
        return self.data[offset:end] if offset < end else b""

    def prefetch_hint(self, needed_end: int, estimated_end: int | None) -> int:
        return needed_end + (1 << 20)


@lru_cache(maxsize=1)
def seeds() -> list[tuple[bytes, list[int]]]:
    """(header bytes, region boundaries) for each seed."""
    template = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    specs = [
        model_spec("Q4_K_M", chat_template=template, name="Seed", finetune="Instruct"),
        model_spec("Q3_K_M", Arch("qwen3moe", 2, 256, 256, 4, 2, None, 300, 32768, n_expert=8, n_expert_used=2, n_ff_expert=256),
                   imatrix={"file": "/x/imatrix.dat", "dataset": "wikitext", "entries_count": 10, "chunks_count": 5}),
    ]
    be = model_spec("Q8_0", tokenizer_model="llama", tokenizer_pre=None)
    be.byte_order = ">"
    specs.append(be)
    out = []
    for spec in specs:
        header, _, _ = encode_header(spec)
        out.append((header, _boundaries(header)))
    real = gemma_path()
    if real is not None:
        with open(real, "rb") as f:
            header = f.read(6_525_120)
        out.append((header, _boundaries(header)))
    return out


def _boundaries(header: bytes) -> list[int]:
    clean = read_gguf_header(BytesSource(header, len(header) + (1 << 30)))
    points = {0, 4, 8, 16, 24, len(header)}
    points |= {kv.offset for kv in clean.kvs.values()}
    points |= {t.info_offset for t in clean.tensors}
    return sorted(points)


def lint_bytes(data: bytes, declared_size: int | None = None) -> None:
    model = read_source(BytesSource(data, declared_size), "fuzz.gguf")
    settings = LintSettings(plan=RuntimePlan(ctx_size=8192, cache_type_k="q4_0", memory_bytes=[8 << 30]))
    enrich(model, settings)
    run_checks(model, load_registry(), Selection(), settings)


@st.composite
def mutants(draw):
    header, bounds = draw(st.sampled_from(seeds()))
    data = bytearray(header)
    kind = draw(st.sampled_from(["flip", "truncate", "huge-length", "splice", "overwrite-u32"]))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            # bias toward the start, where counts and lengths live
            pos = draw(st.one_of(st.integers(0, min(len(data) - 1, 4096)), st.integers(0, len(data) - 1)))
            data[pos] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        cut = draw(st.sampled_from(bounds))
        cut = max(0, cut + draw(st.integers(-3, 3)))
        data = data[:cut]
    elif kind == "huge-length":
        pos = draw(st.sampled_from(bounds))
        value = draw(st.sampled_from([2**62, 2**40, 2**32 - 1, 2**63 - 1, 2**64 - 1, 10**12]))
        if pos + 8 <= len(data):
            data[pos:pos + 8] = struct.pack("<Q", value)
    elif kind == "overwrite-u32":
        pos = draw(st.sampled_from(bounds))
        value = draw(st.sampled_from([0, 1, 13, 99, 1000, 2**31, 2**32 - 1]))
        offset = pos + draw(st.sampled_from([0, 8, 12, 16]))
        if offset + 4 <= len(data):
            data[offset:offset + 4] = struct.pack("<I", value)
    else:
        a = draw(st.integers(0, len(data) - 1))
        b = draw(st.integers(0, len(data) - 1))
        n = draw(st.integers(1, 256))
        chunk = bytes(data[a:a + n])
        data[b:b + len(chunk)] = chunk
    claim_big = draw(st.booleans())
    return bytes(data), (len(header) + (1 << 33)) if claim_big else None


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=EXAMPLES <= 500,
          print_blob=False, verbosity=hypothesis.Verbosity.quiet)
@given(mutants())
def test_no_mutant_escapes(mutant):
    data, declared = mutant
    load_registry()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # CPU time of this process: other processes on the machine do not inflate it.
    start = time.process_time()
    lint_bytes(data, declared)  # an exception escaping here is a failure
    elapsed = time.process_time() - start
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    if elapsed >= MAX_SECONDS and os.environ.get("QUANTLINT_FUZZ_DUMP"):
        Path(os.environ["QUANTLINT_FUZZ_DUMP"]).write_bytes(data)
    assert elapsed < MAX_SECONDS, f"{elapsed:.2f} s of CPU"
    assert grown < MAX_GROWTH, f"peak memory grew by {grown:,} bytes"


def test_seeds_lint_clean_of_structural_faults():
    for header, _ in seeds():
        model = read_source(BytesSource(header, len(header) + (1 << 33)), "seed.gguf")
        assert [p for p in model.problems if p.kind == "corrupt"] == []
