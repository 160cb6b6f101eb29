"""Verdicts on today's release styles (issue 17): no false alarm on official files, no missed relabel."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_provenance import LLAMA_BASE, LLAMA_INSTRUCT, TEMPLATE, lint

VOCAB_DIR = Path.home() / ".cache" / "quantlint" / "vocab"
CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
CHATML_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [f"tok{i}" for i in range(509)]
# An official instruct release converted from a checkpoint whose _name_or_path was a training run:
# convert_hf_to_gguf put the run's name in general.finetune.
TRAINING_RUN = dict(name="Falcon3 7B 8k Lc100k Mix1 Ep2", basename="Falcon3", finetune="8k-lc100k-mix1-ep2", size_label="7B")


# -- QL401 weighs evidence ------------------------------------------------------------------------
def test_official_instruct_with_training_run_finetune_and_chatml_is_not_ql401(make_gguf):
    path = make_gguf("Falcon3-7B-Instruct-Q4_K_M.gguf", chat_template=CHATML, tokens=CHATML_TOKENS, **TRAINING_RUN)
    model, found = lint(path)
    assert "QL401" not in found
    kinds = {e["kind"] for e in model.provenance["not_base_evidence"]}
    assert {"finetune", "chat-template"} <= kinds


def test_training_run_finetune_without_template_is_at_most_a_warning(make_gguf):
    """Not the base (it names a fine-tune), but nothing shows it is the instruct one either."""
    path = make_gguf("Falcon3-7B-Instruct-Q4_K_M.gguf", **TRAINING_RUN)
    f = lint(path)[1]["QL401"]
    assert f.severity == "warning" and "8k-lc100k-mix1-ep2" in f.message


def test_base_sold_under_an_instruct_name_stays_an_error(make_gguf):
    path = make_gguf("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", **LLAMA_BASE)
    f = lint(path)[1]["QL401"]
    assert f.severity == "error"
    assert f.data["base_evidence"] and not f.data["not_base_evidence"]


def test_general_finetune_base_is_positive_evidence(make_gguf):
    path = make_gguf("Llama-3.1-8B-Instruct-Q4_K_M.gguf", name="Llama 3.1 8B Base", basename="Llama-3.1",
                     finetune="Base", size_label="8B")
    assert lint(path)[1]["QL401"].severity == "error"


def test_instruction_tags_soften_a_name_only_promise(make_gguf):
    path = make_gguf("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", extra={"general.tags": ["instruct", "text-generation"]},
                     **LLAMA_BASE)
    f = lint(path)[1]["QL401"]
    assert f.severity == "warning" and "general.tags 'instruct'" in f.message


@pytest.mark.parametrize("suffix", [".header.gguf", "-00001-of-00003.gguf", ".gguf.part1of2", ".part1.gguf"])
def test_packaging_suffixes_promise_nothing(make_gguf, suffix):
    clean = make_gguf(f"Meta-Llama-3.1-8B-Instruct-Q4_K_M{suffix}", chat_template=TEMPLATE, **LLAMA_INSTRUCT)
    assert "QL401" not in lint(clean)[1]


@pytest.mark.parametrize("suffix", [".header.gguf", "-00001-of-00003.gguf", ".gguf.part1of2"])
def test_packaging_suffixes_do_not_hide_a_real_base(tmp_path, suffix):
    from fixtures.ggufgen import model_spec, write_gguf

    path = write_gguf(tmp_path / f"Meta-Llama-3.1-8B-Instruct-Q4_K_M{suffix}", model_spec("Q4_K_M", **LLAMA_BASE))
    f = lint(path)[1]["QL401"]
    assert f.severity == "error"
    assert f.data["promise"]["missing_markers"] == ["instruct"]  # not "header", "part1of2", "of"


def test_llama_cpp_vocab_files_get_no_ql401():
    files = sorted(VOCAB_DIR.glob("ggml-vocab-*.gguf"))
    if not files:
        pytest.skip("llama.cpp's vocab GGUFs are not in ~/.cache/quantlint/vocab")
    fired = [p.name for p in files if "QL401" in lint(p)[1]]
    assert fired == []
