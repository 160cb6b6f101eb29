"""QL102-QL105 and QL904 on generated GGUF files (llama-quantize's mixes) and the real Gemma file."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.ggufgen import FILE_TYPES, Arch, GGUFSpec, model_spec, write_gguf, write_gguf_split
from tests.conftest import codes, lint_json, lint_model_path

QWEN3MOE = Arch("qwen3moe", n_layer=4, n_embd=256, n_ff=512, n_expert=128, n_expert_used=8, n_ff_expert=256)
MIXTRAL = Arch("llama", n_layer=4, n_embd=256, n_ff=512, n_expert=8, n_expert_used=2, expert_layout="per-expert")
QWEN2MOE_SHARED = Arch("qwen2moe", n_layer=4, n_embd=256, n_ff=512, n_expert=60, n_expert_used=4,
                       n_ff_expert=256, n_shared_expert=1)
GEMMA_LIKE = Arch("gemma3", n_layer=6, n_embd=640, n_ff=2048, n_head=4, n_head_kv=1, head_dim=256, tied_embeddings=True)


def write(tmp_path: Path, name: str, spec: GGUFSpec) -> Path:
    return write_gguf(tmp_path / name, spec)


def findings(path: Path, code: str, **settings):
    _, found = lint_model_path(path, **settings)
    return [f for f in found if f.code == code]


def set_type(spec: GGUFSpec, pattern: str, type_name: str) -> GGUFSpec:
    for t in spec.tensors:
        if pattern in t.name:
            t.type_name = type_name
    return spec


def drop_key(spec: GGUFSpec, suffix: str) -> GGUFSpec:
    spec.kvs = [kv for kv in spec.kvs if not kv.key.endswith(suffix)]
    return spec


# -- QL102 moe-below-q5 --------------------------------------------------------------------------
def test_qwen3moe_q4_k_m_is_low_in_experts_and_attention(tmp_path):
    path = write(tmp_path, "Qwen3-MoE-Q4_K_M.gguf", model_spec("Q4_K_M", QWEN3MOE))
    model, _ = lint_model_path(path)
    assert (model.moe.experts, model.moe.experts_used) == (128, 8)
    [f] = findings(path, "QL102")
    # 128 experts get no attention bump in llama.cpp's mixes, so both parts are low.
    assert f.severity == "warning" and f.data["where"] == "both"
    assert "128 experts, 8 used" in f.message and "attention" in f.message
    assert f.data["expert_bpw"] < 5.0 and f.data["always_active_bpw"] < 5.0


def test_qwen3moe_q5_k_m_passes(tmp_path):
    path = write(tmp_path, "Qwen3-MoE-Q5_K_M.gguf", model_spec("Q5_K_M", QWEN3MOE))
    assert findings(path, "QL102") == []


def test_old_mixtral_per_expert_tensors_q4_k_m(tmp_path):
    # n_expert == 8: llama.cpp raises attn_k/attn_v to Q8_0 and attn_output to Q5_K, so only
    # the experts are low, which the evidence supports weakly: info.
    path = write(tmp_path, "mixtral-8x7b-Q4_K_M.gguf", model_spec("Q4_K_M", MIXTRAL))
    model, _ = lint_model_path(path)
    assert model.architecture == "llama" and model.moe.layout == "per-expert"
    [f] = findings(path, "QL102")
    assert f.data["where"] == "experts" and f.severity == "info"
    assert f.data["always_active_bpw"] > 5.0


def test_mixtral_detected_from_tensor_names_alone(tmp_path):
    spec = drop_key(drop_key(model_spec("Q4_K_M", MIXTRAL), ".expert_count"), ".expert_used_count")
    path = write(tmp_path, "mixtral-nokeys-Q4_K_M.gguf", spec)
    [f] = findings(path, "QL102")
    assert f.data["experts"] == 8


def test_dense_llama_q4_k_m_is_not_moe(tmp_path):
    path = write(tmp_path, "llama-Q4_K_M.gguf", model_spec("Q4_K_M", Arch()))
    assert findings(path, "QL102") == []


def test_low_shared_experts_are_named(tmp_path):
    spec = set_type(model_spec("Q5_K_M", QWEN2MOE_SHARED), "_shexp.", "Q3_K")
    path = write(tmp_path, "qwen2moe-Q5_K_M.gguf", spec)
    [f] = findings(path, "QL102")
    assert f.data["where"] == "always-active" and f.severity == "warning"
    assert f.data["always_active_parts"]["shared experts"] == pytest.approx(3.4375)
    assert "shared experts 3.44" in f.message


def test_moe_threshold_follows_the_floor(tmp_path):
    path = write(tmp_path, "Qwen3-MoE-Q5_K_M.gguf", model_spec("Q5_K_M", QWEN3MOE))
    [f] = findings(path, "QL102", floor="Q5_K_M")
    assert f.data["threshold"] == 6.0 and "floor Q5_K_M" in f.message


def test_moe_facts_from_a_hugging_face_reader():
    from quantlint.engine import load_registry
    from quantlint.model import MoEFacts, Model
    from quantlint.settings import CheckContext, LintSettings

    rule = load_registry().rules["QL102"]
    model = Model(format="exl2", target="x", moe=MoEFacts(experts=8, experts_used=2, expert_bits_per_weight=3.5,
                                                            always_active_bits_per_weight=6.0))
    [f] = list(rule.check(model, CheckContext(settings=LintSettings(), options=dict(rule.options))))
    assert f.data["where"] == "experts"


# -- QL103 sensitive-tensor-low ------------------------------------------------------------------
def test_tied_embedding_quantized_low(tmp_path):
    spec = set_type(model_spec("Q4_K_M", GEMMA_LIKE), "token_embd.weight", "Q4_0")
    path = write(tmp_path, "gemma-Q4_K_M.gguf", spec)
    [f] = findings(path, "QL103")
    assert f.data["tied"] and f.location == "token_embd.weight" and f.severity == "warning"
    assert "output head" in f.message


def test_output_head_below_q6_k(tmp_path):
    spec = set_type(model_spec("Q4_K_M", Arch()), "output.weight", "Q4_K")
    [f] = findings(write(tmp_path, "llama-Q4_K_M.gguf", spec), "QL103")
    assert f.location == "output.weight" and not f.data["tied"]


def test_untied_embedding_at_base_type_passes_but_not_below_q2_k(tmp_path):
    ok = model_spec("Q4_K_M", Arch())  # llama.cpp leaves an untied token_embd at Q4_K: by design
    assert findings(write(tmp_path, "a-Q4_K_M.gguf", ok), "QL103") == []
    low = set_type(model_spec("Q4_K_M", Arch()), "token_embd.weight", "IQ1_S")
    [f] = findings(write(tmp_path, "b-Q4_K_M.gguf", low), "QL103")
    assert f.severity == "info" and f.location == "token_embd.weight"


# -- QL104 label-mismatch ------------------------------------------------------------------------
def test_file_type_q4_k_m_with_q2_k_blocks(tmp_path):
    path = write(tmp_path, "model.gguf", model_spec("Q4_K_M", Arch(), block_type_override="Q2_K"))
    [f] = findings(path, "QL104")
    assert f.severity == "warning" and f.location == "general.file_type"
    assert "Q4_K_M" in f.message and "mostly Q2_K" in f.message
    assert f.data["measured_bpw"] < 3.0 <= 4.5 == f.data["low_bpw"]


def test_file_name_tag_against_the_measured_mix(tmp_path):
    path = write(tmp_path, "model-Q8_0.gguf", model_spec("Q4_K_M", Arch()))
    [f] = findings(path, "QL104")
    assert f.location == "file name" and "says Q8_0" in f.message


def test_custom_recipe_names_are_allowed_their_base_mix(tmp_path):
    path = write(tmp_path, "Model-UD-Q4_K_XL.gguf", model_spec("Q4_K_M", Arch()))
    assert findings(path, "QL104") == []


def test_missing_file_type_says_the_label_was_guessed(tmp_path):
    path = write(tmp_path, "model.gguf", model_spec("Q4_K_M", Arch(), file_type=False))
    [f] = findings(path, "QL104")
    assert f.severity == "info" and "guessed" in f.message
    assert f.data["llama_cpp_guess"] == "Q4_K_M"


def test_hf_config_bits_against_packed_bits():
    from quantlint.engine import load_registry
    from quantlint.model import Model
    from quantlint.settings import CheckContext, LintSettings

    rule = load_registry().rules["QL104"]
    ctx = CheckContext(settings=LintSettings(), options={})
    [f] = list(rule.check(Model(format="gptq", target="x", declared_bits=3, packed_bits=4), ctx))
    assert "3-bit" in f.message and "4 bits" in f.message
    assert list(rule.check(Model(format="gptq", target="x", declared_bits=4, packed_bits=4), ctx)) == []


# -- no false positives on llama-quantize's own mixes --------------------------------------------
ARCHES = {
    "dense": Arch(),
    "gemma-like (ne0 640, tied)": GEMMA_LIKE,
    "mixtral-like": Arch("llama", n_expert=8, n_expert_used=2, n_ff_expert=256),
    "qwen2moe shared": QWEN2MOE_SHARED,
}


@pytest.mark.parametrize("arch", list(ARCHES))
@pytest.mark.parametrize("ftype", sorted(FILE_TYPES))
def test_every_llama_quantize_mix_is_clean(tmp_path, ftype, arch):
    imatrix = {"file": "imatrix.dat", "entries_count": 7}
    path = write(tmp_path, f"model-{ftype}.gguf", model_spec(ftype, ARCHES[arch], imatrix=imatrix))
    _, found = lint_model_path(path)
    assert [f for f in found if f.code in ("QL103", "QL104", "QL105")] == []


def test_real_gemma_q4_k_m_is_clean(gemma):
    model, found = lint_model_path(gemma)
    assert model.quant == "Q4_K_M"
    assert not {"QL102", "QL103", "QL104"} & {f.code for f in found}


# -- QL105 missing-imatrix -----------------------------------------------------------------------
def test_iq2_xxs_without_imatrix(tmp_path):
    [f] = findings(write(tmp_path, "m-IQ2_XXS.gguf", model_spec("IQ2_XXS", Arch())), "QL105")
    assert "IQ2_XXS" in f.message and f.location == "general.file_type"


def test_iq2_xxs_with_imatrix(tmp_path):
    spec = model_spec("IQ2_XXS", Arch(), imatrix={"file": "imatrix.dat", "dataset": "calibration_datav3.txt",
                                                  "entries_count": 100, "chunks_count": 125})
    assert findings(write(tmp_path, "m-IQ2_XXS.gguf", spec), "QL105") == []


def test_q2_k_without_imatrix_is_allowed(tmp_path):
    assert findings(write(tmp_path, "m-Q2_K.gguf", model_spec("Q2_K", Arch())), "QL105") == []


def test_imatrix_tensor_types_without_a_label(tmp_path):
    spec = model_spec("IQ2_XS", Arch(), file_type=False)
    [f] = findings(write(tmp_path, "model.gguf", spec), "QL105")
    assert "IQ2_XS" in f.message


# -- QL904 split-incomplete and split sets -------------------------------------------------------
def _set(tmp_path: Path, **kwargs) -> list[Path]:
    return write_gguf_split(tmp_path, "Model-Q4_K_M", model_spec("Q4_K_M", Arch()), 3, **kwargs)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_complete_set_is_one_model_whichever_shard(tmp_path, which):
    shards = _set(tmp_path)
    whole = write(tmp_path / "single", "Model-Q4_K_M.gguf", model_spec("Q4_K_M", Arch()))
    single, _ = lint_model_path(whole)
    model, found = lint_model_path(shards[which])
    assert [f.code for f in found if f.code == "QL904"] == []
    assert len(model.tensors) == len(single.tensors)
    assert model.quant == "Q4_K_M" and model.architecture == "llama"
    assert model.bits_per_weight == pytest.approx(single.bits_per_weight)
    assert len(model.file.shards) == 3
    assert {t.file for t in model.tensors} == {p.name for p in shards}


def test_missing_shard(tmp_path):
    shards = _set(tmp_path, skip=(2,))
    [f] = findings(shards[0], "QL904")
    assert f.severity == "error" and "shard 2 of 3 is missing" in f.message
    assert f.location == "Model-Q4_K_M-00002-of-00003.gguf"


def test_missing_first_shard_says_it_holds_the_metadata(tmp_path):
    shards = _set(tmp_path, skip=(1,))
    [f] = findings(shards[0], "QL904")
    assert "shard 1 of 3" in f.message and "metadata" in f.message


def test_split_no_taken_as_1_based(tmp_path):
    shards = _set(tmp_path, split_no={1: 1, 2: 2, 3: 3})
    found = findings(shards[0], "QL904")
    assert len(found) == 3 and all("0-based" in f.message for f in found)


def test_tensor_count_mismatch(tmp_path):
    shards = _set(tmp_path, tensors_count=10)
    [f] = findings(shards[0], "QL904")
    assert "10 tensors expected" in f.message


def test_renamed_shard_linted_alone(tmp_path):
    shards = _set(tmp_path)
    lone = shards[1].rename(tmp_path / "renamed.gguf")
    [f] = findings(lone, "QL904")
    assert "shard 2 of 3" in f.message


def test_split_set_through_the_cli(tmp_path):
    shards = _set(tmp_path, skip=(3,))
    _, doc = lint_json(str(shards[1]))
    assert len(doc["targets"]) == 1
    assert "QL904" in codes(doc)


# -- floors, profiles and quality context --------------------------------------------------------
def test_floor_q5_k_m_makes_ql101_fire_for_q4_k_m(tmp_path):
    path = write(tmp_path, "m-Q4_K_M.gguf", model_spec("Q4_K_M", Arch()))
    assert findings(path, "QL101") == []
    _, doc = lint_json("--floor", "Q5_K_M", str(path))
    [f] = [f for f in doc["targets"][0]["findings"] if f["code"] == "QL101"]
    assert "floor Q5_K_M" in f["message"] and "+0.1754 PPL on Llama-3-8B" in f["message"]
    assert f["message"].count("llama.cpp") == 1  # the source is named once
    assert "Q5_K_M: 5.33 GB, +0.0569 PPL" in f["hint"]


def test_high_stakes_profile(tmp_path):
    path = write(tmp_path, "m-Q4_K_M.gguf", model_spec("Q4_K_M", Arch()))
    _, doc = lint_json("--profile", "high-stakes", str(path))
    [f] = [f for f in doc["targets"][0]["findings"] if f["code"] == "QL101"]
    assert "floor Q5_K_M (profile high-stakes)" in f["message"]


def test_inspect_shows_where_the_quant_stands(tmp_path):
    from quantlint.report.inspect import overview_rows

    model, _ = lint_model_path(write(tmp_path, "m-Q3_K_M.gguf", model_spec("Q3_K_M", Arch())))
    context = [v for k, v in overview_rows(model) if k == "quality context"]
    assert context[0].startswith("Q3_K_M: 3.74 GB, +0.6569 PPL on Llama-3-8B") and "quantize" in context[0]
    assert context[1].startswith("next safer step (the floor): Q4_K_M: 4.58 GB")


def test_broken_shard_is_reported_once_by_its_own_rule(tmp_path):
    shards = _set(tmp_path)
    shards[1].write_bytes(b"garbage!" * 8)
    model, found = lint_model_path(shards[0])
    assert not model.readable
    assert [(f.code, f.location) for f in found if f.code in ("QL902", "QL904")] == [("QL902", shards[1].name)]
