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


SMOLLM2 = Path.home() / ".cache" / "quantlint" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_real_smollm2_instruct_with_its_training_run_finetune_is_not_ql401():
    """HuggingFaceTB's own SmolLM2-135M-Instruct GGUF: general.finetune '8k-lc100k-mix1-ep2', ChatML template."""
    if not SMOLLM2.is_file():
        pytest.skip("the real SmolLM2-135M-Instruct GGUF is not in ~/.cache/quantlint/smollm2")
    model, found = lint(SMOLLM2)
    assert model.identity.finetune == "8k-lc100k-mix1-ep2" and model.tokenizer.has_chat_template
    assert "QL401" not in found


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


def test_a_card_naming_the_chat_model_softens_a_name_only_promise(make_gguf, tmp_path):
    path = make_gguf("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", **LLAMA_BASE)
    (tmp_path / "README.md").write_text("---\nmodel_name: Meta-Llama-3.1-8B-Instruct\n---\n")
    f = lint(path)[1]["QL401"]
    assert f.severity == "warning" and "model_name" in f.message


def test_another_named_finetune_is_a_warning_saying_so(make_gguf):
    path = make_gguf("Hermes-3-Llama-3.1-8B-Q4_K_M.gguf", chat_template=TEMPLATE, name="Llama 3.1 8B Instruct",
                     basename="Llama-3.1", finetune="Instruct", size_label="8B")
    f = lint(path)[1]["QL401"]
    assert f.severity == "warning" and "another one than promised" in f.message


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


# -- native and QAT precision: at most info from QL101/QL102 ---------------------------------------
def _rules(path: Path, codes: tuple[str, ...], **settings):
    from tests.conftest import lint_model_path

    return [f for f in lint_model_path(path, **settings)[1] if f.code in codes]


@pytest.mark.parametrize("ftype", ["TQ1_0", "TQ2_0"])
@pytest.mark.parametrize("floor", ["Q4_K_M", "Q5_K_M"])
def test_bitnet_in_ternary_types_gets_an_info_note(tmp_path, ftype, floor):
    from fixtures.ggufgen import write_gguf
    from fixtures.releases import bitnet

    path = write_gguf(tmp_path / f"bitnet_b1_58-large-{ftype}.gguf", bitnet(ftype))
    found = _rules(path, ("QL101", "QL102"), floor=floor)
    assert [f.severity for f in found] == ["info"]
    assert "BitNet" in found[0].message and "general.architecture 'bitnet'" in found[0].message


def test_a_llama_squeezed_to_tq2_0_is_still_an_error(tmp_path):
    from fixtures.ggufgen import model_spec, write_gguf
    from fixtures.releases import LLAMA

    path = write_gguf(tmp_path / "Llama-TQ2_0.gguf", model_spec("TQ2_0", LLAMA, name="Llama 3.1 8B"))
    [f] = _rules(path, ("QL101",))
    assert f.severity == "error"


def test_gpt_oss_mxfp4_gets_an_info_note(tmp_path):
    from fixtures.ggufgen import write_gguf
    from fixtures.releases import gpt_oss

    path = write_gguf(tmp_path / "gpt-oss-20b-MXFP4.gguf", gpt_oss())
    for floor in ("Q4_K_M", "Q5_K_M"):
        found = _rules(path, ("QL101", "QL102"), floor=floor)
        assert found and {f.severity for f in found} == {"info"}
        assert any("gpt-oss" in f.message and "MXFP4" in f.message for f in found)


@pytest.mark.parametrize("floor", ["Q4_K_M", "Q5_K_M"])
def test_gemma_qat_q4_0_gets_an_info_note_naming_qat(tmp_path, floor):
    from fixtures.ggufgen import write_gguf
    from fixtures.releases import gemma_qat_q4_0

    path = write_gguf(tmp_path / "gemma-3-4b-it-qat-q4_0.gguf", gemma_qat_q4_0())
    [f] = _rules(path, ("QL101", "QL102"), floor=floor)
    assert f.severity == "info" and "QAT" in f.message


def test_qat_weights_squeezed_below_their_training_precision_are_judged(tmp_path):
    from fixtures.ggufgen import model_spec, write_gguf
    from fixtures.releases import GEMMA3

    path = write_gguf(tmp_path / "gemma-3-4b-it-qat-Q2_K.gguf", model_spec("Q2_K", GEMMA3, name="Gemma 3 4b It Qat"))
    [f] = _rules(path, ("QL101",))
    assert f.severity == "error"


