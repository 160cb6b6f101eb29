"""A tensor of every GGML type, written and read back at the extent ggml gives it (issue 15).

The writer (fixtures/ggufgen.py) lays tensors out as llama.cpp's gguf.cpp requires: packed in
file order, each padded to the alignment. The reader must find each one where it was put, at
ggml's size (block_q8_1 is 36 bytes per 32 weights, not gguf-py's 40), and the file must end
exactly where the last tensor does: no QL9xx finding at all."""

from __future__ import annotations

import pytest

from fixtures.ggufgen import GGUFSpec, Tensor, encode_header, write_gguf
from quantlint.facts.ggml_types import GGML_TYPES
from tests.conftest import lint_model_path


def _spec(alignment: int = 32) -> GGUFSpec:
    spec = GGUFSpec(alignment=alignment)
    spec.add("general.architecture", "llama")
    if alignment != 32:
        spec.add("general.alignment", alignment)
    # Two rows of three blocks: the row length is a multiple of the block, the size is not
    # a multiple of the alignment for most types (so padding is exercised).
    spec.tensors = [Tensor(f"t.{name.lower()}", (3 * block, 2), name) for _, (name, block, _) in sorted(GGML_TYPES.items())]
    return spec


@pytest.mark.parametrize("alignment", [32, 1, 64])
def test_every_ggml_type_round_trips_at_its_extent(tmp_path, alignment):
    spec = _spec(alignment)
    header, data_size, offsets = encode_header(spec)
    path = write_gguf(tmp_path / "all-types.gguf", spec)
    model, findings = lint_model_path(path)
    assert [(f.code, f.message) for f in findings if f.code.startswith("QL9")] == []
    assert model.problems == []
    by_name = {t.name: t for t in model.tensors}
    for t, offset in zip(spec.tensors, offsets):
        type_id, (name, block, size) = next((i, v) for i, v in GGML_TYPES.items() if v[0] == t.type_name)
        record = by_name[t.name]
        assert (record.type_id, record.type_name) == (type_id, name)
        assert record.offset == len(header) + offset
        assert record.nbytes == 6 * size  # 3 blocks per row, 2 rows
    # The data ends with the last tensor; the writer pads that one too, as gguf.cpp counts it.
    last = by_name[spec.tensors[-1].name]
    assert model.file.data_end == last.offset + last.nbytes
    assert path.stat().st_size == len(header) + data_size >= model.file.data_end


def test_q8_1_is_36_bytes_per_block():
    spec = GGUFSpec()
    spec.add("general.architecture", "llama")
    spec.tensors = [Tensor("a", (32, 4), "Q8_1"), Tensor("b", (32,), "F32")]
    header, data_size, offsets = encode_header(spec)
    # block_q8_1: ggml_half d, s + int8_t qs[32] = 36 bytes; 4 blocks = 144, already 32-aligned.
    assert offsets == [0, 160] and data_size == 160 + 128


def test_a_file_laid_out_with_gguf_py_q8_1_sizes_is_caught(tmp_path):
    """gguf-py 0.19.0 sizes Q8_1 at 40 bytes: a tensor after one would start at the wrong place."""
    spec = GGUFSpec()
    spec.add("general.architecture", "llama")
    spec.tensors = [Tensor("a", (32, 4), "Q8_1"), Tensor("b", (32,), "F32")]
    # 8 blocks: 8 * 36 = 288 (ggml) against 8 * 40 = 320 (gguf-py) for where b starts.
    spec.tensors[0] = Tensor("a", (32, 8), "Q8_1")
    header, data_size, offsets = encode_header(spec)
    assert offsets[1] == 288
    patched = header.replace((288).to_bytes(8, "little"), (320).to_bytes(8, "little"))
    path = tmp_path / "bad.gguf"
    path.write_bytes(patched + b"\0" * (320 + 128))
    _, findings = lint_model_path(path)
    assert [f.code for f in findings if f.code.startswith("QL9")] == ["QL902"]
