"""More tokens in the vocabulary than rows in the token embedding or the output head.

## What it does
Compares the number of tokens (`tokenizer.ggml.tokens`) with the rows of `token_embd.weight`
and `output.weight` (GGUF stores shapes in ggml order, so rows are the second dimension), and
for Hugging Face checkpoints with the rows of `model.embed_tokens.weight` / `lm_head.weight`.
It reports a vocabulary **larger** than either matrix. A smaller vocabulary is padding (models
round their embedding up to a multiple of 64 or 128) and is not reported.

## Why is this bad?
A token id past the last row has no embedding: the runtime reads outside the tensor, or
refuses the file. llama.cpp creates both tensors with the shape {n_embd, n_vocab} taken from
the token count and checks it exactly (src/llama-model-loader.cpp @0c1e57098: "tensor
'token_embd.weight' has wrong shape"), so such a GGUF does not load there; runtimes that do not
check the shape emit garbage for the ids past the end. It happens when tokens are added to a
tokenizer (new special tokens for a fine-tune) without resizing the model. A GGUF with fewer tokens than rows fails llama.cpp's exact shape check too,
unless the converter padded the vocabulary (convert_hf_to_gguf.py does, with [PAD] tokens):
that case is QL504 embedding-rows-not-vocab, since for other formats padding is harmless.

## Example
512 tokens against a `token_embd.weight` of shape (256, 400): tokens 400-511 have no row.

## How to fix
Use a conversion made after the embedding was resized to the tokenizer
(`model.resize_token_embeddings(len(tokenizer))` in transformers), or the tokenizer that
belongs to these weights.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext
from quantlint.vocab import vocab_matrices

CODE = "QL502"
NAME = "vocab-embedding-mismatch"
SEVERITY = "error"

def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    n_tokens = model.tokenizer.vocab_size
    if not n_tokens:
        return
    for t, what, rows in vocab_matrices(model):
        if n_tokens <= rows:
            continue
        yield Finding(
            message=(f"{n_tokens:,} tokens but {t.name} has {rows:,} rows: token ids {rows:,}-{n_tokens - 1:,} "
                     f"have no {what} row"),
            hint=("The tokenizer gained tokens the weights were never resized for; use the tokenizer that belongs "
                  "to these weights, or a conversion made after resizing the embedding."),
            location=t.name, offset=t.info_offset,
            data={"tokens": n_tokens, "rows": rows, "tensor": t.name, "shape": list(t.shape)})
