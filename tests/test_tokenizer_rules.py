"""QL501-QL503 on generated GGUFs: the pre-tokenizer, the vocab against the embedding, special ids."""

from __future__ import annotations

import pytest

from fixtures.ggufgen import Arch, model_spec, write_gguf
from quantlint.facts.pretokenizers import KNOWN_PRE_TOKENIZERS
from quantlint.vocab import VocabIndex, encode_token_types, encode_tokens, vocab_index
from tests.conftest import lint_model_path

SMALL = Arch("llama", n_layer=1, n_embd=64, n_ff=128, n_head=2, n_head_kv=1, n_vocab=400)


def _set(spec, key: str, value) -> None:
    """Replace one KV's value in place (model_spec writes the tokenizer keys itself)."""
    for kv in spec.kvs:
        if kv.key == key:
            kv.value = value
            return
    spec.add(key, value)


def _lint(tmp_path, spec, name="model.gguf"):
    return lint_model_path(write_gguf(tmp_path / name, spec))


def _codes(findings) -> list[str]:
    return [f.code for f in findings]


def _only(findings, code):
    return [f for f in findings if f.code == code]


# -- QL501 ---------------------------------------------------------------------------------------
def test_bpe_without_pre_tokenizer_is_ql501(tmp_path):
    _, findings = _lint(tmp_path, model_spec("Q4_K_M", SMALL, tokenizer_model="gpt2", tokenizer_pre=None))
    (f,) = _only(findings, "QL501")
    assert f.severity == "warning"
    assert "GENERATION QUALITY WILL BE DEGRADED" in f.message


def test_bpe_with_default_pre_tokenizer_is_ql501(tmp_path):
    _, findings = _lint(tmp_path, model_spec("Q4_K_M", SMALL, tokenizer_pre="default"))
    (f,) = _only(findings, "QL501")
    assert "'default'" in f.message and f.location == "tokenizer.ggml.pre"


def test_unknown_pre_tokenizer_is_a_load_error(tmp_path):
    _, findings = _lint(tmp_path, model_spec("Q4_K_M", SMALL, tokenizer_pre="llama-bpe-typo"))
    (f,) = _only(findings, "QL501")
    assert f.severity == "error"
    assert "unknown pre-tokenizer type" in f.message and "0c1e57098" in f.message


@pytest.mark.parametrize("pre", ["llama-bpe", "qwen2", "deepseek-v3", "tekken", "gpt-4o", "smaug-bpe"])
def test_known_pre_tokenizers_are_quiet(tmp_path, pre):
    _, findings = _lint(tmp_path, model_spec("Q4_K_M", SMALL, tokenizer_pre=pre))
    assert "QL501" not in _codes(findings)


@pytest.mark.parametrize("tokenizer_model", ["llama", "t5", "bert", "gemma4"])
def test_non_bpe_tokenizers_need_no_pre(tmp_path, tokenizer_model):
    # llama.cpp reads tokenizer.ggml.pre only for BPE vocabularies (gemma4 sets its own).
    _, findings = _lint(tmp_path, model_spec("Q4_K_M", SMALL, tokenizer_model=tokenizer_model, tokenizer_pre=None))
    assert "QL501" not in _codes(findings)


def test_known_pre_table_matches_the_llama_cpp_source_count():
    # 92 `tokenizer_pre == "..."` comparisons in llama-vocab.cpp @0c1e57098, "kimi-k2" twice.
    assert len(KNOWN_PRE_TOKENIZERS) == 91
    assert {"default", "llama-bpe", "qwen2", "gemma4", "mellum2"} <= KNOWN_PRE_TOKENIZERS


# -- QL502 ---------------------------------------------------------------------------------------
def test_more_tokens_than_embedding_rows_is_ql502(tmp_path):
    tokens = [f"t{i}" for i in range(512)]
    _, findings = _lint(tmp_path, model_spec("Q4_K_M", SMALL, tokens=tokens, embedding_rows=400))
    found = _only(findings, "QL502")
    assert {f.location for f in found} == {"token_embd.weight", "output.weight"}
    assert all(f.severity == "error" for f in found)
    assert "512 tokens" in found[0].message and "400 rows" in found[0].message
    assert found[0].data["rows"] == 400 and found[0].data["tokens"] == 512


def test_fewer_tokens_than_rows_is_padding_for_ql502_but_a_gguf_llama_cpp_refuses(tmp_path):
    tokens = [f"t{i}" for i in range(400)]
    _, findings = _lint(tmp_path, model_spec("Q4_K_M", SMALL, tokens=tokens, embedding_rows=512))
    assert "QL502" not in _codes(findings)
    # llama.cpp creates token_embd as {n_embd, n_tokens} and checks the shape exactly.
    found = _only(findings, "QL504")
    assert {f.location for f in found} == {"token_embd.weight", "output.weight"}
    assert "512 rows" in found[0].message and "400 tokens" in found[0].message


def test_matching_rows_and_tokens_give_neither(tmp_path):
    tokens = [f"t{i}" for i in range(400)]
    _, findings = _lint(tmp_path, model_spec("Q4_K_M", SMALL, tokens=tokens, embedding_rows=400))
    assert not {"QL502", "QL504"} & set(_codes(findings))


