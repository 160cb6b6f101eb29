"""The 19 real llama.cpp vocab files: tokenizer facts, QL5xx/QL6xx behaviour, vocab lookups.

The files (0 tensors, full tokenizer metadata) ship inside the PyPI sdist of
llama-cpp-python 0.3.36 under vendor/llama.cpp/models/ (llama.cpp 0c1e57098). They are taken
from ~/.cache/quantlint/vocab (or QUANTLINT_VOCAB_DIR); when absent, tests/llama_sdist.py fetches
the sdist once with pip from PyPI (the package registry) and extracts only the ggml-vocab-*.gguf
members. Set QUANTLINT_NO_FETCH=1 to never fetch; the tests skip when the files cannot be had.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import lint_model_path
from tests.llama_sdist import VOCAB_NAMES, ensure_vocab

# gguf-facts.md §8: model, pre, tokens, bos, eos, chat template.
EXPECTED: dict[str, tuple[str, str | None, int, int | None, int | None, bool]] = {
    "aquila": ("gpt2", None, 100008, 0, 0, False),
    "baichuan": ("llama", None, 64000, 1, 2, False),
    "bert-bge": ("bert", "bert-bge", 30522, None, None, False),
    "command-r": ("gpt2", "command-r", 256000, 5, 255001, True),
    "deepseek-coder": ("gpt2", "deepseek-coder", 32256, 32013, 32014, False),
    "deepseek-llm": ("gpt2", "deepseek-llm", 102400, 100000, 100001, False),
    "falcon": ("gpt2", "falcon", 65024, 11, 11, False),
    "gemma-4": ("gemma4", None, 262144, 2, 1, True),
    "gpt-2": ("gpt2", "gpt-2", 50257, 50256, 50256, False),
    "gpt-neox": ("gpt2", None, 50432, 0, 0, False),
    "llama-bpe": ("gpt2", "llama-bpe", 128256, 128000, 128001, False),
    "llama-spm": ("llama", "default", 32000, 1, 2, False),
    "mpt": ("gpt2", "mpt", 50432, 0, 0, False),
    "nomic-bert-moe": ("t5", "default", 250048, 0, 2, False),
    "phi-3": ("llama", "default", 32064, 1, 32000, True),
    "qwen2": ("gpt2", "qwen2", 151936, 151643, 151643, True),
    "qwen35": ("gpt2", "qwen35", 151936, 151643, 151643, True),
    "refact": ("gpt2", "refact", 49216, 0, 0, False),
    "starcoder": ("gpt2", "starcoder", 49152, 0, 0, False),
}
# BPE without tokenizer.ggml.pre: llama.cpp itself warns for exactly these two.
EXPECT_QL501 = {"aquila", "gpt-neox"}


@pytest.fixture(scope="module")
def vocab_dir() -> Path:
    assert set(EXPECTED) == set(VOCAB_NAMES)
    return ensure_vocab()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_vocab_file_facts_and_rules(vocab_dir, name):
    model, findings = lint_model_path(vocab_dir / f"ggml-vocab-{name}.gguf")
    tok = model.tokenizer
    tok_model, pre, n_tokens, bos, eos, template = EXPECTED[name]
    assert (tok.model, tok.pre, tok.vocab_size) == (tok_model, pre, n_tokens)
    assert (tok.special_ids.get("bos"), tok.special_ids.get("eos")) == (bos, eos)
    assert tok.has_chat_template is template
    codes = [f.code for f in findings]
    assert ("QL501" in codes) is (name in EXPECT_QL501)
    # llama.cpp's own files: no other tokenizer or template finding (their templates included).
    assert [c for c in codes if c.startswith(("QL5", "QL6")) and c != "QL501"] == []


def test_command_r_named_templates_are_all_analysed(vocab_dir):
    from quantlint.templates import template_sources
    from quantlint.templates.analysis import analyse_template

    model, _ = lint_model_path(vocab_dir / "ggml-vocab-command-r.gguf")
    sources = dict(template_sources(model))
    assert set(sources) == {"tokenizer.chat_template", "tokenizer.chat_template.tool_use", "tokenizer.chat_template.rag"}
    for text in sources.values():
        emitted = {e.text for e in analyse_template(text).emitted_tokens}
        assert {"<|START_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>"} <= emitted


@pytest.mark.parametrize("name,token,index,type_name", [
    ("qwen2", "<|im_start|>", 151644, "CONTROL"),
    ("llama-bpe", "<|eot_id|>", 128009, "CONTROL"),
    ("llama-bpe", "<|start_header_id|>", 128006, "CONTROL"),
    ("phi-3", "<|end|>", 32007, "CONTROL"),
    ("gemma-4", "<turn|>", 106, "CONTROL"),
    ("command-r", "<|START_OF_TURN_TOKEN|>", 255000, "USER_DEFINED"),
])
def test_vocab_lookup_on_real_files(vocab_dir, name, token, index, type_name):
    from quantlint.vocab import vocab_index

    model, _ = lint_model_path(vocab_dir / f"ggml-vocab-{name}.gguf")
    tok = model.tokenizer
    hit = vocab_index(tok.tokens_blob, tok.token_types_blob, tok.byte_order).find(token)
    assert (hit.index, hit.type_name) == (index, type_name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_special_token_text_round_trips(vocab_dir, name):
    """The token at the BOS/EOS id, looked up by its text, comes back at that id: the offsets walk
    and the byte search agree on every real vocabulary."""
    from quantlint.vocab import vocab_index

    model, _ = lint_model_path(vocab_dir / f"ggml-vocab-{name}.gguf")
    tok = model.tokenizer
    vocab = vocab_index(tok.tokens_blob, tok.token_types_blob, tok.byte_order)
    assert len(vocab) == tok.vocab_size
    for key in ("bos", "eos", "unk", "pad"):
        token_id = tok.special_ids.get(key)
        if token_id is None:
            continue
        text = vocab.text_at(token_id)
        hit = vocab.find(text)
        assert hit is not None and vocab.text_at(hit.index) == text and hit.index <= token_id
