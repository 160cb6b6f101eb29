"""The clean corpus of issue 16: real chat templates that must get no QL601, QL602 or QL604.

Two sources, both llama.cpp's own (tests/llama_sdist.py takes them from the llama-cpp-python
0.3.36 sdist on PyPI, llama.cpp 0c1e57098):
- every template under models/templates/ (the templates llama.cpp tests its chat parser on),
  extracted into ~/.cache/quantlint/templates (or $QUANTLINT_CACHE/templates);
- every chat template (tokenizer.chat_template and its named variants) in the 19 vocab GGUFs,
  written next to them as vocab-NAME[.VARIANT].jinja.
Each is embedded as tokenizer.chat_template in a small GGUF and linted; any QL6xx finding but
QL603 (the small GGUF's vocabulary lacks the template's tokens) is a false alarm. Set
QUANTLINT_NO_FETCH=1 to never download; the tests skip when the sdist cannot be had.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.ggufgen import Arch, model_spec, write_gguf
from tests.conftest import lint_model_path
from tests.llama_sdist import VOCAB_NAMES, cache_root, ensure_members, ensure_vocab, manifest

SMALL = Arch("llama", n_layer=1, n_embd=64, n_ff=128, n_head=2, n_head_kv=1, n_vocab=300)
NOT_INTENT = {"QL603"}
# llama.cpp 0c1e57098 ships 70 templates under models/templates/; fewer means a broken extraction.
MIN_LLAMA_TEMPLATES = 60


def _templates_dir() -> Path:
    return cache_root() / "templates"


def _is_template(path: str) -> bool:
    return path.startswith("models/templates/") and path.endswith((".jinja", ".j2"))


def _collected(directory: Path) -> list[str]:
    """The templates cached at collection time, for one test id each; "*" (all, after fetching)
    when nothing is cached yet."""
    return manifest(directory) or ["*"]


@pytest.fixture(scope="module")
def templates_dir() -> Path:
    return ensure_members(_templates_dir(), lambda d: manifest(d) is not None, _is_template,
                          "llama.cpp's models/templates")


def _vocab_templates_dir() -> Path:
    return _templates_dir() / "vocab"


@pytest.fixture(scope="module")
def vocab_templates_dir() -> Path:
    """vocab-NAME[.VARIANT].jinja for every chat template in the 19 vocab files (written once)."""
    directory = _vocab_templates_dir()
    if manifest(directory) is not None:
        return directory
    from quantlint.templates import template_sources

    vocab = ensure_vocab()
    directory.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for name in VOCAB_NAMES:
        model, _ = lint_model_path(vocab / f"ggml-vocab-{name}.gguf")
        for location, text in template_sources(model):
            variant = location.removeprefix("tokenizer.chat_template").lstrip(".")
            base = f"vocab-{name}{'.' + variant if variant else ''}.jinja"
            (directory / base).write_text(text, encoding="utf-8")
            names.append(base)
    (directory / "MANIFEST.txt").write_text("".join(n + "\n" for n in names), encoding="utf-8")
    return directory


def _false_alarms(tmp_path: Path, template: str) -> list[str]:
    tokens = ["<unk>", "<s>", "</s>"] + [f"w{i}" for i in range(SMALL.n_vocab - 3)]
    path = write_gguf(tmp_path / "model.gguf", model_spec("Q4_K_M", SMALL, tokens=tokens, chat_template=template,
                                                          tokenizer_model="llama", tokenizer_pre=None))
    _, findings = lint_model_path(path)
    return [f"{f.code}/{f.severity} {f.message[:160]}" for f in findings
            if f.code.startswith("QL6") and f.code not in NOT_INTENT]


def _check(tmp_path: Path, directory: Path, name: str) -> None:
    names = (manifest(directory) or []) if name == "*" else [name]
    flagged = {}
    for i, each in enumerate(names):
        work = tmp_path / str(i)
        work.mkdir()
        found = _false_alarms(work, (directory / each).read_text(encoding="utf-8"))
        if found:
            flagged[each] = found
    assert flagged == {}, "real templates flagged:\n" + "\n".join(f"{k}: {v}" for k, v in flagged.items())


@pytest.mark.parametrize("name", _collected(_templates_dir()))
def test_llama_cpp_template_is_clean(tmp_path, templates_dir, name):
    _check(tmp_path, templates_dir, name)


def test_llama_cpp_templates_were_all_extracted(templates_dir):
    names = manifest(templates_dir) or []
    assert len(names) >= MIN_LLAMA_TEMPLATES
    assert "meta-llama-Llama-3.1-8B-Instruct.jinja" in names and "Qwen-Qwen3-0.6B.jinja" in names


@pytest.mark.parametrize("name", _collected(_vocab_templates_dir()))
def test_vocab_file_template_is_clean(tmp_path, vocab_templates_dir, name):
    _check(tmp_path, vocab_templates_dir, name)


def test_vocab_file_templates_were_all_extracted(vocab_templates_dir):
    # Five vocab files carry a template; command-r carries three (default, tool_use, rag).
    names = manifest(vocab_templates_dir) or []
    assert {"vocab-command-r.jinja", "vocab-command-r.tool_use.jinja", "vocab-command-r.rag.jinja",
            "vocab-qwen2.jinja", "vocab-phi-3.jinja", "vocab-gemma-4.jinja"} <= set(names)
