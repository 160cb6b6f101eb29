"""Formats llama.cpp no longer loads: GGUF v1 and the pre-GGUF ggml/ggmf/ggjt .bin files (QL905).

The magics are the bytes on disk that llama.cpp's convert_llama_ggml_to_gguf.py checks
(@0c1e57098): b'lmgg', b'fmgg', b'tjgg' (little-endian uint32s 'ggml', 'ggmf', 'ggjt')."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.conftest import lint_json


def _write(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload + b"\0" * 256)
    return path


LEGACY = {
    "llama-7b.ggmlv3.q4_0.bin": (b"tjgg" + struct.pack("<I", 3), "ggjt v3"),
    "ggmf-model.bin": (b"fmgg" + struct.pack("<I", 1), "ggmf v1"),
    "ggml-model-f16.bin": (b"lmgg", "ggml (unversioned)"),
}
GGUF_V1 = b"GGUF" + struct.pack("<III", 1, 0, 0)  # v1: 32-bit tensor and metadata counts


def _ql905(doc: dict, index: int) -> dict:
    findings = doc["targets"][index]["findings"]
    assert [f["code"] for f in findings if f["code"].startswith("QL9")] == ["QL905"], findings
    return next(f for f in findings if f["code"] == "QL905")


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_a_pre_gguf_bin_file_is_unsupported_with_the_conversion_hint(tmp_path, name):
    payload, fmt = LEGACY[name]
    rc, doc = lint_json(str(_write(tmp_path / name, payload)))
    assert rc == 1
    finding = _ql905(doc, 0)
    assert fmt in finding["message"] and finding["offset"] == 0
    assert "convert_hf_to_gguf.py" in finding["hint"] and "convert_llama_ggml_to_gguf.py" in finding["hint"]


def test_gguf_version_1_is_unsupported_not_corrupt(tmp_path):
    rc, doc = lint_json(str(_write(tmp_path / "old-v1.gguf", GGUF_V1)))
    assert rc == 1
    finding = _ql905(doc, 0)
    assert "version 1" in finding["message"] and finding["offset"] == 4
    assert "convert_hf_to_gguf.py" in finding["hint"]


def test_a_folder_of_only_old_files_reports_each_one(tmp_path):
    for name, (payload, _) in LEGACY.items():
        _write(tmp_path / name, payload)
    _write(tmp_path / "old-v1.gguf", GGUF_V1)
    (tmp_path / "notes.bin").write_bytes(b"PK\x03\x04 not a model")  # a .bin with another magic: not a target
    rc, doc = lint_json(str(tmp_path))
    assert rc == 1
    names = sorted(Path(t["target"]).name for t in doc["targets"])
    assert names == sorted([*LEGACY, "old-v1.gguf"])
    for index in range(len(names)):
        _ql905(doc, index)


def test_pytorch_bins_in_a_model_folder_are_not_legacy_targets(tmp_path):
    (tmp_path / "config.json").write_text('{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}')
    (tmp_path / "pytorch_model.bin").write_bytes(b"PK\x03\x04" + b"\0" * 64)  # a zip (torch.save)
    _, doc = lint_json(str(tmp_path))
    assert [t["target"] for t in doc["targets"]] == [str(tmp_path)]
