"""The Hugging Face model-folder reader: every quant format from generated folders, the rules
that read its Model, header-only reads, and broken or hostile safetensors headers."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from fixtures.hfgen import GPT_OSS, LLAMA, MIXTRAL, QWEN3_MOE, STensor, linears, make_model_dir, write_safetensors
from quantlint.readers.hf_dir import read_directory, read_local_directory
from quantlint.readers.safetensors_header import read_safetensors_header
from quantlint.sources.local import LocalDirectory, LocalFileSource
from tests.conftest import ROOT, codes, lint_json, lint_model_path, run_cli

CHECKS = ROOT / "checks"


def read(path: Path):
    return read_local_directory(str(path), str(path))


def finding_codes(findings) -> list[str]:
    return [f.code for f in findings]


# ---------------------------------------------------------------- formats, labels, bpw

@pytest.mark.parametrize("fmt, kwargs, label, bpw", [
    ("exl3", {"bits": 4.0}, "EXL3 4.0 bpw (head 6)", None),
    ("compressed-tensors", {}, "compressed-tensors W4A16 (INT4, g128)", 4 + 16 / 128),
    ("auto-round", {}, "AutoRound 4-bit g128", None),
    ("bitsandbytes", {}, "bitsandbytes NF4", 4.5),
    ("hqq", {"group_size": 64}, "HQQ 4-bit g64", 4 + 32 / 64),
    ("fp8", {}, "FP8 block 128x128", None),
    ("mlx", {"group_size": 64}, "MLX 4-bit g64", 4 + 32 / 64),
    ("mxfp4", {"arch": GPT_OSS}, "MXFP4", None),
])
def test_every_format_is_detected_with_its_label(tmp_path, fmt, kwargs, label, bpw):
    model = read(make_model_dir(tmp_path / fmt, fmt, **kwargs))
    assert model.problems == []
    assert model.format == fmt
    assert model.quant == label
    if bpw is not None:
        assert model.bits_per_weight == pytest.approx(bpw, abs=0.02)
    assert model.architecture in ("llama", "gpt_oss")
    assert model.hyperparameters["block_count"] == 2


def test_exl2_4_0_bpw_measured_from_q_tensors(tmp_path):
    model, findings = lint_model_path(make_model_dir(tmp_path / "m", "exl2", bits=4.0))
    assert model.format == "exl2" and model.quant == "EXL2 4.0 bpw (head 6)"
    assert model.declared_bits == 4.0
    # exact byte accounting of q_weight + q_scale + q_scale_max + q_groups + q_invperm
    assert 4.0 <= model.bits_per_weight < 4.02
    assert model.kept_high_precision == ["lm_head (6-bit)"]
    assert model.calibration.dataset == "(default)" and model.calibration.kind == "built-in"
    assert model.calibration.details == {"rows": 115, "length": 2048}
    assert "QL101" not in finding_codes(findings)


def test_exl2_3_0_bpw_is_below_the_floor(tmp_path):
    model, findings = lint_model_path(make_model_dir(tmp_path / "m", "exl2", bits=3.0))
    assert model.quant == "EXL2 3.0 bpw (head 6)"
    assert 3.0 <= model.bits_per_weight < 3.02
    ql101 = [f for f in findings if f.code == "QL101"]
    assert ql101 and ql101[0].severity == "warning"


def test_exl3_bpw_is_trellis_bits_plus_suh_svh(tmp_path):
    model = read(make_model_dir(tmp_path / "m", "exl3", bits=4.0))
    mods = linears(LLAMA)
    expected = sum(4 * i * o + 16 * (i + o) for _, i, o in mods) / sum(i * o for _, i, o in mods)
    assert model.bits_per_weight == pytest.approx(expected)
    assert model.calibration.kind == "built-in"
    assert model.calibration.details["rows"] == 250


def test_awq_4bit_g128(tmp_path):
    model, findings = lint_model_path(make_model_dir(tmp_path / "m", "awq"))
    assert model.format == "awq" and model.quant == "AWQ 4-bit g128"
    assert model.bits_per_weight == pytest.approx(4.156, abs=0.005)
    assert model.declared_bits == 4 and model.packed_bits == 4 and model.group_size == 128
    assert model.kept_high_precision == ["lm_head"]
    assert model.identity.name_or_path == "meta-llama/Llama-2-7b-hf"
    assert not {"QL101", "QL104"} & set(finding_codes(findings))


def test_gptq_from_quantize_config_json_alone(tmp_path):
    """GPTQ-for-LLaMa era: no quantization_config in config.json, a 6-key quantize_config.json."""
    path = make_model_dir(tmp_path / "m", "gptq", flavor="legacy", extra={"desc_act": False})
    assert "quantization_config" not in json.loads((path / "config.json").read_text())
    model = read(path)
    assert model.format == "gptq" and model.quant_source == "quantize_config.json"
    assert model.quant == "GPTQ 4-bit g128"
    assert model.packed_bits == 4
    assert model.calibration is None  # AutoGPTQ records none


def test_gptq_transformers_config_records_its_dataset(tmp_path):
    model = read(make_model_dir(tmp_path / "m", "gptq", flavor="transformers"))
    assert model.format == "gptq"
    assert model.calibration.dataset == "c4" and model.calibration.kind == "recorded"
    assert model.calibration.source == "config.json quantization_config.dataset"
    assert any("transformers/optimum" in n for n in model.notes)


def test_gptq_dataset_list_is_summarised_never_stored(tmp_path):
    texts = [f"calibration text number {i} " * 20 for i in range(300)]
    path = make_model_dir(tmp_path / "m", "gptq", flavor="transformers", extra={"dataset": texts})
    model = read(path)
    assert model.calibration.details == {"type": "list", "count": 300, "total_chars": sum(map(len, texts))}
    code, doc = lint_json(str(path))
    assert "calibration text number 7" not in json.dumps(doc)


def test_gptq_3bit_gets_ql101(tmp_path):
    model, findings = lint_model_path(make_model_dir(tmp_path / "m", "gptq", bits=3))
    assert model.quant == "GPTQ 3-bit g128 act-order" and model.packed_bits == 3
    assert "QL101" in finding_codes(findings)


def test_config_bits_disagreeing_with_packed_tensors(tmp_path):
    model, findings = lint_model_path(make_model_dir(tmp_path / "m", "gptq", bits=3, packed_bits=4))
    assert model.declared_bits == 3 and model.packed_bits == 4
    if (CHECKS / "ql104_label_mismatch.py").exists():
        assert "QL104" in finding_codes(findings)


def test_awq_packing_measured_from_shapes(tmp_path):
    model = read(make_model_dir(tmp_path / "m", "awq", bits=4, packed_bits=8))
    assert model.declared_bits == 4 and model.packed_bits == 8


@pytest.mark.parametrize("fmt, arch, kwargs, experts_key", [
    ("awq", MIXTRAL, {"extra": {"modules_to_not_convert": ["gate"]}}, "num_local_experts"),
    ("exl2", QWEN3_MOE, {"bits": 4.0}, "num_experts"),
])
def test_moe_models_below_5_bpw(tmp_path, fmt, arch, kwargs, experts_key):
    model, findings = lint_model_path(make_model_dir(tmp_path / "m", fmt, arch=arch, **kwargs))
    assert model.moe is not None
    assert model.moe.experts == 8 and model.moe.experts_used == 2
    assert model.moe.detected_from == f"config.json {experts_key}"
    assert model.moe.layout == "per-expert"
    assert 4.0 <= model.moe.expert_bits_per_weight < 4.2
    assert model.hyperparameters["expert_count"] == 8 and model.hyperparameters["expert_used_count"] == 2
    if fmt == "awq":
        assert "gate" in model.kept_high_precision
    if (CHECKS / "ql102_moe_below_q5.py").exists():
        assert "QL102" in finding_codes(findings)


def test_gpt_oss_mxfp4_experts(tmp_path):
    model = read(make_model_dir(tmp_path / "m", "mxfp4", arch=GPT_OSS))
    assert model.moe.experts == 4 and model.moe.layout == "fused"
    assert model.moe.expert_bits_per_weight == pytest.approx(4.25)
    assert model.moe.always_active_bits_per_weight == pytest.approx(16.0)


def test_bf16_model_is_unquantized_with_no_quality_finding(tmp_path):
    model, findings = lint_model_path(make_model_dir(tmp_path / "m", "safetensors"))
    assert model.format == "safetensors" and model.quant == "BF16"
    assert model.bits_per_weight == pytest.approx(16.0)
    assert model.parameters > 1_000_000
    assert [f for f in findings if f.severity in ("warning", "error")] == []
    assert not [c for c in finding_codes(findings) if c.startswith("QL1")]


def test_hyperparameters_use_the_gguf_reader_keys(tmp_path):
    model = read(make_model_dir(tmp_path / "m", "awq"))
    assert model.hyperparameters == {
        "block_count": 2, "embedding_length": 256, "feed_forward_length": 768, "vocab_size": 512,
        "attention.head_count": 4, "attention.head_count_kv": 2, "attention.key_length": 64,
        "attention.value_length": 64}
    assert model.context_length == 4096
    assert model.identity.architectures == ["LlamaForCausalLM"]


def test_multimodal_text_config_and_dbrx_ffn_config_moe(tmp_path):
    path = make_model_dir(tmp_path / "vl", "awq", config_overrides={
        "model_type": "qwen3_vl_moe", "text_config": {"num_experts": 128, "num_experts_per_tok": 8,
                                                      "num_hidden_layers": 48, "hidden_size": 2048}})
    model = read(path)
    assert (model.moe.experts, model.moe.experts_used) == (128, 8)
    assert model.hyperparameters["block_count"] == 48
    dbrx = make_model_dir(tmp_path / "dbrx", "safetensors", config_overrides={
        "model_type": "dbrx", "ffn_config": {"moe_num_experts": 16, "moe_top_k": 4, "ffn_hidden_size": 10752}})
    model = read(dbrx)
    assert (model.moe.experts, model.moe.experts_used) == (16, 4)
    assert model.moe.detected_from == "config.json ffn_config.moe_num_experts"


# ---------------------------------------------------------------- detection order traps

def test_mlx_copy_without_quant_method_is_mlx_not_unknown(tmp_path):
    model = read(make_model_dir(tmp_path / "m", "mlx", group_size=64))
    assert model.format == "mlx" and model.quant_source == "config.json quantization (mlx_lm)"
    assert model.packed_bits == 4
    assert model.identity.name_or_path is None  # mlx_lm pops _name_or_path


def test_exl2_without_quantization_config_is_found_by_tensor_names(tmp_path):
    path = make_model_dir(tmp_path / "m", "exl2", bits=4.0)
    cfg = json.loads((path / "config.json").read_text())
    del cfg["quantization_config"]
    (path / "config.json").write_text(json.dumps(cfg))
    model = read(path)
    assert model.format == "exl2" and model.quant_source == "tensors *.q_weight + *.q_invperm"
    assert model.quant == "EXL2 4.0 bpw"
    assert model.calibration is None


def test_autoround_exported_awq_is_awq_with_its_producer(tmp_path):
    path = make_model_dir(tmp_path / "m", "awq")
    cfg = json.loads((path / "config.json").read_text())
    cfg["quantization_config"].update({"provider": "auto-round", "autoround_version": "0.5.1", "dataset": "pile-10k"})
    (path / "config.json").write_text(json.dumps(cfg))
    model = read(path)
    assert model.format == "awq" and "written by auto-round" in model.notes
    assert model.calibration.dataset == "pile-10k"


def test_gptqmodel_dynamic_skips_are_kept_high(tmp_path):
    dynamic = {"-:.*\\.mlp\\.down_proj": {}, "+:.*\\.q_proj": {"bits": 8, "group_size": 64}}
    model = read(make_model_dir(tmp_path / "m", "gptq", flavor="gptqmodel", extra={"dynamic": dynamic}))
    assert model.kept_high_precision == ["lm_head", ".*\\.mlp\\.down_proj", ".*\\.q_proj (8-bit)"]
    assert any("GPTQModel" in n for n in model.notes)


# ---------------------------------------------------------------- shards and indexes

def test_sharded_index_is_followed(tmp_path):
    model = read(make_model_dir(tmp_path / "m", "awq", shards=3))
    assert model.file.shards == [f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]
    assert model.problems == [] and model.bits_per_weight == pytest.approx(4.156, abs=0.005)
    assert {t.file for t in model.tensors} == set(model.file.shards)


def test_exl2_vestigial_index_is_ignored(tmp_path):
    model = read(make_model_dir(tmp_path / "m", "exl2", bits=4.0, vestigial_index=True))
    assert model.problems == []
    assert model.file.shards == ["output.safetensors"]
    assert any("exllamav2 copies the source" in n for n in model.notes)


def test_missing_shard_of_a_normal_model_is_reported(tmp_path):
    path = make_model_dir(tmp_path / "m", "awq", shards=2)
    (path / "model-00002-of-00002.safetensors").unlink()
    model, findings = lint_model_path(path)
    assert any(p.kind == "truncated" and "model-00002-of-00002" in p.message for p in model.problems)
    assert "QL901" in finding_codes(findings)


# ---------------------------------------------------------------- header-only reads

class CountingDirectory(LocalDirectory):
    """Records every byte range read from a weight file."""

    def __init__(self, path) -> None:
        super().__init__(path)
        self.ranges: dict[str, list[tuple[int, int]]] = {}

    def open(self, path: str) -> LocalFileSource:
        source = super().open(path)
        ranges = self.ranges.setdefault(path, [])
        inner = source.read_at

        def read_at(offset: int, length: int) -> bytes:
            data = inner(offset, length)
            ranges.append((offset, len(data)))
            return data

        source.read_at = read_at  # type: ignore[method-assign]
        return source


def test_reading_a_folder_touches_no_tensor_data(tmp_path):
    path = make_model_dir(tmp_path / "m", "gptq", shards=2)
    directory = CountingDirectory(path)
    model = read_directory(directory, "m")
    assert model.format == "gptq" and model.problems == []
    assert set(directory.ranges) == set(model.file.shards)
    for name, ranges in directory.ranges.items():
        (length,) = struct.unpack("<Q", (path / name).read_bytes()[:8])
        assert max(off + n for off, n in ranges) == 8 + length  # the header, to its last byte, and no more
        assert sum(n for _, n in ranges) == 8 + length


def test_weights_cut_after_the_header_still_read(tmp_path):
    path = make_model_dir(tmp_path / "m", "awq", cut="data")
    model, findings = lint_model_path(path)
    assert model.format == "awq" and model.quant == "AWQ 4-bit g128"
    assert model.bits_per_weight == pytest.approx(4.156, abs=0.005)  # from the intact header
    truncated = [p for p in model.problems if p.kind == "truncated"]
    assert truncated and "missing" in truncated[0].message
    assert "QL901" in finding_codes(findings)


def test_weights_cut_inside_the_header_give_a_finding_not_a_traceback(tmp_path):
    path = make_model_dir(tmp_path / "m", "gptq", cut="header")
    proc = run_cli("--output-format", "json", str(path))
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert "QL901" in codes(doc) and proc.returncode == 1


# ---------------------------------------------------------------- the safetensors header parser

def _source(tmp_path: Path, raw: bytes) -> LocalFileSource:
    file = tmp_path / "x.safetensors"
    file.write_bytes(raw)
    return LocalFileSource(file)


def _raw(header: dict, data: int = 0) -> bytes:
    body = json.dumps(header).encode()
    return struct.pack("<Q", len(body)) + body + b"\0" * data


def test_agrees_with_the_safetensors_package(tmp_path):
    safetensors = pytest.importorskip("safetensors")
    path = make_model_dir(tmp_path / "m", "exl2", bits=4.0) / "output.safetensors"
    ours = read_safetensors_header(LocalFileSource(path))
    with safetensors.safe_open(str(path), "np") as fh:
        theirs = {k: fh.get_slice(k) for k in fh.keys()}
        assert ours.metadata == fh.metadata()
    assert {t.name for t in ours.tensors} == set(theirs)
    for t in ours.tensors:
        assert list(t.shape) == theirs[t.name].get_shape() and t.dtype == theirs[t.name].get_dtype()


@pytest.mark.parametrize("raw, kind, fragment", [
    (struct.pack("<Q", 1 << 60) + b"{}", "corrupt", "over the"),
    (struct.pack("<Q", 5000) + b"{}", "truncated", "ends inside its header"),
    (b"\x05\x00", "truncated", "ends inside the 8-byte header length"),
    (struct.pack("<Q", 4) + b"nope", "corrupt", "not valid UTF-8 JSON"),
    (_raw({"a": {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]},
           "b": {"dtype": "F16", "shape": [4], "data_offsets": [4, 12]}}, 12), "corrupt", "overlap"),
    (_raw({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}, 8), "corrupt", "needs 16 bytes"),
    (_raw({"a": {"dtype": "F16", "shape": [-1], "data_offsets": [0, 2]}}, 2), "corrupt", "shape"),
    (_raw({"a": {"dtype": "F16", "shape": [4], "data_offsets": [8, 0]}}), "corrupt", "begin <= end"),
    (_raw({"a": {"dtype": "F16", "shape": [4096], "data_offsets": [0, 8192]}}, 100), "truncated", "8,092 missing"),
    (struct.pack("<Q", 16) + b'{"a":1, "a":2}  ', "corrupt", "duplicate key"),
])
def test_hostile_headers_become_problems_with_offsets(tmp_path, raw, kind, fragment):
    header = read_safetensors_header(_source(tmp_path, raw))
    assert header.problems, header
    problem = header.problems[0]
    assert problem.kind == kind and fragment in problem.message
    assert problem.offset is not None
    assert header.bytes_read <= max(8, len(raw))


def test_huge_length_is_refused_before_reading(tmp_path):
    source = _source(tmp_path, struct.pack("<Q", 90_000_000) + b"{}")
    header = read_safetensors_header(source)
    assert header.problems[0].kind == "truncated" and header.bytes_read == 8


def test_lfs_pointer_in_place_of_weights(tmp_path):
    path = make_model_dir(tmp_path / "m", "awq")
    (path / "model.safetensors").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 4000000000\n")
    model, findings = lint_model_path(path)
    assert "QL903" in finding_codes(findings)
    assert model.format == "awq" and model.quant == "AWQ 4-bit g128"  # the config still says what it is


# ---------------------------------------------------------------- unsupported, runtimes, inspect

def test_folder_without_a_model_is_unsupported(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x02")
    model, findings = lint_model_path(folder)
    assert "QL905" in finding_codes(findings)
    assert "PyTorch pickle" in model.problems[0].message


def test_unknown_quant_method_is_unsupported(tmp_path):
    path = make_model_dir(tmp_path / "m", "safetensors", config_overrides={
        "quantization_config": {"quant_method": "aqlm", "nbits_per_codebook": 16}})
    model, findings = lint_model_path(path)
    assert "QL905" in finding_codes(findings)
    assert "'aqlm'" in model.problems[0].message


@pytest.mark.parametrize("fmt, runtime, expected", [
    ("awq", "exllamav2", True),
    ("exl2", "exllamav2", False),
    ("exl2", "llama.cpp", True),
    ("exl3", "exllamav3", False),
    ("gptq", "vllm", False),
    ("mlx", "vllm", True),
])
def test_runtime_mismatch_for_hf_formats(tmp_path, fmt, runtime, expected):
    from quantlint.settings import RuntimePlan

    path = make_model_dir(tmp_path / fmt, fmt, bits=4.0 if fmt.startswith("exl") else 4)
    _, findings = lint_model_path(path, plan=RuntimePlan(runtime=runtime))
    assert ("QL905" in finding_codes(findings)) is expected


def test_runtime_option_on_the_command_line(tmp_path):
    _, doc = lint_json("--runtime", "exllamav2", str(make_model_dir(tmp_path / "m", "awq")))
    assert "QL905" in codes(doc) and "exllamav2 cannot load AWQ" in json.dumps(doc)


def test_inspect_shows_the_overview(tmp_path):
    path = make_model_dir(tmp_path / "m", "exl2", bits=4.0)
    proc = run_cli("inspect", str(path), env={"COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    for text in ("exl2", "EXL2 4.0 bpw (head 6)", "lm_head (6-bit)", "meta-llama/Llama-2-7b-hf", "I32"):
        assert text in proc.stdout


# ---------------------------------------------------------------- chat templates

def test_chat_template_string_list_and_jinja_file(tmp_path):
    model = read(make_model_dir(tmp_path / "a", "awq", chat_template="{{ messages[0]['content'] }}"))
    assert model.tokenizer.has_chat_template and model.tokenizer.chat_template == "{{ messages[0]['content'] }}"
    assert model.tokenizer.chat_template_source == "tokenizer_config.json chat_template"
    assert model.tokenizer.model == "LlamaTokenizerFast"
    named = [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]
    model = read(make_model_dir(tmp_path / "b", "awq", chat_template=named))
    assert model.tokenizer.chat_template == "D" and model.tokenizer.named_chat_templates == {"tool_use": "T"}
    model = read(make_model_dir(tmp_path / "c", "awq", chat_template_file="{{ bos_token }}"))
    assert model.tokenizer.chat_template_source == "chat_template.jinja"
    model = read(make_model_dir(tmp_path / "d", "awq"))
    assert not model.tokenizer.has_chat_template


def test_tiny_safetensors_writer_roundtrip(tmp_path):
    path = write_safetensors(tmp_path / "t.safetensors", [STensor("w", "BF16", (4, 8))])
    header = read_safetensors_header(LocalFileSource(path))
    assert header.problems == [] and header.tensors[0].shape == (4, 8)
    assert header.data_end == path.stat().st_size



def test_configs_of_any_shape_never_raise(tmp_path):
    """Values of the wrong type anywhere in config.json become problems or are ignored."""
    import random

    rnd = random.Random(7)
    odd = [None, True, 0, -1, 1e308, float("inf"), "x", [], [1, "a"], {}, {"a": 1}, 2**70, 3.5, {"bits": "8"}]
    folders = {f: make_model_dir(tmp_path / f, f) for f in ("exl2", "gptq", "awq", "compressed-tensors", "hqq", "mlx")}
    for _ in range(150):
        fmt, path = rnd.choice(sorted(folders.items()))
        cfg = json.loads((path / "config.json").read_text())
        parts = [cfg] + [v for k, v in cfg.items() if isinstance(v, dict)]
        for _ in range(rnd.randint(1, 4)):
            part = rnd.choice(parts)
            keys = list(part) + ["num_experts", "text_config", "ffn_config", "dynamic", "quantization", "ignore"]
            part[rnd.choice(keys)] = rnd.choice(odd)
        original = (path / "config.json").read_text()
        (path / "config.json").write_text(json.dumps(cfg if rnd.random() > 0.05 else rnd.choice(odd)))
        read(path)
        (path / "config.json").write_text(original)
