"""quantlint.naming: gguf-py's model-id grammar without gguf, and no heavy import whatever a file is called."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from quantlint.naming import model_id_components, parse_name
from tests.conftest import ROOT, gemma_path

# Real names as model makers and quant publishers write them (repo ids and file names).
REAL_NAMES = [
    "meta-llama/Meta-Llama-3-8B-Instruct", "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.2-3B-Instruct",
    "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF", "Meta-Llama-3.1-8B-Instruct-Q4_K_M", "Meta-Llama-3.1-8B-Instruct-Q6_K_L",
    "Meta-Llama-3.1-8B-Instruct-Q4_K_L", "unsloth/Qwen3-30B-A3B-GGUF", "Qwen3-30B-A3B-UD-Q4_K_XL",
    "Meta-Llama-3.1-8B-Instruct.i1-Q4_K_M", "Mixtral-8x7B-Instruct-v0.1-Q4_K_M-00001-of-00003",
    "mistralai/Mixtral-8x7B-Instruct-v0.1", "Mixtral-8x7B-v0.1", "Qwen/Qwen2.5-Coder-32B-Instruct-GGUF",
    "Qwen/Qwen3-30B-A3B-Instruct-2507", "Qwen1.5-MoE-A2.7B-Chat", "Qwen2-57B-A14B-Instruct",
    "google/gemma-3-270m", "google/gemma-3-270m-it", "google/gemma-3-4b-it-qat-q4_0-gguf", "gemma-3-270m-it-qat-Q4_0",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "unsloth/DeepSeek-R1-Distill-Llama-8B-GGUF", "deepseek-ai/DeepSeek-V3",
    "microsoft/Phi-3.5-mini-instruct", "microsoft/Phi-3-mini-4k-instruct", "microsoft/bitnet-b1.58-2B-4T-gguf",
    "openai/gpt-oss-20b", "gpt-oss-120b-MXFP4", "NousResearch/Hermes-3-Llama-3.1-8B", "bigscience/bloom-7b1",
    "TheBloke/Mistral-7B-Instruct-v0.2-GGUF", "llama-2-7b-chat.Q4_K_M", "Qwen3-8B-Q8_0-Q4_K_M", "ggml-vocab-llama-bpe",
    "Llama-3.1-70B-Instruct.i1-Q4_K_M.gguf.part1of2", "google_gemma-3-4b-it-qat-Q4_0", "Qwen2.5-Coder-32B-Instruct-GGUF",
    "Phi-3.5-mini-instruct", "Mixtral-8x7B", "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M", "Some Model Name With Spaces", "Mixtral", "./models/x-7B", "iter1-7B", "Llama-3-8B-Instruct-IQ2_XXS", "phi-2-bf16",
]


@pytest.mark.parametrize("name", REAL_NAMES)
def test_components_equal_gguf_py(name):
    """The grammar is gguf-py's, case for case (gguf is allowed here, never on a lint path)."""
    metadata = pytest.importorskip("gguf.metadata")
    assert model_id_components(name) == tuple(metadata.Metadata.get_model_id_components(name))


@pytest.mark.parametrize("name,total", [("microsoft/Phi-3-mini-4k-instruct", 4_000_000_000),
                                        ("Llama-3-8B-Instruct-LoRA", -1_000_000), ("bloom-7b1-petals", 7_000_000_000)])
def test_components_with_a_parameter_count_equal_gguf_py(name, total):
    metadata = pytest.importorskip("gguf.metadata")
    assert model_id_components(name, total) == tuple(metadata.Metadata.get_model_id_components(name, total))


