"""Role or control tokens the chat template writes that the vocabulary lacks, or types as text.

## What it does
Takes the tokens a chat template writes literally (from the string literals and template text
in its AST, not guessed from names): shapes that are never plain text (`<|im_start|>`,
`<|start_header_id|>`, `<|eot_id|>`, DeepSeek's `<｜User｜>`, Gemma 4's `<|turn>`) and known
role tokens in other shapes (`<start_of_turn>`, `<s>`, `[INST]`...). Strings the template only
compares or searches for (`'</think>' in content`) are not counted. Then looks each one up in
the file's own vocabulary (`tokenizer.ggml.tokens`, without decoding it) and reports:
- tokens **missing** from the vocabulary;
- tokens present but typed NORMAL or UNUSED instead of CONTROL/USER_DEFINED: llama.cpp matches
  a rendered prompt's special tokens only among CONTROL, USER_DEFINED and UNKNOWN ones
  (src/llama-vocab.cpp @0c1e57098, cache_special_tokens). Tokens llama.cpp re-types itself at
  load (`<|eot_id|>`, `<|im_end|>`, `<end_of_turn>`...) are reported as info.
The message says which feature each missing token serves (quantlint/facts/template_features.py):
role/turn markers (`<|im_start|>`, `<｜User｜>`), tool-call markers (`<｜tool▁calls▁begin｜>`,
`[TOOL_CALLS]`, `<|python_tag|>`), reasoning (`<think>`) or image markers, and so what will
break: the whole conversation when turn markers are missing, only tool calling when only the
tool-call markers are.
`[INST]`-style tokens are plain text in Llama 2 and Mistral v0.1/v0.2 vocabularies, so they are
checked only when the vocabulary has another token of their family. Nothing is reported when
the target has no vocabulary to look in (a directory without tokenizer files).

## Why is this bad?
A role marker that is not one token reaches the model as several ordinary pieces (`<`, `|`,
`im`, `_start`...): the model never sees the turn boundaries it was trained on, and answers
run on, switch roles or ignore the system prompt: the "tokenizer baked into the GGUF doesn't
match" garbling the seed describes. ggufdoctor's S004 reports the same (peers.md).

## Example
A ChatML template (`<|im_start|>user`) in a GGUF whose vocabulary has no `<|im_start|>`: every
turn breaks. A DeepSeek-R1-Distill-Qwen GGUF (Qwen's vocabulary, DeepSeek's template) whose
vocabulary has `<｜User｜>` and `<｜Assistant｜>` but no `<｜tool▁calls▁begin｜>`: chat works,
tool calling breaks.

## How to fix
Use the template that belongs to this tokenizer (the base model's), or a conversion whose
tokenizer includes the template's special tokens as CONTROL tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from quantlint.facts.pretokenizers import LLAMA_CPP_FORCED_SPECIAL
from quantlint.facts.template_features import LABELS, TURNS, feature_of, what_breaks
from quantlint.facts.template_patterns import KNOWN_ROLE_TOKENS
from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext
from quantlint.templates import has_templates, template_sources

if TYPE_CHECKING:
    from quantlint.vocab import VocabIndex

CODE = "QL603"
NAME = "template-tokens-missing"
SEVERITY = "warning"

MAX_LISTED = 8


def _family_present(vocab: "VocabIndex", token: str) -> bool:
    family = KNOWN_ROLE_TOKENS[token][0]
    return any(vocab.find(other) is not None for other, (fam, _, _) in KNOWN_ROLE_TOKENS.items()
               if fam == family and other != token)


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    tok = model.tokenizer
    if not has_templates(model) or not tok.tokens_blob:
        return
    from quantlint.vocab import vocab_index

    vocab = vocab_index(tok.tokens_blob, tok.token_types_blob, tok.byte_order)
    if vocab is None:
        return
    from quantlint.templates.analysis import analyse_template

    for location, text in template_sources(model):
        analysis = analyse_template(text)
        missing, mistyped, retyped = [], [], []
        for emitted in analysis.emitted_tokens:
            known = KNOWN_ROLE_TOKENS.get(emitted.text)
            maybe_text = bool(known and known[1])
            hit = vocab.find(emitted.text)
            if hit is None:
                if not maybe_text or _family_present(vocab, emitted.text):
                    missing.append(emitted)
            elif hit.matched_as_special is False and not maybe_text:
                (retyped if emitted.text in LLAMA_CPP_FORCED_SPECIAL else mistyped).append((emitted, hit))
        if missing:
            yield _missing_finding(location, missing, vocab)
        for group, severity, why in ((mistyped, None, "llama.cpp splits such tokens as plain text instead of matching the one token the model was trained on"),
                                     (retyped, "info", "llama.cpp re-types these at load ('control-looking token ... probably a bug in the model'); other runtimes may not")):
            if not group:
                continue
            names = [f"{e.text} (id {h.index}, {h.type_name})" for e, h in group]
            yield Finding(
                message=f"{location} writes {_listing(names)}, typed as text instead of CONTROL/USER_DEFINED: {why}",
                hint="Use a conversion that marks the tokenizer's special tokens as control tokens (convert_hf_to_gguf.py does).",
                location=location, severity=severity,
                data={"template": location, "tokens": [e.text for e, _ in group],
                      "types": [h.type_name for _, h in group], "ids": [h.index for _, h in group]})


def _missing_finding(location: str, missing: list, vocab: "VocabIndex") -> Finding:
    """One finding per template, grouped by the feature the missing tokens serve."""
    groups: dict[str, list] = {}
    for e in missing:
        groups.setdefault(feature_of(e.text), []).append(e)
    parts = []
    for feature, items in groups.items():
        names = [f"{e.text} (line {e.line})" for e in items]
        label = LABELS.get(feature, f"{feature} markers")
        parts.append(f"{label} {_listing(names)}: {what_breaks(feature)}")
    message = (f"{location} writes tokens not in the {len(vocab):,}-token vocabulary, which the runtime splits into "
               f"ordinary text pieces: {'; '.join(parts)}")
    if TURNS not in groups:
        message += ". The turn markers are present, so plain chat works"
    return Finding(
        message=message,
        hint="Use the template that belongs to this tokenizer (the base model's), or a conversion whose vocabulary has these tokens.",
        location=location, data={"template": location, "missing": [e.text for e in missing],
                                 "lines": [e.line for e in missing], "features": sorted(groups)})
