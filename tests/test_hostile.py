"""Hostile headers: each gives QL902 (or QL905/QL907 where llama.cpp says so), with its byte offset,
quickly, with no big allocation."""

from __future__ import annotations

import struct
import time
import tracemalloc
from pathlib import Path

import pytest

from fixtures.ggufgen import GGUFSpec, Tensor, encode_header, model_spec
from quantlint.engine import Selection, load_registry, run_checks
from quantlint.readers import read_local_file
from quantlint.settings import LintSettings

PREAMBLE = b"GGUF" + struct.pack("<I", 3)


def _kv_string_key(key: str) -> bytes:
    return struct.pack("<Q", len(key)) + key.encode()


def _tensor_info(name: str, dims: list[int], type_id: int, offset: int = 0, n_dims: int | None = None) -> bytes:
    n = len(dims) if n_dims is None else n_dims
    return (struct.pack("<Q", len(name)) + name.encode() + struct.pack("<I", n)
            + struct.pack(f"<{len(dims)}Q", *dims) + struct.pack("<IQ", type_id, offset))


def _arch_kv() -> bytes:
    return _kv_string_key("general.architecture") + struct.pack("<I", 8) + struct.pack("<Q", 5) + b"llama"


CASES = {
    "string length 2**62": PREAMBLE + struct.pack("<QQ", 0, 1) + _kv_string_key("general.name")
    + struct.pack("<IQ", 8, 2**62),
    "array count 2**40": PREAMBLE + struct.pack("<QQ", 0, 1) + _kv_string_key("tokenizer.ggml.tokens")
    + struct.pack("<IIQ", 9, 8, 2**40),
    "n_dims 1000": PREAMBLE + struct.pack("<QQ", 1, 1) + _arch_kv() + _tensor_info("blk.0.attn_q.weight", [32] * 4, 8, n_dims=1000),
    "dims whose product wraps uint64": PREAMBLE + struct.pack("<QQ", 1, 1) + _arch_kv()
    + _tensor_info("blk.0.attn_q.weight", [2**32, 2**32, 2**8], 0),
    "tensor count 2**50": PREAMBLE + struct.pack("<QQ", 2**50, 1) + _arch_kv(),
    "alignment not a power of two": PREAMBLE + struct.pack("<QQ", 0, 2) + _arch_kv()
    + _kv_string_key("general.alignment") + struct.pack("<II", 4, 48),
    "unknown value type 13": PREAMBLE + struct.pack("<QQ", 0, 2) + _arch_kv()
    + _kv_string_key("general.name") + struct.pack("<I", 13) + b"\x01" * 8,
    "impossible tensor type 2**31": PREAMBLE + struct.pack("<QQ", 1, 1) + _arch_kv()
    + _tensor_info("blk.0.attn_q.weight", [32, 32], 2**31),
    "duplicate key": PREAMBLE + struct.pack("<QQ", 0, 2) + _arch_kv() + _arch_kv(),
    "duplicate tensor name": PREAMBLE + struct.pack("<QQ", 2, 1) + _arch_kv()
    + _tensor_info("blk.0.attn_q.weight", [32, 32], 0, 0) + _tensor_info("blk.0.attn_q.weight", [32, 32], 0, 4096),
    "misaligned tensor offset": PREAMBLE + struct.pack("<QQ", 1, 1) + _arch_kv() + _tensor_info("blk.0.attn_q.weight", [32, 32], 0, 7),
    "overlapping tensors": PREAMBLE + struct.pack("<QQ", 2, 1) + _arch_kv()
    + _tensor_info("blk.0.attn_q.weight", [32, 32], 0, 0) + _tensor_info("blk.0.attn_k.weight", [32, 32], 0, 32),
    "version 0": b"GGUF" + struct.pack("<I", 0) + struct.pack("<QQ", 0, 0),
    "empty key": PREAMBLE + struct.pack("<QQ", 0, 1) + struct.pack("<QI", 0, 4) + b"\1\0\0\0",
    "tensor name of 64 bytes": PREAMBLE + struct.pack("<QQ", 1, 1) + _arch_kv() + _tensor_info("t" * 64, [32], 0),
    "negative dimension": PREAMBLE + struct.pack("<QQ", 1, 1) + _arch_kv() + _tensor_info("t", [2**64 - 1], 0),
    "gap between tensors": PREAMBLE + struct.pack("<QQ", 2, 1) + _arch_kv()
    + _tensor_info("a", [32], 0, 0) + _tensor_info("b", [32], 0, 4096),
}
# What llama.cpp refuses as a format it does not (or no longer) reads: QL905, not QL902.
UNSUPPORTED = {
    "GGUF version 1": b"GGUF" + struct.pack("<I", 1) + struct.pack("<II", 0, 0),
    "GGUF version 4": b"GGUF" + struct.pack("<I", 4) + struct.pack("<QQ", 0, 0),
    "unknown tensor type 99": PREAMBLE + struct.pack("<QQ", 1, 1) + _arch_kv() + _tensor_info("blk.0.attn_q.weight", [32, 32], 99),
    "array of arrays": PREAMBLE + struct.pack("<QQ", 0, 1) + _kv_string_key("my.nested")
    + struct.pack("<IIQIQII", 9, 9, 1, 4, 2, 1, 2),
    "removed tensor type Q4_0_4_4": PREAMBLE + struct.pack("<QQ", 1, 1) + _arch_kv() + _tensor_info("blk.0.attn_q.weight", [32, 32], 31),
}
# What llama.cpp loads: at most a QL907 warning, never QL902.
ODD = {
    "key longer than the spec allows": PREAMBLE + struct.pack("<QQ", 0, 1) + struct.pack("<Q", 70_000) + b"k" * 70_000
    + struct.pack("<IB", 0, 1),
    "string value not UTF-8": PREAMBLE + struct.pack("<QQ", 0, 2) + _arch_kv() + _kv_string_key("general.name")
    + struct.pack("<IQ", 8, 4) + b"\xff\xfe\x01\x80",
}


