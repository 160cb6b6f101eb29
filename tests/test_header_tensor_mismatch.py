"""QL906 header-tensor-mismatch: the header's hyper-parameters against the shapes llama.cpp asks for.

The expected shapes come from quantlint/facts/tensor_shapes.py (llama.cpp 0c1e57098
load_arch_tensors); the files here are either ggufgen's recipes with one key contradicted, or
small files with the tensor layout of a real model family (scaled down, same structure).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.ggufgen import (
    FILE_TYPES,
    INT32,
    UINT32,
    Arch,
    GGUFSpec,
    Tensor,
    model_spec,
    write_gguf,
    write_gguf_split,
)
from tests.conftest import codes, lint_json, lint_model_path, run_cli
from tests.test_vocab_files import EXPECTED as VOCAB_FILES
from tests.test_vocab_files import vocab_dir  # noqa: F401  (a pytest fixture)

SMALL = Arch("llama", n_layer=2, n_embd=64, n_ff=128, n_head=2, n_head_kv=1, n_vocab=300)


def set_kv(spec: GGUFSpec, key: str, value: Any, vtype: int | None = None, elem_type: int | None = None) -> GGUFSpec:
    """Replace (or add) one key, keeping its place in the header."""
    fresh = GGUFSpec().add(key, value, vtype, elem_type).kvs[0]
    for n, kv in enumerate(spec.kvs):
        if kv.key == key:
            spec.kvs[n] = fresh
            return spec
    spec.kvs.append(fresh)
    return spec


def drop_tensors(spec: GGUFSpec, prefix: str) -> GGUFSpec:
    spec.tensors = [t for t in spec.tensors if not t.name.startswith(prefix)]
    return spec


def ql906(path: Path) -> list:
    _, found = lint_model_path(path)
    return [f for f in found if f.code == "QL906"]


def write(tmp_path: Path, name: str, spec: GGUFSpec) -> Path:
    return write_gguf(tmp_path / name, spec)


# -- the cases of issue 15: each one a file llama.cpp refuses -------------------------------------
def test_embedding_length_128_with_64_wide_tensors(tmp_path):
    path = write(tmp_path, "embd.gguf", set_kv(model_spec("F16", SMALL), "llama.embedding_length", 128))
    found = ql906(path)
    assert found and all(f.severity == "error" for f in found)
    first = found[0]
    assert first.location == "token_embd.weight" and "llama.embedding_length = 128" in first.message
    # llama.cpp's own words, numbers included (llama-model-loader.cpp check_tensor_dims)
    assert first.data["loader_message"] == "check_tensor_dims: tensor 'token_embd.weight' has wrong shape; expected 128, 300, got 64, 300, 1, 1"
    assert first.data["expected"] == [128, 300] and first.data["got"] == [64, 300]


def test_head_count_3_with_embedding_64(tmp_path):
    path = write(tmp_path, "heads.gguf", set_kv(model_spec("F16", SMALL), "llama.attention.head_count", 3))
    found = ql906(path)
    q = next(f for f in found if f.location == "blk.0.attn_q.weight")
    # 64 // 3 = 21-wide heads: llama.cpp asks for 3 x 21 = 63 query rows
    assert q.data["loader_message"] == "check_tensor_dims: tensor 'blk.0.attn_q.weight' has wrong shape; expected 64, 63, got 64, 64, 1, 1"
    assert "llama.attention.head_count = 3" in q.message and "63" in q.message
    assert "llama.attention.head_count" in q.data["keys"]


def test_block_count_4_with_only_blk_0(tmp_path):
    spec = set_kv(model_spec("Q8_0", Arch("llama", n_layer=1, n_embd=64, n_ff=128, n_head=2, n_head_kv=1, n_vocab=300)),
                  "llama.block_count", 4)
    [f] = ql906(write(tmp_path, "blocks.gguf", spec))
    assert f.location == "llama.block_count" and f.data["missing_blocks"] == [1, 2, 3]
    assert f.data["loader_message"] == "check_tensor_dims: tensor 'blk.1.attn_norm.weight' not found"
    assert "block(s) 1-3 have no tensors" in f.message


def test_absurd_block_count_is_one_finding_in_bounded_time(tmp_path):
    spec = set_kv(model_spec("Q8_0", SMALL), "llama.block_count", 2**32 - 1)
    [f] = ql906(write(tmp_path, "huge.gguf", spec))
    assert f.location == "llama.block_count" and "LLAMA_MAX_LAYERS" in f.data["loader_message"]


def test_blocks_past_block_count(tmp_path):
    spec = set_kv(model_spec("Q8_0", Arch("llama", n_layer=4, n_embd=64, n_ff=128, n_head=2, n_head_kv=1, n_vocab=300)),
                  "llama.block_count", 2)
    [f] = ql906(write(tmp_path, "extra.gguf", spec))
    assert f.data["extra_blocks"] == [2, 3] and f.data["tensors"] == 18
    assert "wrong number of tensors; expected 39, got 21" in f.data["loader_message"]


def test_wrong_feed_forward_length(tmp_path):
    found = ql906(write(tmp_path, "ff.gguf", set_kv(model_spec("F16", SMALL), "llama.feed_forward_length", 96)))
    [f] = found
    assert f.data["keys"] == ["llama.feed_forward_length"] and f.location == "blk.0.ffn_gate.weight"
    assert f.data["tensors"] == 6  # gate, down and up in both blocks: one finding, not six
    assert "expected 64, 96, got 64, 128" in f.data["loader_message"]


MOE = Arch("qwen3moe", n_layer=2, n_embd=64, n_ff=256, n_head=2, n_head_kv=1, n_vocab=300,
           n_expert=8, n_expert_used=2, n_ff_expert=32)


def test_wrong_expert_count(tmp_path):
    found = ql906(write(tmp_path, "experts.gguf", set_kv(model_spec("Q8_0", MOE), "qwen3moe.expert_count", 16)))
    [f] = found
    assert f.data["keys"] == ["qwen3moe.expert_count"] and f.location == "blk.0.ffn_gate_inp.weight"
    assert f.data["expected"] == [64, 16] and f.data["got"] == [64, 8]
    assert f.data["tensors"] == 8  # the router and the three *_exps tensors, in both blocks


def test_wrong_expert_feed_forward_length(tmp_path):
    spec = set_kv(model_spec("Q8_0", MOE), "qwen3moe.expert_feed_forward_length", 64)
    [f] = ql906(write(tmp_path, "expert-ff.gguf", spec))
    assert f.data["keys"] == ["qwen3moe.expert_feed_forward_length"] and f.location == "blk.0.ffn_gate_exps.weight"
    assert f.data["expected"] == [64, 64, 8] and f.data["got"] == [64, 32, 8]


def test_per_layer_array_of_the_wrong_length(tmp_path):
    spec = set_kv(model_spec("F16", SMALL), "llama.attention.head_count_kv", [1, 1, 1], elem_type=INT32)
    [f] = ql906(write(tmp_path, "array.gguf", spec))
    assert f.data["loader_message"] == "key llama.attention.head_count_kv has wrong array length; expected 2, got 3"


def test_per_layer_arrays_of_block_count_entries_pass(tmp_path):
    spec = set_kv(model_spec("F16", SMALL), "llama.attention.head_count_kv", [1, 1], elem_type=INT32)
    spec = set_kv(spec, "llama.feed_forward_length", [128, 128], elem_type=UINT32)
    assert ql906(write(tmp_path, "arrays.gguf", spec)) == []


def test_cli_exit_code_and_json(tmp_path):
    path = write(tmp_path, "embd.gguf", set_kv(model_spec("F16", SMALL), "llama.embedding_length", 128))
    rc, doc = lint_json(str(path))
    assert rc == 1 and "QL906" in codes(doc)
    f = next(f for f in doc["targets"][0]["findings"] if f["code"] == "QL906")
    assert f["severity"] == "error" and f["name"] == "header-tensor-mismatch" and f["hint"]


def test_explain_prints_the_rule_documentation():
    proc = run_cli("explain", "QL906")
    assert proc.returncode == 0
    for part in ("What it does", "Why is this bad?", "Example", "How to fix", "wrong shape"):
        assert part in proc.stdout


def test_unknown_architecture_gets_the_generic_checks(tmp_path):
    arch = Arch("olmo2", n_layer=1, n_embd=64, n_ff=128, n_head=2, n_head_kv=1, n_vocab=300)
    clean = write(tmp_path, "olmo2.gguf", model_spec("F16", arch))
    assert ql906(clean) == []
    spec = set_kv(set_kv(model_spec("F16", arch), "olmo2.block_count", 3), "olmo2.embedding_length", 96)
    found = ql906(write(tmp_path, "olmo2-bad.gguf", spec))
    assert {f.location for f in found} == {"olmo2.block_count", "token_embd.weight"}
    # attention widths are not judged without a table for the architecture
    assert all("attn" not in f.location for f in found)


# -- split sets: judged as one model, never shard by shard ----------------------------------------
def test_sliding_window_head_sizes_fall_back_to_the_generic_checks(tmp_path):
    # key_length_swa gives layer 0 (a sliding-window layer) its own head size: not modelled
    spec = set_kv(set_kv(model_spec("F16", SMALL), "llama.attention.head_count", 3), "llama.attention.key_length_swa", 32)
    assert ql906(write(tmp_path, "swa.gguf", spec)) == []
    spec = set_kv(spec, "llama.embedding_length", 128)
    assert [f.location for f in ql906(write(tmp_path, "swa-embd.gguf", spec))] == ["token_embd.weight"]


def test_split_set_is_judged_as_a_whole(tmp_path):
    arch = Arch("llama", n_layer=4, n_embd=64, n_ff=128, n_head=2, n_head_kv=1, n_vocab=300)
    paths = write_gguf_split(tmp_path / "ok", "Model-Q8_0", model_spec("Q8_0", arch), 3)
    assert ql906(paths[0]) == []  # blocks spread over three shards: none is missing
    bad = write_gguf_split(tmp_path / "bad", "Model-Q8_0", set_kv(model_spec("Q8_0", arch), "llama.block_count", 6), 3)
    [f] = ql906(bad[1])  # whichever shard is named, the set is judged once
    assert f.data["missing_blocks"] == [4, 5]


def test_a_renamed_first_shard_alone_is_not_missing_blocks(tmp_path):
    arch = Arch("llama", n_layer=4, n_embd=64, n_ff=128, n_head=2, n_head_kv=1, n_vocab=300)
    [first, *_] = write_gguf_split(tmp_path / "set", "Model-Q8_0", model_spec("Q8_0", arch), 3)
    alone = tmp_path / "first-shard.gguf"
    first.rename(alone)
    model, _ = lint_model_path(alone)
    assert len(model.tensors) < 39 and ql906(alone) == []


def test_incomplete_split_set_is_left_to_ql904(tmp_path):
    arch = Arch("llama", n_layer=4, n_embd=64, n_ff=128, n_head=2, n_head_kv=1, n_vocab=300)
    paths = write_gguf_split(tmp_path, "Model-Q8_0", model_spec("Q8_0", arch), 3, skip=(2,))
    _, found = lint_model_path(paths[0])
    assert "QL904" in [f.code for f in found] and "QL906" not in [f.code for f in found]


# -- what must stay clean: every recipe, real conventions, real files -----------------------------
RECIPES = {
    "llama": Arch(), "llama-tied": Arch(tied_embeddings=True), "llama-mha": Arch(n_head_kv=4),
    "llama-8b-shape": Arch("llama", 2, 4096, 14336, 32, 8, None, 512, 8192),
    "mixtral-fused": Arch("llama", n_expert=8, n_expert_used=2, n_ff_expert=256),
    "mixtral-per-expert": Arch("llama", n_expert=8, n_expert_used=2, expert_layout="per-expert"),
    "mistral3": Arch("mistral3"), "qwen2": Arch("qwen2"), "qwen3": Arch("qwen3", head_dim=128),
    "qwen3moe": Arch("qwen3moe", n_expert=128, n_expert_used=8, n_ff_expert=256),
    "qwen2moe-shared": Arch("qwen2moe", n_expert=60, n_expert_used=4, n_ff_expert=256, n_shared_expert=1),
    "gemma2": Arch("gemma2", n_head=8, n_head_kv=4, head_dim=256, tied_embeddings=True),
    "gemma3": Arch("gemma3", n_layer=6, n_embd=640, n_ff=2048, n_head=4, n_head_kv=1, head_dim=256, tied_embeddings=True),
}  # phi3 is not a ggufgen recipe (its FFN is a fused ffn_up {n_embd, 2*n_ff}): see _phi3 below


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_every_recipe_and_file_type_is_clean(tmp_path, recipe):
    for ftype in FILE_TYPES:
        path = write(tmp_path, f"{recipe}-{ftype}.gguf", model_spec(ftype, RECIPES[recipe]))
        assert ql906(path) == [], (recipe, ftype)


def test_committed_examples_are_clean():
    examples = sorted(Path(__file__).resolve().parent.parent.joinpath("fixtures", "examples").glob("*.gguf"))
    for path in examples:
        assert ql906(path) == [], path.name


def _with(spec: GGUFSpec, *tensors: tuple[str, tuple[int, ...], str]) -> GGUFSpec:
    spec.tensors.extend(Tensor(name, shape, type_name) for name, shape, type_name in tensors)
    return spec


def test_qwen3_q_norm_k_norm_and_wider_heads(tmp_path):
    # Qwen3-0.6B: 16 heads x 128 = 2048 query rows for a 1024 embedding, q/k norms of 128
    arch = Arch("qwen3", n_layer=2, n_embd=64, n_ff=128, n_head=4, n_head_kv=2, head_dim=32, n_vocab=300)
    norms = [(f"blk.{i}.attn_{x}_norm.weight", (32,), "F32") for i in range(2) for x in "qk"]
    assert ql906(write(tmp_path, "qwen3.gguf", _with(model_spec("Q8_0", arch), *norms))) == []
    wrong = [(f"blk.{i}.attn_{x}_norm.weight", (16,), "F32") for i in range(2) for x in "qk"]
    [f] = ql906(write(tmp_path, "qwen3-bad.gguf", _with(model_spec("Q8_0", arch), *wrong)))
    assert f.location == "blk.0.attn_q_norm.weight" and f.data["keys"] == ["qwen3.attention.key_length"]


def test_gemma2_post_norms_and_llama3_rope_freqs(tmp_path):
    arch = Arch("gemma2", n_layer=2, n_embd=64, n_ff=128, n_head=2, n_head_kv=1, head_dim=256, n_vocab=300, tied_embeddings=True)
    post = [(f"blk.{i}.{n}.weight", (64,), "F32") for i in range(2) for n in ("post_attention_norm", "post_ffw_norm")]
    assert ql906(write(tmp_path, "gemma2.gguf", _with(model_spec("Q8_0", arch), *post))) == []
    llama3 = _with(model_spec("Q8_0", Arch(n_embd=256, n_head=4)), ("rope_freqs.weight", (32,), "F32"))
    assert ql906(write(tmp_path, "llama3.gguf", llama3)) == []


def _phi3(fused: bool) -> GGUFSpec:
    """Phi-3-mini (fused attn_qkv, MHA) or Phi-4-mini style (separate q/k/v, GQA, tied)."""
    n_embd, n_head, n_kv, n_ff = 64, 4, (4 if fused else 2), 128
    head = n_embd // n_head
    spec = model_spec("Q8_0", Arch("phi3", n_layer=2, n_embd=n_embd, n_ff=n_ff, n_head=n_head, n_head_kv=n_kv,
                                   n_vocab=300, tied_embeddings=not fused))
    spec.tensors = [t for t in spec.tensors if not t.name.startswith("blk.")]
    for i in range(2):
        attn = ([("attn_qkv", (n_embd, n_embd + 2 * n_kv * head))] if fused else
                [("attn_q", (n_embd, n_embd)), ("attn_k", (n_embd, n_kv * head)), ("attn_v", (n_embd, n_kv * head))])
        for role, shape in [("attn_norm", (n_embd,)), *attn, ("attn_output", (n_embd, n_embd)), ("ffn_norm", (n_embd,)),
                            ("ffn_up", (n_embd, 2 * n_ff)), ("ffn_down", (n_ff, n_embd))]:
            spec.tensors.append(Tensor(f"blk.{i}.{role}.weight", shape, "F32" if len(shape) == 1 else "Q8_0"))
    spec.tensors += [Tensor("rope_factors_long.weight", (head // 2,), "F32"),
                     Tensor("rope_factors_short.weight", (head // 2,), "F32")]
    return spec


@pytest.mark.parametrize("fused", [True, False])
def test_phi3_fused_or_separate_qkv(tmp_path, fused):
    assert ql906(write(tmp_path, "phi3.gguf", _phi3(fused))) == []
    bad = set_kv(_phi3(fused), "phi3.attention.head_count_kv", 1)
    [f] = ql906(write(tmp_path, "phi3-bad.gguf", bad))
    assert f.location == ("blk.0.attn_qkv.weight" if fused else "blk.0.attn_k.weight")


def _gpt_oss(with_output: bool = True) -> GGUFSpec:
    """gpt-oss-20b's layout scaled down: heads x key_length (8 x 16) != embedding (96), sinks,
    router and expert biases, MXFP4 experts."""
    n_embd, n_head, n_kv, head, n_ff, n_exp, vocab = 96, 8, 2, 16, 96, 4, 300
    spec = model_spec("Q8_0", Arch("gpt-oss", n_layer=2, n_embd=n_embd, n_ff=n_ff, n_head=n_head, n_head_kv=n_kv,
                                   head_dim=head, n_vocab=vocab, n_expert=n_exp, n_expert_used=2, n_ff_expert=n_ff))
    spec.tensors = [Tensor("token_embd.weight", (n_embd, vocab), "Q8_0"), Tensor("output_norm.weight", (n_embd,), "F32")]
    if with_output:
        spec.tensors.append(Tensor("output.weight", (n_embd, vocab), "Q8_0"))
    q, kv = n_head * head, n_kv * head
    for i in range(2):
        for role, shape, type_name in [
                ("attn_norm.weight", (n_embd,), "F32"), ("post_attention_norm.weight", (n_embd,), "F32"),
                ("attn_q.weight", (n_embd, q), "Q8_0"), ("attn_k.weight", (n_embd, kv), "Q8_0"),
                ("attn_v.weight", (n_embd, kv), "Q8_0"), ("attn_q.bias", (q,), "F32"), ("attn_k.bias", (kv,), "F32"),
                ("attn_v.bias", (kv,), "F32"), ("attn_output.weight", (q, n_embd), "Q8_0"),
                ("attn_output.bias", (n_embd,), "F32"), ("attn_sinks.weight", (n_head,), "F32"),
                ("ffn_gate_inp.weight", (n_embd, n_exp), "F32"), ("ffn_gate_inp.bias", (n_exp,), "F32"),
                ("ffn_gate_exps.weight", (n_embd, n_ff, n_exp), "MXFP4"), ("ffn_up_exps.weight", (n_embd, n_ff, n_exp), "MXFP4"),
                ("ffn_down_exps.weight", (n_ff, n_embd, n_exp), "MXFP4"), ("ffn_gate_exps.bias", (n_ff, n_exp), "F32"),
                ("ffn_up_exps.bias", (n_ff, n_exp), "F32"), ("ffn_down_exps.bias", (n_embd, n_exp), "F32")]:
            spec.tensors.append(Tensor(f"blk.{i}.{role}", shape, type_name))
    return spec


def test_gpt_oss_layout_is_clean_and_its_output_is_required(tmp_path):
    assert ql906(write(tmp_path, "gpt-oss.gguf", _gpt_oss())) == []
    [f] = ql906(write(tmp_path, "gpt-oss-tied.gguf", _gpt_oss(with_output=False)))
    assert f.data["loader_message"] == "check_tensor_dims: tensor 'output.weight' not found"
    found = ql906(write(tmp_path, "gpt-oss-heads.gguf", set_kv(_gpt_oss(), "gpt-oss.attention.head_count", 4)))
    # llama.cpp asks for attn_q first (4 heads x key_length 16 = 64 rows), then the sinks {4}
    assert found[0].location == "blk.0.attn_q.weight" and found[0].data["expected"] == [96, 64]
    sinks = next(f for f in found if f.location == "blk.0.attn_sinks.weight")
    assert sinks.data["keys"] == ["gpt-oss.attention.head_count"] and sinks.data["got"] == [8]


def _deepseek2(lite: bool, mla_split: bool) -> GGUFSpec:
    """DeepSeek-V2(-Lite) scaled down: MLA with kv_lora_rank 32, rope 8, nope 16, v 16; q_lora_rank 0
    in Lite (a plain attn_q); one dense lead block, then 4 experts + 2 shared. mla_split: the
    current converter's attn_k_b/attn_v_b with key_length_mla, else the older attn_kv_b."""
    n_embd, n_head, kv_lora, q_lora, rope, nope, v, n_ff, n_ff_exp, n_exp, vocab = 64, 4, 32, 32, 8, 16, 16, 128, 32, 4, 300
    spec = model_spec("Q8_0", Arch("deepseek2", n_layer=2, n_embd=n_embd, n_ff=n_ff, n_head=n_head, n_head_kv=n_head,
                                   n_vocab=vocab, n_expert=n_exp, n_expert_used=2, n_ff_expert=n_ff_exp, n_shared_expert=2))
    keys = {"attention.kv_lora_rank": kv_lora, "rope.dimension_count": rope, "leading_dense_block_count": 1}
    if not lite:
        keys["attention.q_lora_rank"] = q_lora
    if mla_split:
        keys |= {"attention.key_length": kv_lora + rope, "attention.value_length": kv_lora, "attention.head_count_kv": 1,
                 "attention.key_length_mla": nope + rope, "attention.value_length_mla": v}
    else:
        keys |= {"attention.key_length": nope + rope, "attention.value_length": v}
    for key, value in keys.items():
        set_kv(spec, f"deepseek2.{key}", value)
    spec.tensors = [t for t in spec.tensors if not t.name.startswith("blk.")]
    for i in range(2):
        rows: list[tuple[str, tuple[int, ...]]] = [("attn_norm.weight", (n_embd,)), ("attn_kv_a_norm.weight", (kv_lora,))]
        if lite:
            rows.append(("attn_q.weight", (n_embd, n_head * (nope + rope))))
        else:
            rows += [("attn_q_a_norm.weight", (q_lora,)), ("attn_q_a.weight", (n_embd, q_lora)),
                     ("attn_q_b.weight", (q_lora, n_head * (nope + rope)))]
        rows.append(("attn_kv_a_mqa.weight", (n_embd, kv_lora + rope)))
        if mla_split:
            rows += [("attn_k_b.weight", (nope, kv_lora, n_head)), ("attn_v_b.weight", (kv_lora, v, n_head))]
        else:
            rows.append(("attn_kv_b.weight", (kv_lora, n_head * (nope + v))))
        rows += [("attn_output.weight", (n_head * v, n_embd)), ("ffn_norm.weight", (n_embd,))]
        if i == 0:
            rows += [("ffn_gate.weight", (n_embd, n_ff)), ("ffn_up.weight", (n_embd, n_ff)), ("ffn_down.weight", (n_ff, n_embd))]
        else:
            rows += [("ffn_gate_inp.weight", (n_embd, n_exp)), ("exp_probs_b.bias", (n_exp,)),
                     ("ffn_gate_exps.weight", (n_embd, n_ff_exp, n_exp)), ("ffn_up_exps.weight", (n_embd, n_ff_exp, n_exp)),
                     ("ffn_down_exps.weight", (n_ff_exp, n_embd, n_exp)), ("ffn_gate_shexp.weight", (n_embd, 2 * n_ff_exp)),
                     ("ffn_up_shexp.weight", (n_embd, 2 * n_ff_exp)), ("ffn_down_shexp.weight", (2 * n_ff_exp, n_embd))]
        for role, shape in rows:  # F16: attn_k_b's 16-wide rows fit no 32-block type
            spec.tensors.append(Tensor(f"blk.{i}.{role}", shape, "F32" if len(shape) == 1 else "F16"))
    return spec


@pytest.mark.parametrize("lite", [True, False])
@pytest.mark.parametrize("mla_split", [True, False])
def test_deepseek2_mla_layouts(tmp_path, lite, mla_split):
    assert ql906(write(tmp_path, "ds2.gguf", _deepseek2(lite, mla_split))) == []
    bad = set_kv(_deepseek2(lite, mla_split), "deepseek2.attention.kv_lora_rank", 16)
    found = ql906(write(tmp_path, "ds2-bad.gguf", bad))
    assert found and found[0].location == "blk.0.attn_kv_a_norm.weight"
    assert found[0].data["keys"] == ["deepseek2.attention.kv_lora_rank"]


@pytest.mark.real
def test_real_gemma_is_clean(gemma):
    model, found = lint_model_path(gemma)
    assert len(model.tensors) == 236 and [f for f in found if f.code == "QL906"] == []


@pytest.mark.parametrize("name", sorted(VOCAB_FILES))
def test_vocab_only_files_get_nothing(vocab_dir, name):  # noqa: F811
    model, found = lint_model_path(vocab_dir / f"ggml-vocab-{name}.gguf")
    assert model.tensors == [] and [f for f in found if f.code == "QL906"] == []