def test_tied_embedding_is_checked_too(tmp_path):
    arch = Arch("llama", n_layer=1, n_embd=64, n_ff=128, n_head=2, n_head_kv=1, tied_embeddings=True)
    tokens = [f"t{i}" for i in range(300)]
    _, findings = _lint(tmp_path, model_spec("Q4_K_M", arch, tokens=tokens, embedding_rows=256))
    assert [f.location for f in _only(findings, "QL502")] == ["token_embd.weight"]


# -- QL503 ---------------------------------------------------------------------------------------
def test_eos_outside_the_vocabulary_is_ql503(tmp_path):
    spec = model_spec("Q4_K_M", SMALL)
    _set(spec, "tokenizer.ggml.eos_token_id", 9999)
    _, findings = _lint(tmp_path, spec)
    (f,) = _only(findings, "QL503")
    assert f.severity == "error"
    assert f.location == "tokenizer.ggml.eos_token_id" and f.offset is not None
    assert "9,999" in f.message and "400-token" in f.message
    assert f.data == {"token": "eos", "id": 9999, "vocab_size": 400}


@pytest.mark.parametrize("key,name", [("tokenizer.ggml.padding_token_id", "pad"), ("tokenizer.ggml.unknown_token_id", "unk"),
                                      ("tokenizer.ggml.seperator_token_id", "sep"), ("tokenizer.ggml.eot_token_id", "eot"),
                                      ("tokenizer.ggml.eom_token_id", "eom"), ("tokenizer.ggml.bos_token_id", "bos")])
def test_every_special_id_is_range_checked(tmp_path, key, name):
    spec = model_spec("Q4_K_M", SMALL)
    _set(spec, key, 400)  # the first id past the end
    _, findings = _lint(tmp_path, spec)
    assert [f.data["token"] for f in _only(findings, "QL503")] == [name]


def test_last_valid_id_is_fine(tmp_path):
    spec = model_spec("Q4_K_M", SMALL)
    _set(spec, "tokenizer.ggml.eos_token_id", 399)
    _, findings = _lint(tmp_path, spec)
    assert "QL503" not in _codes(findings)


def test_short_scores_array_is_ql503(tmp_path):
    spec = model_spec("Q4_K_M", SMALL, tokenizer_model="llama", tokenizer_pre=None)
    _set(spec, "tokenizer.ggml.scores", [0.0] * 390)
    _, findings = _lint(tmp_path, spec)
    (f,) = _only(findings, "QL503")
    assert f.location == "tokenizer.ggml.scores" and f.severity == "error"
    assert "390 entries for 400 tokens" in f.message and "refuses" in f.message


def test_long_token_type_array_is_a_warning(tmp_path):
    spec = model_spec("Q4_K_M", SMALL)
    _set(spec, "tokenizer.ggml.token_type", [1] * 410)
    _, findings = _lint(tmp_path, spec)
    (f,) = _only(findings, "QL503")
    assert f.location == "tokenizer.ggml.token_type" and f.severity == "warning"


def test_clean_generated_model_has_no_tokenizer_findings(tmp_path):
    _, findings = _lint(tmp_path, model_spec("Q4_K_M", SMALL))
    assert not [c for c in _codes(findings) if c.startswith("QL5")]


# -- quantlint.vocab -----------------------------------------------------------------------------
def test_vocab_lookup_finds_ids_and_types():
    tokens = ["<unk>", "a", "ab", "<|im_start|>", "b<|im_start|>", "<|im_end|>", "x" * 300]
    v = VocabIndex(encode_tokens(tokens), encode_token_types([2, 1, 1, 3, 1, 4, 1]))
    assert v.find("<|im_start|>").index == 3 and v.find("<|im_start|>").type_name == "CONTROL"
    assert v.find("<|im_end|>").type_name == "USER_DEFINED" and v.find("<|im_end|>").matched_as_special
    assert v.find("a").index == 1 and v.find("a").matched_as_special is False
    assert v.find("x" * 300).index == 6
    assert v.find("im_start") is None and v.find("<|im_start") is None and v.find("") is None
    assert len(v) == 7 and v.text_at(4) == "b<|im_start|>"


def test_vocab_lookup_ignores_matches_inside_other_tokens():
    # The length-prefixed encoding of "ab" (02 00.. 'a' 'b') appears inside the third token's bytes.
    inner = encode_tokens(["ab"]).decode("latin-1")
    tokens = ["zz", "q" + inner, "ab"]
    v = VocabIndex(encode_tokens(tokens))
    assert v.find("ab").index == 2


def test_vocab_lookup_big_endian_and_untyped():
    v = vocab_index(encode_tokens(["<s>", "</s>"], ">"), None, ">")
    hit = v.find("</s>")
    assert hit.index == 1 and hit.type_id is None and hit.matched_as_special is None
    assert vocab_index(None) is None and vocab_index(b"") is None


def test_vocab_lookup_survives_a_truncated_blob():
    blob = encode_tokens(["a", "bb", "ccc"])[:-2]
    v = VocabIndex(blob)
    assert v.find("bb").index == 1 and v.find("ccc") is None and len(v) == 2