def _lint(path: Path):
    model = read_local_file(str(path))
    findings = run_checks(model, load_registry(), Selection(), LintSettings())
    return model, findings


ALL_CASES = {**{k: (v, "QL902") for k, v in CASES.items()}, **{k: (v, "QL905") for k, v in UNSUPPORTED.items()},
             **{k: (v, "QL907") for k, v in ODD.items()}}


@pytest.mark.parametrize("case", sorted(ALL_CASES))
def test_hostile_header_gives_its_finding_fast_and_flat(tmp_path, case):
    payload, code = ALL_CASES[case]
    path = tmp_path / "hostile.gguf"
    path.write_bytes(payload + b"\0" * (8192 if code != "QL907" else 0))
    load_registry()  # importing the checks is start-up cost, not the cost of this file
    tracemalloc.start()
    start = time.process_time()
    model, findings = _lint(path)
    elapsed = time.process_time() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hits = [f for f in findings if f.code == code]
    assert hits, f"{case}: {[(f.code, f.message) for f in findings]}"
    assert all(f.offset is not None for f in hits)
    if code != "QL902":  # a format too old or too new, or an oddity the loader accepts, is not corruption
        assert not [f for f in findings if f.code == "QL902"], f"{case}: {[(f.code, f.message) for f in findings]}"
    assert elapsed < 0.05, f"{case} took {elapsed:.3f} s"
    assert peak < 8 * 1024 * 1024, f"{case} allocated {peak:,} bytes"


def test_offsets_point_at_the_fault(tmp_path):
    path = tmp_path / "h.gguf"
    path.write_bytes(UNSUPPORTED["unknown tensor type 99"] + b"\0" * 64)
    _, findings = _lint(path)
    finding = next(f for f in findings if "does not know (id 99" in f.message)
    assert finding.code == "QL905"
    assert finding.offset == len(PREAMBLE) + 16 + len(_arch_kv())  # where the tensor info starts
    assert finding.location == "blk.0.attn_q.weight"


