"""Calibration data: what each quant was calibrated on (QL301) and whether it fits the model (QL302)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REALDATA, codes, lint_json, run_cli

CODER = dict(name="Qwen2.5 Coder 7B Instruct", basename="Qwen2.5-Coder", finetune="Instruct", size_label="7B")
CODER_FILE = "Qwen2.5-Coder-7B-Instruct-IQ3_XXS.gguf"


def lint(path: Path | str, **settings):
    """In-process: read, enrich (as the CLI does), check. Returns (model, findings)."""
    from quantlint.engine import Selection, load_registry
    from quantlint.enrich import enrich
    from quantlint.lint import lint_model, read_target
    from quantlint.settings import LintSettings
    from quantlint.targets import expand

    (target,) = expand([str(path)])
    s = LintSettings(**settings)
    model = enrich(read_target(target, s), s)
    return model, lint_model(model, load_registry(), Selection(), s)


def lint_built(model):
    from quantlint.engine import Selection, load_registry
    from quantlint.enrich import enrich
    from quantlint.lint import lint_model
    from quantlint.settings import LintSettings

    enrich(model, LintSettings())
    return lint_model(model, load_registry(), Selection(), LintSettings())


def by_code(findings, code):
    return [f for f in findings if f.code == code]


def hf_dir(tmp_path: Path, name: str, fmt: str, **kwargs) -> Path:
    hfgen = pytest.importorskip("fixtures.hfgen")
    pytest.importorskip("quantlint.readers.hf_dir")
    return hfgen.make_model_dir(tmp_path / name, fmt, **kwargs)


# -- the table of known sets ---------------------------------------------------------------------
@pytest.mark.parametrize("recorded, key", [
    ("wikitext-2-raw", "wikitext"), ("wikitext2", "wikitext"), ("wikitext-103-raw-v1-test.parquet", "wikitext"),
    ("[wikitext](https://huggingface.co/datasets/wikitext/viewer/wikitext-2-v1/test)", "wikitext"),
    ("c4", "c4"), ("c4-new", "c4"), ("allenai/c4", "c4"),
    ("pileval", "pileval"), ("mit-han-lab/pile-val-backup", "pileval"), ("NeelNanda/pile-10k", "pile-10k"),
    ("HuggingFaceH4/ultrachat_200k", "ultrachat"),
    ("(default)", "exllamav2-default"), ("(built-in)", "exllamav3-default"),
    ("/training_dir/calibration_datav3.txt", "calibration_datav3"),
    ("https://gist.github.com/bartowski1182/eb213dccb3571f863da82e99418f81e8", "calibration_datav3"),
    ("groups_merged.txt", "groups_merged"), ("calibration_data_v5_rc.txt", "calibration_data_v5"),
    ("unsloth_calibration_Qwen3-Coder-30B-A3B-Instruct.txt", "unsloth"),
    ("[Evol Instruct Code](https://huggingface.co/datasets/nickrosh/Evol-Instruct-Code-80k-v1)", "evol-instruct-code"),
    ("bigcode/the-stack-smol", "the-stack"), ("allenai/mc4", "mc4"), ("openai/gsm8k", "math"),
])
def test_known_sets_match_by_name_path_hub_id_and_url(recorded, key):
    from quantlint.facts.datasets import lookup

    entry = lookup(recorded)
    assert entry is not None and entry.key == key


@pytest.mark.parametrize("recorded", ["0000.parquet", "Qwen2.5-Coder-7B-Instruct.imatrix", "c4ai-command-r", "", "x" * 5000])
def test_unknown_values_match_no_set(recorded):
    from quantlint.facts.datasets import lookup

    assert lookup(recorded) is None


def test_every_set_names_its_source_and_a_known_domain():
    from quantlint.facts.datasets import CALIBRATION_SETS, DOMAIN_LABELS

    keys = [s.key for s in CALIBRATION_SETS]
    assert len(keys) == len(set(keys))
    for entry in CALIBRATION_SETS:
        assert entry.source, entry.key
        assert entry.domain in DOMAIN_LABELS, entry.key


def test_mixed_sets_are_not_general_english():
    from quantlint.facts.datasets import GENERAL_ENGLISH, lookup

    for mixed in ("(default)", "(built-in)", "calibration_datav3.txt", "groups_merged.txt", "imatrix_unsloth.gguf"):
        assert lookup(mixed).domain != GENERAL_ENGLISH, mixed
    for english in ("wikitext", "c4", "pileval", "NeelNanda/pile-10k"):
        assert lookup(english).domain == GENERAL_ENGLISH, english


# -- the model's domain ------------------------------------------------------------------------
def _model(**identity):
    from quantlint.model import Identity, Model

    return Model(format="gguf", target="x", identity=Identity(**identity))


@pytest.mark.parametrize("identity, domain, confidence", [
    (dict(name="Qwen2.5 Coder 7B Instruct"), "code", "high"),
    (dict(file_name="starcoder2-15b-Q4_K_M.gguf"), "code", "high"),
    (dict(file_name="deepseek-coder-6.7b-instruct.Q4_K_M.gguf"), "code", "high"),
    (dict(name="CodeLlama 13B"), "code", "high"),
    (dict(name="Codestral 22B v0.1"), "code", "high"),
    (dict(name="Qwen2.5 Math 7B"), "math", "high"),
    (dict(name="deepseek-math-7b-rl"), "math", "high"),
    (dict(name="Some Model", tags=["code"]), "code", "medium"),
    (dict(name="My Finetune", base_models=["Qwen/Qwen2.5-Coder-7B"]), "code", "medium"),
    (dict(name="Swallow 7B", languages=["ja"]), "multilingual", "high"),
    (dict(name="ELYZA chat", languages=["ja"]), "multilingual", "high"),
    (dict(name="Llama 3.1 8B Instruct", languages=["en", "de", "fr", "it", "pt", "hi", "es", "th"]), "multilingual", "medium"),
    (dict(name="T5 encoder-decoder"), "general", "low"),
    (dict(name="Llama 3.1 8B Instruct"), "general", "low"),
])
def test_domain_inferred_from_identity(identity, domain, confidence):
    from quantlint.domain import infer_domain

    result = infer_domain(_model(**identity))
    assert (result["domain"], result["confidence"]) == (domain, confidence), result
    assert result["evidence"]


def test_domain_evidence_stays_short_for_corrupt_megabyte_names():
    from quantlint.domain import infer_domain

    blob = "<unused0>\x0c\x00" * 300_000
    result = infer_domain(_model(name=blob, basename=blob, tags=[blob] * 1000, languages=[blob] * 1000))
    assert len(repr(result)) < 2000


def test_domain_reads_the_card_language_and_tags():
    from quantlint.domain import infer_domain
    from quantlint.model import CardFacts

    model = _model(name="Foo 7B")
    model.card = CardFacts(source="README.md", language=["zh"], tags=["text-generation"])
    assert infer_domain(model)["domain"] == "multilingual"
    model.card = CardFacts(source="README.md", language=["en"], tags=["code"])
    assert infer_domain(model)["domain"] == "code"


# -- GGUF imatrix ------------------------------------------------------------------------------
def test_coder_gguf_with_wikitext_imatrix_is_a_domain_mismatch(make_gguf):
    path = make_gguf(CODER_FILE, "IQ3_XXS", **CODER,
                     imatrix={"file": "/models/Qwen2.5-Coder-7B-Instruct.imatrix", "dataset": "wikitext-2-raw",
                              "entries_count": 196, "chunks_count": 125})
    model, findings = lint(path)
    (f,) = by_code(findings, "QL302")
    assert f.severity == "warning"  # IQ3_XXS: about 3 bpw, and a code name
    assert "wikitext-2-raw" in f.message and "code model" in f.message
    assert "Q4_K_M" in f.hint and "imatrix" in f.hint
    assert f.location == "quantize.imatrix.dataset"
    assert not by_code(findings, "QL301")
    assert model.domain["domain"] == "code"


@pytest.mark.parametrize("dataset", ["calibration_datav3.txt", "/training_dir/calibration_datav3.txt", "groups_merged.txt",
                                     "unsloth_calibration_Qwen2.5-Coder-7B-Instruct.txt"])
def test_coder_gguf_with_a_mixed_imatrix_passes(make_gguf, dataset):
    path = make_gguf(CODER_FILE, "IQ3_XXS", **CODER, imatrix={"file": "x.imatrix", "dataset": dataset, "entries_count": 196})
    model, findings = lint(path)
    assert not by_code(findings, "QL302") and not by_code(findings, "QL301")
    assert model.calibration.details["set_domain"] == "mixed"


def test_imatrix_paths_become_basenames_and_int32_counts_plain_ints(tmp_path):
    from fixtures.ggufgen import INT32, model_spec, write_gguf

    spec = model_spec("IQ4_XS", **CODER, imatrix={"file": "/home/q/work/Qwen2.5-Coder.imatrix",
                                                   "dataset": "/training_dir/calibration_datav3.txt"})
    spec.add("quantize.imatrix.entries_count", 196, INT32)  # llama.cpp before PR 14182 wrote INT32
    spec.add("quantize.imatrix.chunks_count", 125, INT32)
    path = write_gguf(tmp_path / "m.gguf", spec)
    model, _ = lint(path)
    cal = model.calibration
    assert cal.dataset == "calibration_datav3.txt"
    assert cal.details["dataset_path"] == "/training_dir/calibration_datav3.txt"
    assert cal.details["file"] == "Qwen2.5-Coder.imatrix"
    assert cal.details["entries_count"] == 196 and cal.details["chunks_count"] == 125


def test_plain_k_quant_without_imatrix_is_calibration_free(make_gguf):
    path = make_gguf("Qwen2.5-Coder-7B-Instruct-Q4_K_M.gguf", "Q4_K_M", **CODER)
    model, findings = lint(path)
    assert not by_code(findings, "QL301") and not by_code(findings, "QL302")
    assert model.calibration is None
    assert "calibration-free (no importance matrix)" in model.notes
    proc = run_cli("inspect", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "calibration-free (no importance matrix)" in proc.stdout
    assert "code (high confidence" in " ".join(proc.stdout.split())


def test_imatrix_without_a_dataset_is_unrecorded(make_gguf):
    path = make_gguf(CODER_FILE, "IQ3_XXS", **CODER, imatrix={"file": "/w/Qwen2.5-Coder.imatrix", "entries_count": 196})
    _, findings = lint(path)
    (f,) = by_code(findings, "QL301")
    assert f.severity == "info"
    assert "Qwen2.5-Coder.imatrix" in f.message and "/w/" not in f.message
    assert not by_code(findings, "QL302")


def test_imatrix_file_named_after_a_known_set_names_the_data(make_gguf):
    path = make_gguf(CODER_FILE, "IQ3_XXS", **CODER, imatrix={"file": "imatrix_unsloth.gguf", "entries_count": 196})
    model, findings = lint(path)
    assert model.calibration.details["known_set"] == "unsloth"
    assert not by_code(findings, "QL301") and not by_code(findings, "QL302")


def test_gguf_json_output_carries_calibration_and_domain(make_gguf):
    path = make_gguf(CODER_FILE, "IQ3_XXS", **CODER, imatrix={"file": "x.imatrix", "dataset": "wikitext-2-raw", "chunks_count": 125})
    _, doc = lint_json(str(path))
    target = doc["targets"][0]
    assert "QL302" in codes(doc)
    cal = target["model"]["calibration"]
    assert cal["dataset"] == "wikitext-2-raw" and cal["source"] == "quantize.imatrix.dataset"
    assert cal["details"]["known_set"] == "wikitext" and cal["details"]["chunks_count"] == 125
    assert target["model"]["domain"]["domain"] == "code"


# -- the model card ----------------------------------------------------------------------------
BLOKE_AWQ = """
| Branch | Bits | GS | AWQ Dataset | Seq Len | Size |
| ------ | ---- | -- | ----------- | ------- | ---- |
| [main](https://huggingface.co/TheBloke/CodeLlama-13B-AWQ/tree/main) | 4 | 128 | [Evol Instruct Code](https://huggingface.co/datasets/nickrosh/Evol-Instruct-Code-80k-v1) | 4096 | 7.25 GB |
"""
BLOKE_GPTQ = """
| Branch | Bits | GS | Act Order | Damp % | GPTQ Dataset | Seq Len | Size | ExLlama | Desc |
| ------ | ---- | -- | --------- | ------ | ------------ | ------- | ---- | ------- | ---- |
| [main](https://x/tree/main) | 4 | 128 | Yes | 0.1 | [wikitext](https://huggingface.co/datasets/wikitext/viewer/wikitext-2-v1/test) | 4096 | 7 GB | Yes | 4-bit |
| [gptq-8bit-128g-actorder_True](https://x/tree/b) | 8 | 128 | Yes | 0.1 | [Evol Instruct Code](https://huggingface.co/datasets/nickrosh/Evol-Instruct-Code-80k-v1) | 4096 | 14 GB | No | 8-bit |
"""


def _hf_model(fmt: str, name: str, card_text: str | None = None, bits: float = 4, group: int = 128, datasets=()):
    from quantlint.model import CardFacts, Identity, Model

    model = Model(format=fmt, target=name, identity=Identity(name_or_path=name), declared_bits=bits, group_size=group,
                  quant=f"{fmt.upper()} {bits:g}-bit g{group}")
    if card_text is not None:
        model.card = CardFacts(source="README.md", text=card_text, datasets=list(datasets))
    return model


def test_awq_card_table_for_a_code_model_gives_a_code_set():
    model = _hf_model("awq", "TheBloke/CodeLlama-13B-AWQ", BLOKE_AWQ)
    findings = lint_built(model)
    assert model.calibration.dataset == "Evol Instruct Code"
    assert model.calibration.source.startswith("model card: 'AWQ Dataset' table")
    assert model.calibration.details["set_domain"] == "code"
    assert not by_code(findings, "QL301") and not by_code(findings, "QL302")


def test_gptq_card_table_row_is_chosen_by_bits_and_group_size():
    four = _hf_model("gptq", "org/deepseek-coder-6.7B-GPTQ", BLOKE_GPTQ, bits=4)
    assert by_code(lint_built(four), "QL302") and four.calibration.dataset == "wikitext"
    eight = _hf_model("gptq", "org/deepseek-coder-6.7B-GPTQ", BLOKE_GPTQ, bits=8)
    assert not by_code(lint_built(eight), "QL302") and eight.calibration.dataset == "Evol Instruct Code"


def test_card_training_datasets_are_not_calibration_data():
    model = _hf_model("gptq", "org/x-GPTQ", "# X\nNo calibration details here.\n", datasets=["bigcode/the-stack"])
    findings = lint_built(model)
    assert model.calibration.kind == "default-assumed"
    assert "training data, not calibration data" in " ".join(model.notes)
    assert by_code(findings, "QL301")


def test_gptq_for_llama_command_line_names_the_set():
    text = "Command used:\n```\npython llama.py /workspace/models/m c4 --wbits 4 --true-sequential --groupsize 128 --save_safetensors x\n```\n"
    model = _hf_model("gptq", "org/m-GPTQ", text)
    lint_built(model)
    assert model.calibration.dataset == "c4" and "llama.py command line" in model.calibration.source


def test_bartowski_imatrix_note_fills_a_gguf_without_imatrix_keys(make_gguf):
    from quantlint.enrich import enrich
    from quantlint.lint import read_target
    from quantlint.model import CardFacts
    from quantlint.settings import LintSettings
    from quantlint.targets import expand

    path = make_gguf(CODER_FILE, "IQ3_XXS", **CODER)
    (target,) = expand([str(path)])
    model = read_target(target)
    model.card = CardFacts(source="README.md", text=(
        "## Llamacpp imatrix Quantizations of Qwen2.5-Coder-7B-Instruct\n\nAll quants made using imatrix option with "
        "dataset from [here](https://gist.github.com/bartowski1182/eb213dccb3571f863da82e99418f81e8)\n"))
    enrich(model, LintSettings())
    assert model.calibration.details["known_set"] == "calibration_datav3"
    assert model.calibration.source == "model card: imatrix note"
    assert "calibration-free (no importance matrix)" not in model.notes


def test_domain_mismatch_is_info_at_eight_bits_and_for_assumed_defaults():
    model = _hf_model("gptq", "org/Qwen2.5-Coder-7B-GPTQ", BLOKE_GPTQ.replace("Evol Instruct Code", "c4"), bits=8)
    (f,) = by_code(lint_built(model), "QL302")
    assert f.severity == "info"
    assumed = _hf_model("awq", "org/Qwen2.5-Coder-7B-AWQ")
    findings = lint_built(assumed)
    assert not by_code(findings, "QL302")
    (f,) = by_code(findings, "QL301")
    assert "pileval" in f.message and "code model" in f.message


def test_tidy_never_keeps_a_list_of_texts():
    from quantlint.calibration import enrich_calibration
    from quantlint.model import CalibrationFacts
    from quantlint.settings import LintSettings

    model = _hf_model("gptq", "org/x")
    model.calibration = CalibrationFacts(dataset=[f"text {i}" for i in range(1000)], source="config.json quantization_config.dataset",
                                         details={"tokens": list(range(5000))})
    enrich_calibration(model, LintSettings())
    assert model.calibration.dataset == "1,000 custom calibration texts"
    assert model.calibration.details["samples"] == 1000 and model.calibration.details["tokens_count"] == 5000
    assert "text 999" not in json.dumps(model.calibration.details)


# -- Hugging Face folders (needs the HF reader) -------------------------------------------------
def test_gptq_c4_on_a_coder_is_a_domain_mismatch(tmp_path):
    path = hf_dir(tmp_path, "Qwen2.5-Coder-7B-Instruct-GPTQ", "gptq", flavor="transformers",
                  name_or_path="Qwen/Qwen2.5-Coder-7B-Instruct", extra={"dataset": "c4"})
    model, findings = lint(path)
    (f,) = by_code(findings, "QL302")
    assert f.severity == "warning" and "c4" in f.message
    assert "GGUF Q4_K_M" in f.hint and "needs no calibration" in f.hint


def test_autoawq_without_a_record_is_unrecorded_and_names_pileval(tmp_path):
    path = hf_dir(tmp_path, "Mistral-7B-AWQ", "awq", name_or_path="mistralai/Mistral-7B-v0.1")
    model, findings = lint(path)
    (f,) = by_code(findings, "QL301")
    assert f.severity == "info"
    assert "pileval" in f.message and "medium confidence" in f.message
    assert model.calibration.kind == "default-assumed"
    assert not by_code(findings, "QL302")


def test_exl2_default_is_the_built_in_mix_and_fits_code_models(tmp_path):
    path = hf_dir(tmp_path, "Qwen2.5-Coder-7B-exl2", "exl2", bits=4.0, name_or_path="Qwen/Qwen2.5-Coder-7B-Instruct")
    model, findings = lint(path)
    assert model.calibration.kind == "built-in"
    assert model.calibration.details["known_set"] == "exllamav2-default"
    assert not by_code(findings, "QL301") and not by_code(findings, "QL302")
    proc = run_cli("inspect", str(path))
    assert "ExLlamaV2 built-in mix" in " ".join(proc.stdout.split())


def test_exl2_custom_wikitext_parquet_on_a_coder_mismatches(tmp_path):
    path = hf_dir(tmp_path, "Qwen2.5-Coder-7B-exl2", "exl2", bits=4.0, name_or_path="Qwen/Qwen2.5-Coder-7B-Instruct",
                  extra={"dataset": "wikitext-103-raw-v1-test.parquet"})
    _, findings = lint(path)
    assert by_code(findings, "QL302")


def test_exl3_is_always_built_in(tmp_path):
    path = hf_dir(tmp_path, "Qwen2.5-Coder-7B-exl3", "exl3", bits=4.0, name_or_path="Qwen/Qwen2.5-Coder-7B-Instruct")
    model, findings = lint(path)
    assert model.calibration.kind == "built-in"
    assert not by_code(findings, "QL301") and not by_code(findings, "QL302")


def test_a_list_of_1000_calibration_texts_is_summarised_in_inspect_and_json(tmp_path):
    texts = [f"secret calibration passage number {i} " * 10 for i in range(1000)]
    path = hf_dir(tmp_path, "x-GPTQ", "gptq", flavor="transformers", extra={"dataset": texts})
    proc = run_cli("inspect", str(path))
    assert proc.returncode == 0, proc.stderr
    flat = " ".join(proc.stdout.split())
    assert "secret calibration passage" not in proc.stdout
    assert "1000" in flat.replace(",", "") and "texts" in flat
    _, doc = lint_json(str(path))
    dumped = json.dumps(doc)
    assert "secret calibration passage" not in dumped
    cal = doc["targets"][0]["model"]["calibration"]
    assert "1000" in cal["dataset"].replace(",", "")
    assert len(dumped) < 50_000


# -- real TheBloke repos -----------------------------------------------------------------------
@pytest.mark.parametrize("folder, dataset, source", [
    ("gptq_autogptq_thebloke_genz-70b_main", "wikitext", "'GPTQ Dataset' table"),
    ("gptq_gptq-for-llama_wizard-mega-13b", "c4", "llama.py command line"),
])
def test_real_thebloke_cards_give_their_stated_dataset(folder, dataset, source):
    path = REALDATA / folder
    if not path.is_dir():
        pytest.skip(f"{path} is not present")
    pytest.importorskip("quantlint.readers.hf_dir")
    model, findings = lint(path)
    assert model.calibration is not None, model.notes
    assert model.calibration.dataset == dataset
    assert source in model.calibration.source
    assert model.calibration.kind == "recorded"
    assert not by_code(findings, "QL301") and not by_code(findings, "QL302")  # general models


def test_real_autogptq_branch_without_card_is_unrecorded():
    path = REALDATA / "gptq_autogptq_thebloke_wizard-vicuna-30b_8bit-128g"
    if not path.is_dir():
        pytest.skip(f"{path} is not present")
    pytest.importorskip("quantlint.readers.hf_dir")
    _, findings = lint(path)
    (f,) = by_code(findings, "QL301")
    assert "c4 or wikitext" in f.message and "low confidence" in f.message
