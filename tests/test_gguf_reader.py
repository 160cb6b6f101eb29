"""The header-only GGUF reader: facts read, bytes read, hostile and truncated input."""

from __future__ import annotations

import os
import struct
import time
import tracemalloc
from pathlib import Path

import pytest

from fixtures.ggufgen import Arch, GGUFSpec, Tensor, encode_header, model_spec, write_gguf
from quantlint.readers import read_local_file, read_source
from quantlint.readers.gguf_header import read_gguf_header
from quantlint.sources.local import LocalFileSource


class CountingSource(LocalFileSource):
    """Counts every byte the reader asks for: the proof that tensor data is never read."""

    def __init__(self, path) -> None:
        super().__init__(path)
        self.ranges: list[tuple[int, int]] = []

    def read_at(self, offset: int, length: int) -> bytes:
        data = super().read_at(offset, length)
        self.ranges.append((offset, len(data)))
        return data


def test_reads_generated_q4_k_m_facts(make_gguf):
    path = make_gguf("m.gguf", "Q4_K_M", name="Test", basename="Test", size_label="1M")
    model = read_local_file(str(path))
    assert model.format == "gguf"
    assert model.architecture == "llama"
    assert model.quant == "Q4_K_M" and model.quant_source == "general.file_type"
    assert model.problems == []
    assert model.tensor_types["Q4_K"] > 0 and model.tensor_types["Q6_K"] > 0
    assert 4.5 < model.bits_per_weight < 5.5
    assert model.context_length == 4096
    assert model.identity.size_label == "1M"
    assert model.tokenizer.vocab_size == 512 and model.tokenizer.special_ids == {"bos": 1, "eos": 2}
    assert model.file.header_bytes % 32 == 0
    assert model.file.data_end == os.path.getsize(path)


def test_agrees_with_gguf_reader_on_offsets(make_gguf):
    gguf = pytest.importorskip("gguf")
    path = make_gguf("m.gguf", "Q5_K_M")
    ours = read_gguf_header(LocalFileSource(path))
    theirs = gguf.GGUFReader(str(path))
    assert ours.data_offset == theirs.data_offset
    assert [t.name for t in ours.tensors] == [t.name for t in theirs.tensors]
    assert [t.nbytes for t in ours.tensors] == [int(t.n_bytes) for t in theirs.tensors]
    assert [t.type_name for t in ours.tensors] == [t.tensor_type.name for t in theirs.tensors]
    for key, field in theirs.fields.items():
        if key.startswith("GGUF."):
            continue
        assert ours.kvs[key].offset == field.offset, key


def test_big_endian_and_version_2(tmp_path):
    spec = model_spec("Q8_0")
    spec.byte_order = ">"
    spec.version = 2
    path = write_gguf(tmp_path / "be.gguf", spec)
    model = read_local_file(str(path))
    assert model.problems == []
    assert model.file.byte_order == "big" and model.file.version == 2
    assert model.quant == "Q8_0" and model.tokenizer.vocab_size == 512


def test_reads_header_only_from_a_sparse_full_size_file(tmp_path):
    arch = Arch("llama", 32, 4096, 14336, 32, 8, None, 32000, 8192)
    path = write_gguf(tmp_path / "big.gguf", model_spec("Q4_K_M", arch))
    assert path.stat().st_size > 4_000_000_000
    source = CountingSource(path)
    header = read_gguf_header(source)
    assert header.problems == []
    assert source.bytes_read <= header.data_offset + (1 << 20)


def _hostile_file(tmp_path: Path, payload: bytes, name: str = "hostile.gguf") -> Path:
    path = tmp_path / name
    path.write_bytes(payload + b"\0" * 256)
    return path


def _lint_fast(path: Path):
    tracemalloc.start()
    start = time.process_time()
    model = read_local_file(str(path))
    elapsed = time.process_time() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return model, elapsed, peak


def test_huge_string_length_is_corrupt_quickly_without_allocation(tmp_path):
    payload = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 12) + b"general.name" + struct.pack("<I", 8) + struct.pack("<Q", 2**62)
    model, elapsed, peak = _lint_fast(_hostile_file(tmp_path, payload))
    assert [p.kind for p in model.problems] == ["corrupt"]
    assert "2 bytes" not in model.problems[0].message and "remain" in model.problems[0].message
    assert model.problems[0].offset == 4 + 4 + 16 + 8 + 12 + 4
    assert elapsed < 0.05 and peak < 5_000_000


def test_huge_array_count_is_corrupt_quickly_without_allocation(tmp_path):
    payload = (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 21) + b"tokenizer.ggml.tokens"
               + struct.pack("<I", 9) + struct.pack("<IQ", 8, 2**40))
    model, elapsed, peak = _lint_fast(_hostile_file(tmp_path, payload))
    assert [p.kind for p in model.problems] == ["corrupt"]
    assert "1,099,511,627,776 strings" in model.problems[0].message
    assert elapsed < 0.05 and peak < 5_000_000


