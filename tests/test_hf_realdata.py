"""Real configs from ../shared/realdata/ (see its SOURCES.md): read without error, and each gives
the bits and group size its own files state. Skipped when the folder is absent."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from quantlint.readers.hf_dir import read_local_directory
from tests.conftest import REALDATA, codes, lint_json

pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not present")

# dir -> (bits, group_size, desc_act, _name_or_path, context length): values copied from SOURCES.md
GPTQ = {
    "gptq_autogptq_thebloke_genz-70b_main": (4, 128, True, "budecosystem/genz-70b", 4096),
    "gptq_autogptq_thebloke_genz-70b_3bit-nogroup-actorder": (3, -1, True, "budecosystem/genz-70b", 4096),
    "gptq_autogptq_thebloke_wizard-vicuna-30b_8bit-128g": (8, 128, False, "/workspace/process/wizard-vicuna-30b/HF/", 2048),
    "gptq_autogptq_thebloke_llama-2-13b-chat": (4, 128, False, None, 4096),
    "gptq_autogptq_qwen-vl-chat-int4": (4, 128, False, None, 8192),
    "gptq_gptq-for-llama_wizard-mega-13b": (4, 128, False, "/workspace/models/openaccess-ai-collective_wizard-mega-13b", 2048),
}


def _dir(name: str) -> Path:
    path = REALDATA / name
    if not path.is_dir():
        pytest.skip(f"{name} is not present")
    return path


@pytest.mark.parametrize("name", sorted(GPTQ))
def test_real_gptq_configs(name):
    bits, group, act_order, name_or_path, ctx = GPTQ[name]
    model = read_local_directory(str(_dir(name)), name)
    assert model.problems == []
    assert model.format == "gptq"
    assert model.declared_bits == bits and model.group_size == group
    group_text = f"g{group}" if group > 0 else "no-group"
    assert model.quant == f"GPTQ {bits}-bit {group_text}" + (" act-order" if act_order else "")
    assert model.identity.name_or_path == name_or_path
    assert model.context_length == ctx
    assert model.calibration is None  # AutoGPTQ / GPTQ-for-LLaMa record none
    assert model.tensors == [] and model.file.shards == []  # only LFS pointer .txt files: no weights


def test_legacy_gptq_for_llama_comes_from_the_sidecar():
    model = read_local_directory(str(_dir("gptq_gptq-for-llama_wizard-mega-13b")), "x")
    assert model.quant_source == "quantize_config.json"
    assert any("legacy" in note for note in model.notes)


def test_genz_70b_formula_bpw_matches_the_verified_figure():
    """formats.md §4.5: decoder bpw of the 4-bit g128 70B, checked against the real file size, is 4.159."""
    model = read_local_directory(str(_dir("gptq_autogptq_thebloke_genz-70b_main")), "x")
    assert model.bits_per_weight == pytest.approx(4.159, abs=0.005)
    assert model.hyperparameters["block_count"] == 80
    assert model.hyperparameters["attention.head_count_kv"] == 8
    assert model.hyperparameters["embedding_length"] == 8192


def test_genz_3bit_gets_ql101_through_the_cli():
    _, doc = lint_json(str(_dir("gptq_autogptq_thebloke_genz-70b_3bit-nogroup-actorder")))
    assert "QL101" in codes(doc)
    assert doc["targets"][0]["model"]["format"] == "gptq"


def test_exl2_measurement_json():
    model = read_local_directory(str(_dir("exl2_measurement_silicon-maid-7b")), "x")
    assert model.problems == []
    assert model.format == "exl2" and model.calibration is None  # measurement.json records no dataset
    raw = json.loads((_dir("exl2_measurement_silicon-maid-7b") / "measurement.json").read_text())
    assert model.meta("measurement.json:last_module_idx") == raw["last_module_idx"] == 66
    assert model.meta("measurement.json:modules") == len(raw["measurement"])
    # the file's own first option for layer 0 attention: q_proj groups of 64 at 3 and 2 bits
    first = raw["measurement"]["model.layers.0.self_attn"][0]["q_proj"]
    assert set(first["bits"]) <= set(model.meta("measurement.json:candidate_bits"))
    assert set(first["group_size"].values()) <= set(model.meta("measurement.json:group_sizes"))
    assert set(model.meta("measurement.json:candidate_bits")) <= {2, 3, 4, 5, 6, 8}  # exllamav2's widths


def test_exl2_partial_quantization_config(tmp_path):
    snippet = _dir("exl2_PARTIAL_quantization_config_bartowski-magnum-12b-v2.5-kto-exl2_4_25")
    folder = tmp_path / "magnum"
    folder.mkdir()
    shutil.copy(snippet / "config.quantization_config.snippet.json", folder / "config.json")
    model = read_local_directory(str(folder), "magnum")
    assert model.problems == []
    assert model.format == "exl2" and model.quant == "EXL2 4.25 bpw (head 6)"
    assert model.declared_bits == 4.25 and model.bits_per_weight == 4.25
    assert model.architecture == "mistral"
    cal = model.calibration
    assert (cal.dataset, cal.kind, cal.details) == ("(default)", "built-in", {"rows": 115, "length": 2048})


def test_awq_partial_config_excerpt(tmp_path):
    text = (_dir("awq_PARTIAL_config-excerpt_thebloke-zephyr-7b-alpha-awq")
            / "config.json.ELIDED-doc-excerpt.txt").read_text()
    text = re.sub(r"^\s*\.\.\.\s*$\n", "", text, flags=re.M)  # the doc's elisions
    folder = tmp_path / "zephyr"
    folder.mkdir()
    (folder / "config.json").write_text(text)
    model = read_local_directory(str(folder), "zephyr")
    assert model.problems == []
    assert model.format == "awq" and model.quant == "AWQ 4-bit g128"
    assert (model.declared_bits, model.group_size) == (4, 128)
    assert model.bits_per_weight == pytest.approx(4 + 20 / 128)
    assert model.identity.name_or_path == "/workspace/process/huggingfaceh4_zephyr-7b-alpha/source"


LFS_SIZED = ["gptq_autogptq_thebloke_genz-70b_main", "gptq_autogptq_thebloke_genz-70b_3bit-nogroup-actorder",
             "gptq_autogptq_thebloke_wizard-vicuna-30b_8bit-128g"]


@pytest.mark.parametrize("name", LFS_SIZED)
def test_generated_gptq_layout_matches_the_real_file_size(tmp_path, name):
    """The generator's AutoGPTQ layout (qweight, qzeros, scales, g_idx, fp16 bias), built from the
    real config, lands within 64 KB of the real weights' size from the LFS pointer (the rest is
    header text); reading it gives the real parameter count and the bits the config states."""
    from fixtures.hfgen import Arch, make_model_dir

    folder = _dir(name)
    cfg = json.loads((folder / "config.json").read_text())
    real = int(re.search(r"^size (\d+)$", (folder / "model.safetensors.lfs-pointer.txt").read_text(), re.M).group(1))
    arch = Arch(cfg["model_type"], cfg["architectures"], hidden=cfg["hidden_size"], intermediate=cfg["intermediate_size"],
                layers=cfg["num_hidden_layers"], heads=cfg["num_attention_heads"],
                kv_heads=cfg.get("num_key_value_heads", cfg["num_attention_heads"]), vocab=cfg["vocab_size"])
    qc = cfg["quantization_config"]
    path = make_model_dir(tmp_path / "m", "gptq", arch=arch, bits=qc["bits"], group_size=qc["group_size"])
    model = read_local_directory(str(path), name)
    assert abs(model.file.size - real) < 64 * 1024
    assert model.packed_bits == qc["bits"] and model.group_size == qc["group_size"]
    assert model.bits_per_weight_file == pytest.approx(real * 8 / model.parameters, abs=0.001)
