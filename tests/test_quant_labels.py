"""Quant tags in file and repo names (QL104's declared label; model identity strips them)."""

from __future__ import annotations

import pytest

from quantlint.facts.quant_labels import parse_quant_label, strip_quant_tags


@pytest.mark.parametrize("name, label, base, custom", [
    ("gemma-3-270m-q4_k_m.gguf", "Q4_K_M", "Q4_K_M", False),
    ("Qwen3-30B-A3B-UD-Q4_K_XL.gguf", "Q4_K_XL", "Q4_K_M", True),
    ("Meta-Llama-3-8B-Instruct-Q6_K_L.gguf", "Q6_K_L", "Q6_K", True),
    ("Llama-3-8B-Q3_K_L.gguf", "Q3_K_L", "Q3_K_L", False),  # a real llama.cpp type, not a custom mix
    ("model.BF16.gguf", "BF16", "BF16", False),  # never "F16" out of "BF16"
    ("Model-IQ2_XXS-imat.gguf", "IQ2_XXS", "IQ2_XXS", False),  # never IQ2_XS out of IQ2_XXS
    ("Mixtral-8x7B-v0.1.Q4_K.gguf", "Q4_K_M", "Q4_K_M", False),  # quantize.cpp alias
    ("DeepSeek-R1-UD-IQ1_S-00001-of-00003.gguf", "IQ1_S", "IQ1_S", True),
    ("Model-Q8_0-then-Q4_K_M.gguf", "Q4_K_M", "Q4_K_M", False),  # last tag wins
    ("org/Model-Q8_0-GGUF/model-IQ3_XXS.gguf", "IQ3_XXS", "IQ3_XXS", False),  # the leaf, not the folder
])
def test_parse_quant_label(name, label, base, custom):
    tag = parse_quant_label(name)
    assert tag is not None
    assert (tag.label, tag.base, tag.custom) == (label, base, custom)


@pytest.mark.parametrize("name", ["bartowski/Llama-3.2-1B-Instruct-GGUF", "model-Q4_K_MX.gguf", "XQ4_K_M.gguf", "", None])
def test_no_tag(name):
    assert parse_quant_label(name) is None


@pytest.mark.parametrize("name, stripped", [
    ("Qwen3-30B-A3B-UD-Q4_K_XL.gguf", "Qwen3-30B-A3B"),
    ("gemma-3-270m-q4_k_m.gguf", "gemma-3-270m"),
    ("Model-IQ2_XXS-imat.gguf", "Model-imat"),
    ("Llama-3.2-1B-Instruct-GGUF", "Llama-3.2-1B-Instruct-GGUF"),
])
def test_strip_quant_tags(name, stripped):
    assert strip_quant_tags(name) == stripped