def test_bad_magic_is_corrupt_at_offset_zero(tmp_path):
    path = tmp_path / "x.gguf"
    path.write_bytes(b"GGML" + b"\0" * 100)
    model = read_local_file(str(path))
    assert model.problems[0].kind == "corrupt" and model.problems[0].offset == 0
    assert "magic" in model.problems[0].message


def test_truncated_data_is_one_truncated_problem(make_gguf):
    path = make_gguf("m.gguf", "Q4_K_M")
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    model = read_local_file(str(path))
    kinds = [p.kind for p in model.problems]
    assert kinds == ["truncated"]
    assert model.problems[0].details == {"expected": size, "found": size // 2}


def test_unknown_tensor_type_is_unsupported_not_corrupt(tmp_path):
    """Issue 15: an id past ggml's newest may be a newer llama.cpp's type (QL905), not corruption."""
    spec = GGUFSpec()
    spec.add("general.architecture", "llama")
    spec.tensors = [Tensor("blk.0.attn_q.weight", (32, 32), "Q8_0", type_id=99)]
    path = write_gguf(tmp_path / "u.gguf", spec, data=False)
    model = read_local_file(str(path))
    [problem] = model.problems
    assert problem.kind == "unsupported" and "does not know (id 99" in problem.message
    assert "newer llama.cpp?" in problem.message


def test_an_impossible_type_id_is_corrupt(tmp_path):
    spec = GGUFSpec()
    spec.add("general.architecture", "llama")
    spec.tensors = [Tensor("blk.0.attn_q.weight", (32, 32), "Q8_0", type_id=2**31 + 5)]
    path = write_gguf(tmp_path / "u.gguf", spec, data=False)
    [problem] = read_local_file(str(path)).problems
    assert problem.kind == "corrupt" and "unknown GGML type" in problem.message


@pytest.mark.parametrize("type_id,name", [(4, "Q4_2"), (31, "Q4_0_4_4"), (38, "IQ4_NL_8_8")])
def test_removed_type_ids_are_unsupported_as_llama_cpp_refuses_them(tmp_path, type_id, name):
    spec = GGUFSpec()
    spec.add("general.architecture", "llama")
    spec.tensors = [Tensor("blk.0.attn_q.weight", (32, 32), "Q8_0", type_id=type_id)]
    path = write_gguf(tmp_path / "u.gguf", spec, data=False)
    [problem] = read_local_file(str(path)).problems
    assert problem.kind == "unsupported" and f"type {name} (id {type_id})" in problem.message
    assert "removed" in problem.message


def test_upstream_type_42_is_known(tmp_path):
    spec = GGUFSpec()
    spec.add("general.architecture", "llama")
    spec.tensors = [Tensor("blk.0.attn_q.weight", (64, 64), "Q8_0", type_id=42)]
    header, _, _ = encode_header(spec)
    path = tmp_path / "q2_0.gguf"
    path.write_bytes(header + b"\0" * (64 * 64 // 64 * 18))
    model = read_local_file(str(path))
    assert model.problems == []
    assert model.tensors[0].type_name == "Q2_0"


def test_lfs_pointer_is_recognised(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123456\n")
    model = read_local_file(str(path))
    assert model.format == "lfs-pointer"
    assert model.problems[0].kind == "lfs-pointer" and model.problems[0].details["size"] == 123456


def test_real_gemma_facts_and_bytes_read(gemma):
    source = CountingSource(gemma)
    model = read_source(source, str(gemma))
    assert model.problems == []
    assert (model.format, model.architecture, model.quant) == ("gguf", "gemma3", "Q4_K_M")
    assert round(model.bits_per_weight, 2) == 5.45
    assert round(model.bits_per_weight_file, 2) == 7.36
    assert model.parameters == 268_098_176
    assert model.file.header_bytes == 6_525_120
    assert model.file.data_end == 253_113_024
    assert model.tokenizer.vocab_size == 262_144 and model.tokenizer.has_chat_template is False
    assert source.bytes_read <= model.file.header_bytes + (1 << 20)
    assert max(offset + n for offset, n in source.ranges) <= model.file.header_bytes + (1 << 20)


def test_a_closed_source_never_closes_a_reused_descriptor(tmp_path):
    """close() then garbage collection must not close the descriptor number a later file got."""
    first = tmp_path / "a.bin"
    first.write_bytes(b"a" * 16)
    source = LocalFileSource(first)
    source.close()
    other = os.open(first, os.O_RDONLY)  # very likely the number just freed
    try:
        del source  # __del__ runs here in CPython
        assert os.pread(other, 1, 0) == b"a"
    finally:
        os.close(other)