def test_explain_ql101_says_how_the_exemption_is_decided():
    from tests.conftest import run_cli

    out = " ".join(run_cli("explain", "QL101").stdout.split())
    assert "the precision its model was released in" in out and "native_precision.py" in out
    assert "`bitnet`" in out and "`gpt-oss`" in out and '"qat"' in out


# -- QL104: name, file_type and mix, pairwise --------------------------------------------------------
def test_q4_k_m_name_over_a_q4_k_s_file_is_ql104(tmp_path):
    from fixtures.ggufgen import write_gguf
    from fixtures.releases import relabelled_q4_k_s

    path = write_gguf(tmp_path / "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", relabelled_q4_k_s())
    [f] = _rules(path, ("QL104",))
    assert f.severity == "warning"
    assert "says Q4_K_M" in f.message and "says Q4_K_S" in f.message
    assert f.data["pair"] == ["the file name", "general.file_type"]


@pytest.mark.parametrize("name,recipe", [("Meta-Llama-3.1-8B-Instruct-Q4_K_L.gguf", "bartowski_q4_k_l"),
                                         ("Meta-Llama-3.1-8B-Instruct-UD-Q4_K_XL.gguf", "unsloth_ud_q4_k_xl")])
def test_publisher_conventions_are_no_mismatch(tmp_path, name, recipe):
    from fixtures import releases
    from fixtures.ggufgen import write_gguf

    path = write_gguf(tmp_path / name, getattr(releases, recipe)())
    assert _rules(path, ("QL104",)) == []


@pytest.mark.parametrize("name,ftype", [("Llama-3.1-8B-Instruct.i1-Q4_K_M.gguf", "Q4_K_M"),
                                        ("Llama-3.2-1B-Instruct-IQ4_NL.gguf", "IQ4_NL"),
                                        ("Llama-3.2-1B-Instruct-Q4_0_4_4.gguf", "Q4_0"),
                                        ("gpt-oss-20b-MXFP4.gguf", "MXFP4_MOE")])
def test_known_tags_matching_their_file_type_are_silent(tmp_path, name, ftype):
    from fixtures.ggufgen import model_spec, write_gguf
    from fixtures.releases import GPT_OSS, LLAMA

    path = write_gguf(tmp_path / name, model_spec(ftype, GPT_OSS if ftype == "MXFP4_MOE" else LLAMA))
    assert _rules(path, ("QL104",)) == []


def test_an_unknown_tag_is_info_not_a_mismatch(tmp_path):
    from fixtures.ggufgen import model_spec, write_gguf
    from fixtures.releases import LLAMA

    path = write_gguf(tmp_path / "Llama-3.1-8B-Instruct-IQ4_KS.gguf", model_spec("IQ4_XS", LLAMA))
    [f] = _rules(path, ("QL104",))
    assert f.severity == "info" and "IQ4_KS" in f.message and "not compared" in f.message


# -- QL603 says which feature breaks -----------------------------------------------------------------
DEEPSEEK_TURNS = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"]


def _ql603(tmp_path: Path, specials: list[str]):
    from fixtures import templates as T
    from fixtures.ggufgen import Arch, model_spec, write_gguf

    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *specials]
    tokens += [f"w{i}" for i in range(300 - len(tokens))]
    spec = model_spec("Q4_K_M", Arch(n_vocab=300), name="DeepSeek R1 Distill Qwen 7B", tokens=tokens,
                      chat_template=T.DEEPSEEK_R1)
    return [f for f in _rules(write_gguf(tmp_path / "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", spec), ("QL603",))]


def test_r1_distill_qwen_missing_tool_markers_says_tool_calling_breaks(tmp_path):
    [f] = _ql603(tmp_path, DEEPSEEK_TURNS)
    assert f.data["features"] == ["tool calling"]
    assert "<｜tool▁calls▁begin｜>" in f.data["missing"]
    assert "tool calling breaks" in f.message and "turn markers are present" in f.message
    assert "never sees its turn markers" not in f.message


def test_missing_turn_markers_still_say_the_conversation_breaks(tmp_path):
    [f] = _ql603(tmp_path, [])
    assert set(f.data["features"]) == {"turns", "tool calling"}
    assert "never sees its turn markers" in f.message and "tool calling breaks" in f.message