# (name, model name left, basename, size, finetune, version, quant label, imatrix marker, shard).
# Where gguf-py's own output is unhelpful for comparing identities, the difference is the point:
# - "-GGUF"/"-gguf" repo suffixes: gguf-py puts them in the finetune ("Instruct-GGUF"); a repo
#   suffix says how the weights are packed, not how they were tuned.
# - quant tags that do not fit its `i?q\d(_\w)*` type pattern ("UD-Q4_K_XL", "MXFP4") and
#   mradermacher's ".i1-" prefix land in its finetune ("UD-Q4_K_XL", "Instruct.i1").
# - gguf-split markers: "-00001-of-00003" becomes version "v0.1-00001-00003" and finetune "Instruct-of".
# - "ggml-vocab-llama-bpe": gguf-py finds nothing; the Type slot's "vocab" and "ggml" are dropped here.
PARSED = [
    ("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF", "Meta-Llama-3.1-8B-Instruct", "Meta-Llama-3.1", "8B", "Instruct", None, None, False, None),
    ("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "Meta-Llama-3.1-8B-Instruct", "Meta-Llama-3.1", "8B", "Instruct", None, "Q4_K_M", False, None),
    ("Meta-Llama-3.1-8B-Instruct-Q4_K_L.gguf", "Meta-Llama-3.1-8B-Instruct", "Meta-Llama-3.1", "8B", "Instruct", None, "Q4_K_L", False, None),
    ("Qwen3-30B-A3B-UD-Q4_K_XL.gguf", "Qwen3-30B-A3B", "Qwen3", "30B-A3B", None, None, "Q4_K_XL", False, None),
    ("Meta-Llama-3.1-8B-Instruct.i1-Q4_K_M.gguf", "Meta-Llama-3.1-8B-Instruct", "Meta-Llama-3.1", "8B", "Instruct", None, "Q4_K_M", True, None),
    ("Llama-3.1-70B-Instruct.i1-Q4_K_M.gguf.part1of2", "Llama-3.1-70B-Instruct", "Llama-3.1", "70B", "Instruct", None, "Q4_K_M", True, (1, 2)),
    ("Mixtral-8x7B-Instruct-v0.1-Q4_K_M-00001-of-00003.gguf", "Mixtral-8x7B-Instruct-v0.1", "Mixtral", "8x7B", "Instruct", "v0.1", "Q4_K_M", False, (1, 3)),
    ("Qwen/Qwen2.5-Coder-32B-Instruct-GGUF", "Qwen2.5-Coder-32B-Instruct", "Qwen2.5-Coder", "32B", "Instruct", None, None, False, None),
    ("gemma-3-270m-it-qat-Q4_0.gguf", "gemma-3-270m-it-qat", "gemma-3", "270M", "it-qat", None, "Q4_0", False, None),
    ("DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", "DeepSeek-R1-Distill-Qwen-7B", "DeepSeek-R1-Distill-Qwen", "7B", None, None, "Q4_K_M", False, None),
    ("Phi-3.5-mini-instruct-IQ4_NL.gguf", "Phi-3.5-mini-instruct", "Phi-3.5", "mini", "instruct", None, "IQ4_NL", False, None),
    ("gpt-oss-20b-MXFP4.gguf", "gpt-oss-20b", "gpt-oss", "20B", None, None, "MXFP4_MOE", False, None),
    ("llama-2-7b-chat.Q4_K_M.gguf", "llama-2-7b-chat", "llama-2", "7B", "chat", None, "Q4_K_M", False, None),
    ("model-Instruct-Q4_K_M.header.gguf", "model-Instruct", "model", None, "Instruct", None, "Q4_K_M", False, None),
    ("ggml-vocab-llama-bpe.gguf", "llama-bpe", None, None, None, None, None, False, None),
    ("Llama-3.2-1B-Instruct-imat-Q4_0_4_4.gguf", "Llama-3.2-1B-Instruct", "Llama-3.2", "1B", "Instruct", None, "Q4_0", True, None),
]


@pytest.mark.parametrize("raw,name,basename,size,finetune,version,quant,imatrix,shard", PARSED)
def test_parse_name_drops_what_promises_nothing(raw, name, basename, size, finetune, version, quant, imatrix, shard):
    p = parse_name(raw)
    assert (p.name, p.basename, p.size_label, p.finetune, p.version) == (name, basename, size, finetune, version)
    assert (p.quant_label, p.imatrix_marker, p.shard) == (quant, imatrix, shard)


def test_gguf_py_keeps_packaging_in_the_finetune_we_do_not():
    """The documented difference, shown on gguf-py itself (skipped without gguf)."""
    metadata = pytest.importorskip("gguf.metadata")
    for raw in ("Qwen/Qwen2.5-Coder-32B-Instruct-GGUF", "Qwen3-30B-A3B-UD-Q4_K_XL", "Meta-Llama-3.1-8B-Instruct.i1-Q4_K_M"):
        theirs = metadata.Metadata.get_model_id_components(raw)[3] or ""
        ours = parse_name(raw).finetune or ""
        assert theirs != ours and not {"GGUF", "UD", "i1"} & set(ours.replace(".", "-").split("-"))


# -- no heavy import on a local lint, whatever the file is called ---------------------------------
HEAVY = ("numpy", "gguf", "huggingface_hub")
# Names unrelated to the metadata, so that every promise has to be parsed and compared.
RENAMES = ("download (3).gguf", "my-Model-7B-Instruct-Q4_K_M.gguf", "Other-Chat-v2-IQ2_XXS-00001-of-00002.gguf",
           "x.i1-Q4_K_L.gguf.part1of2")


def _fixture_files() -> list[Path]:
    examples = sorted((ROOT / "fixtures" / "examples").glob("*.gguf"))
    assert examples, "fixtures/examples holds the committed example models"
    return examples


def _sparse_copy(src: Path, dest: Path, head: int = 16 << 20) -> None:
    """The header bytes and a hole up to the real size: what a lint reads, under another name."""
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        fout.write(fin.read(head))
        fout.truncate(src.stat().st_size)


def _renamed_copies(tmp_path: Path) -> list[Path]:
    from fixtures import releases
    from fixtures.ggufgen import Arch, model_spec, write_gguf

    sources = list(_fixture_files())
    # Generated ones too: a base identity, a name-only identity, and a MoE with a template.
    gen = tmp_path / "gen"
    gen.mkdir()
    sources.append(write_gguf(gen / "a.gguf", model_spec("Q4_K_M", name="Meta Llama 3.1 8B", basename="Meta-Llama-3.1", size_label="8B")))
    sources.append(write_gguf(gen / "b.gguf", model_spec("Q2_K", name="LLaMA v2")))
    sources.append(write_gguf(gen / "c.gguf", model_spec("Q4_K_M", Arch("qwen3moe", n_expert=8, n_expert_used=2), name="Q",
                                                         basename="Qwen3", finetune="8k-lc100k-mix1-ep2", size_label="30B-A3B",
                                                         chat_template="{{ '<|im_start|>' }}")))
    for i, recipe in enumerate((releases.bitnet, releases.gpt_oss, releases.gemma_qat_q4_0, releases.unsloth_ud_q4_k_xl)):
        sources.append(write_gguf(gen / f"r{i}.gguf", recipe()))
    out: list[Path] = []
    for i, src in enumerate(sources):
        folder = tmp_path / f"copy{i}"
        folder.mkdir()
        for rename in RENAMES:
            dest = folder / rename
            shutil.copyfile(src, dest)
            out.append(dest)
    smollm2 = Path.home() / ".cache" / "quantlint" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if smollm2.is_file():
        dest = tmp_path / "smol" / "tiny-chat-model-Q4_K_M.gguf"
        dest.parent.mkdir()
        _sparse_copy(smollm2, dest)
        out.append(dest)
    gemma = gemma_path()
    if gemma is not None:
        dest = tmp_path / "gemma" / "some-Other-Name-Instruct-Q4_K_M.gguf"
        dest.parent.mkdir()
        try:
            os.link(gemma, dest)  # a hard link: another name for the same bytes (a symlink keeps the old name)
        except OSError:  # another file system
            _sparse_copy(gemma, dest)
        out.append(dest)
    return out


def _imported_after_lint(paths: list[Path], output_format: str) -> list[str]:
    code = ("import runpy, sys; sys.argv = ['quantlint', '--output-format', %r, *%r]\n"
            "try:\n    runpy.run_module('quantlint', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('LOADED', sorted(m for m in %r if m in sys.modules), file=sys.stderr)"
            ) % (output_format, [str(p) for p in paths], (*HEAVY, "rich"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "NO_COLOR": "1", "HF_HUB_OFFLINE": "1"})
    line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("LOADED")), None)
    assert line is not None, proc.stderr[-2000:]
    return ast.literal_eval(line.removeprefix("LOADED "))  # a list literal printed by the child


@pytest.mark.parametrize("output_format", ["json", "concise"])
def test_renamed_files_import_no_numpy_gguf_hub_or_rich(tmp_path, output_format):
    paths = _renamed_copies(tmp_path)
    loaded = _imported_after_lint(paths, output_format)
    assert loaded == [], f"{output_format}: {loaded} imported while linting {len(paths)} renamed files"
