"""Fact tables generated from llama.cpp's gguf-py stay equal to the installed package."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

gguf_constants = pytest.importorskip("gguf.constants")


def test_generated_ggml_tables_match_the_gguf_package():
    from quantlint.facts.ggml_types import GGML_TYPES, GGUF_VALUE_TYPES, LLAMA_FILE_TYPES

    sizes = gguf_constants.GGML_QUANT_SIZES
    assert GGML_TYPES == {t.value: (t.name, *sizes[t]) for t in gguf_constants.GGMLQuantizationType}
    assert GGUF_VALUE_TYPES == {v.value: v.name for v in gguf_constants.GGUFValueType}
    assert LLAMA_FILE_TYPES == {f.value: f.name for f in gguf_constants.LlamaFileType}


def test_the_committed_file_is_what_the_generator_writes():
    generated = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_ggml_types.py")],
                               capture_output=True, text=True, check=True).stdout
    assert generated == (ROOT / "quantlint" / "facts" / "ggml_types.py").read_text()


def test_upstream_supplement_does_not_shadow_the_package():
    from quantlint.facts.ggml_types import GGML_TYPES, LLAMA_FILE_TYPES
    from quantlint.facts.tiers import UPSTREAM_FILE_TYPES, UPSTREAM_GGML_TYPES

    assert not set(UPSTREAM_GGML_TYPES) & set(GGML_TYPES)
    assert not set(UPSTREAM_FILE_TYPES) & set(LLAMA_FILE_TYPES)


def test_every_file_type_has_a_tier():
    from quantlint.facts.ggml_types import LLAMA_FILE_TYPES
    from quantlint.facts.tiers import file_type_label, tier

    for value, name in LLAMA_FILE_TYPES.items():
        if name == "GUESSED":
            continue
        assert tier(file_type_label(value)) is not None, name