def test_truncation_at_every_region_boundary_is_a_finding_not_a_crash(tmp_path):
    spec = model_spec("Q4_K_M", chat_template="{{ messages }}")
    header, _, _ = encode_header(spec)
    full = tmp_path / "full.gguf"
    full.write_bytes(header)
    from quantlint.readers.gguf_header import read_gguf_header
    from quantlint.sources.local import LocalFileSource

    clean = read_gguf_header(LocalFileSource(full))
    cuts = {4, 8, 16, 24} | {kv.offset for kv in clean.kvs.values()} | {t.info_offset for t in clean.tensors}
    cuts |= {c + 3 for c in list(cuts)} | {clean.data_offset - 1}
    for cut in sorted(cuts):
        path = tmp_path / f"cut{cut}.gguf"
        path.write_bytes(header[:cut])
        model, findings = _lint(path)
        codes = [f.code for f in findings if f.code.startswith("QL9")]
        # Issue 15: a file that ends before the bytes it declares is QL901, never QL902.
        assert codes == ["QL901"], (cut, [(f.code, f.message) for f in findings])
        [ql901] = [f for f in findings if f.code == "QL901"]
        assert ql901.offset == cut and f"ends at byte {cut:,}" in ql901.message
        assert ql901.data.get("expected_at_least", ql901.data.get("expected", 0)) > cut  # how much is missing, at least
        if cut < clean.data_offset - 1:  # inside the header itself (the last cut may be in its padding)
            # Keys after the cut are unread, not missing: no quality rule may speak (no QL403
            # "no base model", no QL402 "no chat template", no QL501 "no pre-tokenizer").
            assert [f.code for f in findings] == ["QL901"], (cut, [(f.code, f.message) for f in findings])


def test_tensor_data_past_eof_is_one_ql901(tmp_path):
    spec = GGUFSpec()
    spec.add("general.architecture", "llama")
    spec.tensors = [Tensor(f"blk.{i}.attn_q.weight", (256, 256), "Q8_0") for i in range(50)]
    header, _, _ = encode_header(spec)
    path = tmp_path / "short.gguf"
    path.write_bytes(header + b"\0" * 1000)
    _, findings = _lint(path)
    assert [f.code for f in findings if f.code.startswith("QL9")] == ["QL901"]


def test_huge_element_length_inside_a_big_string_array(tmp_path):
    # Element 10 of a 5,000-token vocab declares 2**63 - 1 bytes: the fast walk must not overflow.
    tokens = b"".join(struct.pack("<Q", 3) + b"tok" for _ in range(10)) + struct.pack("<Q", 2**63 - 1)
    tokens += b"".join(struct.pack("<Q", 3) + b"tok" for _ in range(4989))
    payload = (PREAMBLE + struct.pack("<QQ", 0, 1) + _kv_string_key("tokenizer.ggml.tokens")
               + struct.pack("<IIQ", 9, 8, 5000) + tokens)
    path = tmp_path / "h.gguf"
    path.write_bytes(payload)
    _, findings = _lint(path)
    ql902 = [f for f in findings if f.code == "QL902"]
    assert ql902 and "element 10" in ql902[0].message


@pytest.mark.real
@pytest.mark.parametrize("cut", [2, 24, 1 << 20, 3_000_000, 6_525_120 - 1, 6_525_120, 100_000_000])
def test_the_real_gemma_cut_anywhere_is_ql901_alone(gemma, tmp_path, cut):
    """Issue 15: the real file cut inside the magic, the counts, the vocab (1 MiB, 3 MB), the
    padding, at the data start and in the data is QL901 naming where it ends, never QL902."""
    path = tmp_path / "cut.gguf"
    with open(gemma, "rb") as src, open(path, "wb") as dst:
        remaining = cut
        while remaining:
            chunk = src.read(min(remaining, 1 << 22))
            dst.write(chunk)
            remaining -= len(chunk)
    _, findings = _lint(path)
    found = [f for f in findings if f.code.startswith("QL9")]
    assert [f.code for f in found] == ["QL901"], [(f.code, f.message) for f in found]
    assert found[0].offset == cut and f"ends at byte {cut:,}" in found[0].message
    assert "missing" in found[0].message or "short" in found[0].message
