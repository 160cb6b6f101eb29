"""Model cards: README.md next to the model, --card, fetched text, and one step up the chain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, lint_json

CARD = """---
base_model:
- Org/X-Instruct
base_model_relation: quantized
quantized_by: someone
pipeline_tag: text-generation
tags: [gguf, llama-cpp]
language: en
datasets: [tatsu-lab/alpaca]
license: apache-2.0
model_name: X Instruct
lm_studio:
  base_model: X
---
# X-Instruct GGUF

Quants of X-Instruct.
"""


def _read(path: Path, **settings):
    from quantlint.lint import read_target
    from quantlint.settings import LintSettings
    from quantlint.targets import expand

    (target,) = expand([str(path)])
    return read_target(target, LintSettings(**settings))


def test_card_next_to_a_gguf_is_read_with_every_field(make_gguf, tmp_path):
    path = make_gguf("X-Instruct-Q4_K_M.gguf")
    (tmp_path / "README.md").write_text(CARD, encoding="utf-8")
    card = _read(path).card
    assert card is not None
    assert card.source == str(tmp_path / "README.md")
    assert card.base_model == ["Org/X-Instruct"]
    assert card.base_model_relation == "quantized"
    assert card.quantized_by == "someone"
    assert card.pipeline_tag == "text-generation"
    assert card.tags == ["gguf", "llama-cpp"]
    assert card.language == ["en"]  # a string in the YAML, a list on the Model
    assert card.datasets == ["tatsu-lab/alpaca"]
    assert card.license == "apache-2.0"
    assert card.model_name == "X Instruct"
    assert card.text is not None and "Quants of X-Instruct." in card.text


def test_base_model_as_a_string_becomes_a_one_element_list(make_gguf, tmp_path):
    path = make_gguf("m.gguf")
    (tmp_path / "README.md").write_text("---\nbase_model: google/gemma-3-270m\n---\nhi\n", encoding="utf-8")
    assert _read(path).card.base_model == ["google/gemma-3-270m"]


def test_lm_studio_family_name_is_not_taken_for_the_base_model(make_gguf, tmp_path):
    path = make_gguf("m.gguf")
    (tmp_path / "README.md").write_text("---\nlm_studio:\n  base_model: Yi\n---\n", encoding="utf-8")
    assert _read(path).card.base_model == []


def test_no_card_is_a_note_not_an_error(make_gguf):
    model = _read(make_gguf("m.gguf"))
    assert model.card is None
    assert "no card" in model.notes


@pytest.mark.parametrize("text, why", [
    ("---\nbase_model: [a\n---\nbody\n", "ParserError"),  # malformed YAML: yaml raises, unwrapped
    ("---\n- a\n- b\n---\nbody\n", "ValueError"),  # a YAML list, not a mapping
])
def test_malformed_card_is_a_note_and_the_lint_goes_on(make_gguf, tmp_path, text, why):
    path = make_gguf("m.gguf")
    (tmp_path / "README.md").write_text(text, encoding="utf-8")
    model = _read(path)
    assert model.card is None
    assert any(n.startswith("card unreadable") and why in n for n in model.notes), model.notes
    code, doc = lint_json(str(path))
    assert code in (0, 1)  # a finding at most, never a crash (2)
    assert doc["targets"][0]["model"]["card"] is None


def test_card_without_front_matter_has_empty_data_and_keeps_the_text(make_gguf, tmp_path):
    path = make_gguf("m.gguf")
    (tmp_path / "README.md").write_text("# Just a title\n\nNo metadata here.\n", encoding="utf-8")
    model = _read(path)
    assert model.card is not None and model.card.base_model == [] and model.card.tags == []
    assert "No metadata here." in (model.card.text or "")
    assert any("no metadata block" in n for n in model.notes)


def test_binary_readme_is_unreadable_not_a_crash(make_gguf, tmp_path):
    path = make_gguf("m.gguf")
    (tmp_path / "README.md").write_bytes(b"\xff\xfe\x00garbage\x80")
    model = _read(path)
    assert model.card is None and any("not UTF-8" in n for n in model.notes)


def test_card_option_replaces_the_readme_next_to_the_model(make_gguf, tmp_path):
    path = make_gguf("m.gguf")
    (tmp_path / "README.md").write_text("---\nbase_model: wrong/one\n---\n", encoding="utf-8")
    other = tmp_path / "elsewhere.md"
    other.write_text("---\nbase_model: right/one\n---\n", encoding="utf-8")
    assert _read(path, card_path=str(other)).card.base_model == ["right/one"]


def test_missing_card_option_path_never_goes_to_the_network(make_gguf, tmp_path):
    """ModelCard.load on a missing path would take it for a repo id and try the Hub."""
    path = make_gguf("m.gguf")
    model = _read(path, card_path=str(tmp_path / "nope" / "README.md"))
    assert model.card is None
    assert any("no such file" in n and "--card" in n for n in model.notes)


def test_card_option_on_the_command_line(make_gguf, tmp_path):
    path = make_gguf("m.gguf")
    card = tmp_path / "card.md"
    card.write_text("---\nbase_model: google/gemma-3-270m\nbase_model_relation: quantized\n---\n", encoding="utf-8")
    _, doc = lint_json("--card", str(card), str(path))
    assert doc["targets"][0]["model"]["card"]["base_model"] == ["google/gemma-3-270m"]


def test_hf_cache_snapshot_layout_gives_repo_and_card(tmp_path):
    from fixtures.ggufgen import model_spec, write_gguf

    snap = tmp_path / "hub" / "models--someone--X-Instruct-GGUF" / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    path = write_gguf(snap / "X-Instruct-Q4_K_M.gguf", model_spec("Q4_K_M"))
    (snap / "README.md").write_text(CARD, encoding="utf-8")
    model = _read(path)
    assert model.identity.repo == "someone/X-Instruct-GGUF"
    assert model.card is not None and model.card.base_model == ["Org/X-Instruct"]


def test_attach_card_from_text_for_remote_readers():
    from quantlint.model import Model
    from quantlint.readers.card import attach_card_from_text

    model = attach_card_from_text(Model(format="gguf", target="o/r"), CARD, "o/r:README.md")
    assert model.card.base_model == ["Org/X-Instruct"] and model.card.source == "o/r:README.md"
    bad = attach_card_from_text(Model(format="gguf", target="o/r"), "---\nx: [\n---\n", "o/r:README.md")
    assert bad.card is None and bad.notes and bad.notes[0].startswith("card unreadable")


def test_local_lint_never_imports_huggingface_hub_even_with_a_card(make_gguf, tmp_path):
    """`quantlint model.gguf` must stay fast: with or without a card, no huggingface_hub (nor gguf/numpy)."""
    bare = make_gguf("Llama-3.1-8B-Instruct-Q4_K_M.gguf", finetune="Instruct", name="Llama 3.1 8B Instruct",
                     basename="Llama-3.1", size_label="8B", chat_template="{{ x }}")
    code = ("import sys; from quantlint.cli import main\n"
            "sys.argv = ['quantlint', sys.argv[1], '--output-format', 'json']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(repr(sorted(m for m in ('huggingface_hub', 'gguf', 'numpy') if m in sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code, str(bare)], capture_output=True, text=True, cwd=ROOT)
    assert proc.stderr.strip().endswith("[]"), proc.stderr
    (tmp_path / "README.md").write_text("---\nbase_model: meta-llama/Llama-3.1-8B-Instruct\n---\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", code, str(bare)], capture_output=True, text=True, cwd=ROOT)
    loaded = proc.stderr.strip().rsplit("[", 1)[-1]
    assert loaded == "]", proc.stderr  # the card is read, but without the Hub client
    assert json.loads(proc.stdout)["targets"][0]["model"]["card"]["base_model"] == ["meta-llama/Llama-3.1-8B-Instruct"]


CARD_TEXTS = [
    "---\nbase_model: meta-llama/Llama-3.1-8B-Instruct\ntags: [gguf, llama]\n---\n# Title\nbody\n",
    "---\r\nbase_model:\r\n- a/b\r\n- c/d\r\nquantized_by: me\r\n---\r\ntext",
    "  \n---\nlicense: mit\n---   \n",  # leading blank line, trailing spaces after the fence
    "no front matter at all\n---\nkey: value\n---\n",
    "---\n---\nempty block",
    "---\nmodel-index:\n- name: x\n  results: []\n---\n",
]


@pytest.mark.parametrize("text", CARD_TEXTS + [p.read_text(encoding="utf-8") for p in sorted(
    (ROOT.parent / "shared" / "realdata").glob("*/README.md"))] if (ROOT.parent / "shared" / "realdata").is_dir()
    else CARD_TEXTS)
def test_front_matter_is_read_as_huggingface_hub_reads_it(text):
    """The Hub's own parser is the oracle for what a card's front matter says."""
    from huggingface_hub import ModelCard

    from quantlint.readers.card import split_front_matter

    from quantlint.readers.card import parse_card

    data, body, _ = split_front_matter(text)
    card = ModelCard(text, ignore_metadata_errors=True)
    assert body == card.text
    for key in ("base_model", "base_model_relation", "quantized_by", "tags", "language", "datasets", "license",
                "pipeline_tag"):
        assert data.get(key) == card.data.get(key), key
    facts, _ = parse_card(text, "README.md")
    assert facts.model_name == card.data.get("model_name")


@pytest.mark.parametrize("text, error", [("---\n- a list\n---\n", "ValueError"),
                                         ("---\nkey: [unclosed\n---\n", "ParserError")])
def test_malformed_front_matter_is_a_note_not_a_crash(text, error):
    from quantlint.readers.card import parse_card

    facts, note = parse_card(text, "README.md")
    assert facts is None and note.startswith("card unreadable: README.md: ") and error in note


# -- one step up the chain, against a local Hub stand-in ------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_card_cache():
    from quantlint.readers.card import clear_fetch_cache

    clear_fetch_cache()
    yield
    clear_fetch_cache()


@pytest.fixture
def hub(monkeypatch):
    from tests.hubstandin import HubStandIn

    stand_in = HubStandIn()
    stand_in.add_repo("org/SuperModel-8B", {"README.md": b"---\nbase_model: meta-llama/Llama-3.1-8B\n---\n# SuperModel\n"})
    stand_in.add_repo("org/NoCard-8B", {"config.json": b"{}"})
    stand_in.add_repo("org/Gated-8B", {"README.md": b"---\nbase_model: a/b\n---\n"}, gated=True)
    stand_in.start()
    monkeypatch.setenv("HF_ENDPOINT", stand_in.url)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    yield stand_in
    stand_in.stop()


def _resolve_requests(hub, expected: int) -> list[str]:
    """The stand-in logs a request after answering it: wait (briefly) for the log to catch up."""
    import time

    for _ in range(200):
        paths = [r.path for r in hub.requests("/resolve/")]
        if len(paths) >= expected:
            break
        time.sleep(0.01)
    return paths


def _quant_model(base_model: str):
    from quantlint.model import Model
    from quantlint.readers.card import attach_card_from_text

    card = f"---\nbase_model: {base_model}\nbase_model_relation: quantized\n---\n"
    return attach_card_from_text(Model(format="gguf", target="quants/x"), card, "quants/x:README.md")


@pytest.mark.network_standin
def test_chain_walk_reads_the_base_models_own_card(hub):
    from quantlint.readers.card import walk_base_chain
    from quantlint.settings import LintSettings

    model = walk_base_chain(_quant_model("org/SuperModel-8B"), LintSettings())
    (step,) = model.provenance["chain"]
    assert step["repo"] == "org/SuperModel-8B"
    assert step["base_model"] == ["meta-llama/Llama-3.1-8B"]
    assert _resolve_requests(hub, 1) == ["/org/SuperModel-8B/resolve/main/README.md"]
    # The 20 files of one repo share a base model: its card is fetched once per process.
    for _ in range(3):
        walk_base_chain(_quant_model("org/SuperModel-8B"), LintSettings())
    assert len(_resolve_requests(hub, 2)) == 1


@pytest.mark.network_standin
@pytest.mark.parametrize("repo, note", [
    ("org/NoCard-8B", "has no card"),
    ("org/Missing-8B", "no such repo"),
    ("org/Gated-8B", "gated or private"),
])
def test_chain_walk_failures_are_notes(hub, repo, note):
    from quantlint.readers.card import walk_base_chain
    from quantlint.settings import LintSettings

    model = walk_base_chain(_quant_model(repo), LintSettings())
    assert model.provenance["chain"][0]["base_model"] == []
    assert any(note in n for n in model.notes), model.notes


@pytest.mark.network_standin
def test_chain_walk_offline_makes_no_request(hub, monkeypatch, tmp_path):
    from quantlint.readers.card import clear_fetch_cache, walk_base_chain
    from quantlint.settings import LintSettings

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    model = walk_base_chain(_quant_model("org/SuperModel-8B"), LintSettings(offline=True))
    assert hub.requests("/resolve/") == []
    assert any("offline" in n for n in model.notes), model.notes
    # With the card in the local Hugging Face cache, offline mode reads it from there.
    repo = tmp_path / "models--org--SuperModel-8B"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("c" * 40)
    (repo / "snapshots" / ("c" * 40)).mkdir(parents=True)
    (repo / "snapshots" / ("c" * 40) / "README.md").write_text("---\nbase_model: meta-llama/Llama-3.1-8B\n---\n")
    clear_fetch_cache()
    model = walk_base_chain(_quant_model("org/SuperModel-8B"), LintSettings(offline=True))
    assert model.provenance["chain"][0]["base_model"] == ["meta-llama/Llama-3.1-8B"]
    assert hub.requests("/resolve/") == []


def test_chain_walk_with_the_hub_unreachable_is_a_note(monkeypatch):
    import socket

    from quantlint.readers.card import walk_base_chain
    from quantlint.settings import LintSettings

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    model = walk_base_chain(_quant_model("org/SuperModel-8B"), LintSettings())
    assert any("not fetched" in n for n in model.notes), model.notes
