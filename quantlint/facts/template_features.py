"""Which chat feature a template's special token serves, so QL603 can say what breaks.

Sources: the shipped templates of the families (fixtures/templates.py has them as published):
- tool calling: DeepSeek-R1 `<｜tool▁calls▁begin｜>`, `<｜tool▁call▁begin｜>`, `<｜tool▁sep｜>`,
  `<｜tool▁outputs▁begin｜>`...; Mistral v3 `[TOOL_CALLS]`, `[AVAILABLE_TOOLS]`, `[TOOL_RESULTS]`;
  Llama 3.1 `<|python_tag|>` and `<|eom_id|>` (ipython tool turns); Qwen/Hermes `<tool_call>`,
  `<tool_response>`; Phi-4 `<|tool|>`, `<|tool_call|>`;
- reasoning: `<think>`, `</think>` (DeepSeek-R1, Qwen3);
- images and other media: Gemma 3 `<start_of_image>`, Qwen2-VL `<|vision_start|>`, `<|image_pad|>`;
- everything else a template writes as a special token marks turns and roles (`<|im_start|>`,
  `<|start_header_id|>`, `<start_of_turn>`, `<｜User｜>`, `[INST]`, BOS/EOS).
"""

from __future__ import annotations

import re

TURNS = "turns"
# feature -> (pattern over the token text, what breaks when the token is not one token)
FEATURES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("tool calling", re.compile(r"(?i)tool|python_tag|eom_id|function|ipython"),
     "tool calling breaks, because the model never sees the tool-call markers it was trained to read and write"),
    ("reasoning", re.compile(r"(?i)think|reason"),
     "the reasoning block is not delimited as trained"),
    ("images", re.compile(r"(?i)image|vision|video|audio|img"),
     "image and media inputs are not delimited as trained"),
)
# How the message names each group of tokens.
LABELS = {TURNS: "turn markers", "tool calling": "tool-call markers", "reasoning": "reasoning markers",
          "images": "image markers"}
TURN_BREAKS = "the model never sees its turn markers, so answers run on, switch roles or ignore the system prompt"


def feature_of(token: str) -> str:
    """The feature a special token serves: "tool calling", "reasoning", "images" or "turns"."""
    for name, pattern, _ in FEATURES:
        if pattern.search(token):
            return name
    return TURNS


def what_breaks(feature: str) -> str:
    for name, _, breaks in FEATURES:
        if name == feature:
            return breaks
    return TURN_BREAKS
