"""A chat/instruct model with no chat template.

## What it does
Reports a model that says it is tuned for chat or instructions (a `general.finetune` or name
with Instruct/Chat/it, chat tags such as `conversational`, a model card or file name that the
file's own identity does not contradict) but carries no `tokenizer.chat_template` (GGUF) or
no chat template in its tokenizer files (Hugging Face folders, when the reader looked at
them). Base models are left alone: nothing about the real Gemma 3 270M file or its card
(`base_model: google/gemma-3-270m`) claims chat, and it has no template.

## Why is this bad?
Runtimes format a conversation with the template embedded in the model. Without one they
guess: llama.cpp's server falls back to a default format (ChatML in common/chat.cpp), Ollama
to a bare prompt, and the model sees role markers it was never trained on, so it answers
badly, leaks markers or never stops. This follows from how the runtimes read the metadata
(../shared/reference/gguf-facts.md §5.5: tokenizer.chat_template is optional); there is no
published measurement of the quality loss, so the severity is a warning.

## Example
`Llama-3.1-8B-Instruct-Q4_K_M.gguf` with `general.finetune = "Instruct"` and no
`tokenizer.chat_template` key.

## How to fix
Take a conversion made with a current llama.cpp (convert_hf_to_gguf copies the template from
tokenizer_config.json), pass a template to the runtime (`llama-server --chat-template-file
template.jinja`, an Ollama Modelfile TEMPLATE), or add it with gguf-py's
`gguf_new_metadata.py --chat-template-config tokenizer_config.json`.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL402"
NAME = "chat-template-missing"
SEVERITY = "warning"


def _tokenizer_was_read(model: Model) -> bool:
    """For folders the reader may not look at tokenizer files: silence is not absence then."""
    if model.format == "gguf":
        return True
    tok = model.tokenizer
    return tok.model is not None or tok.vocab_size is not None or tok.chat_template_source is not None


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    prov = model.provenance or {}
    claims = prov.get("chat_claims") or []
    if not claims or prov.get("has_chat_template") or not _tokenizer_was_read(model):
        return
    evidence = "; ".join(f"{c['source']} {c['evidence']!r}" for c in claims[:3])
    where = "tokenizer.chat_template" if model.format == "gguf" else "tokenizer_config.json / chat_template.jinja"
    yield Finding(
        message=f"the model claims to be a chat/instruct model ({evidence}) but has no chat template ({where})",
        hint=("Runtimes will guess the prompt format. Use a conversion that embeds the template, or give "
              "the runtime one (llama-server --chat-template-file, an Ollama TEMPLATE)."),
        location=where if model.format == "gguf" else None,
        data={"claims": claims},
    )
