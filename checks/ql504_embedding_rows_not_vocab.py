"""A GGUF whose token embedding (or output head) has more rows than the vocabulary has tokens.

## What it does
For GGUF files only: compares the token count (`tokenizer.ggml.tokens`) with the rows of
`token_embd.weight` and `output.weight`, and reports matrices with **more** rows than tokens
(QL502 reports the opposite). Hugging Face checkpoints are not judged: transformers pads
embeddings to a multiple of 64 or 128 on purpose and loads them fine.

## Why is this bad?
llama.cpp takes n_vocab from the token count and creates both tensors with the exact shape
{n_embd, n_vocab} (src/llama-model-loader.cpp, `create_tensor` / `check_tensor_dims`), so the
file does not load: "tensor 'token_embd.weight' has wrong shape; expected 8192, 65024, got
8192, 65025" (llama.cpp issue #2894, a Falcon conversion with one padding row; the same error in
#5910 for deepseek-coder and in #8445 for InternLM2). Ollama loads GGUFs through llama.cpp and
fails the same way. convert_hf_to_gguf.py avoids this by padding the vocabulary with `[PAD{id}]`
tokens; files made by older or third-party converters often do not.

## Example
400 tokens against a `token_embd.weight` of shape (256, 512): llama.cpp expects 400 rows.

## How to fix
Convert again with a current `convert_hf_to_gguf.py`, which pads the vocabulary to the
embedding size, or download a quant made that way.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext
from quantlint.vocab import vocab_matrices

CODE = "QL504"
NAME = "embedding-rows-not-vocab"
SEVERITY = "error"


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    n_tokens = model.tokenizer.vocab_size
    if model.format != "gguf" or not n_tokens:
        return
    for t, what, rows in vocab_matrices(model):
        if rows <= n_tokens:
            continue
        yield Finding(
            message=(f"{t.name} has {rows:,} rows but the vocabulary has {n_tokens:,} tokens: llama.cpp "
                     f"expects exactly {n_tokens:,} and refuses to load the file (\"tensor '{t.name}' has wrong shape\")"),
            hint=("Convert again with a current convert_hf_to_gguf.py, which pads the vocabulary with [PAD] tokens "
                  "to the embedding size, or use a quant made that way."),
            location=t.name, offset=t.info_offset,
            data={"tokens": n_tokens, "rows": rows, "tensor": t.name, "what": what})
