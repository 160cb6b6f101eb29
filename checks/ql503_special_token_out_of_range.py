"""A special token id outside the vocabulary, or tokenizer arrays that disagree in length.

## What it does
- Reports a BOS, EOS, EOT, EOM, PAD, UNK, SEP (the key is spelled `seperator_token_id`), CLS or
  MASK id at or beyond the number of tokens (or negative).
- Reports `tokenizer.ggml.scores` or `tokenizer.ggml.token_type` whose length differs from
  `tokenizer.ggml.tokens` (the three are parallel arrays: entry i describes token i).

## Why is this bad?
llama.cpp (src/llama-vocab.cpp @0c1e57098) logs "bad special token: '...' = N, using default
id" and silently swaps in its default: for SPM vocabularies EOS becomes 2, for BPE ones no EOS
at all. A model whose EOS is lost never stops where it should: the endless repetition the
seed describes, or an end-of-turn the runtime does not recognise. Shorter scores or
token_type arrays are a hard load error there ("Index out of array bounds for scores (390 <
400)"); longer ones are read without complaint but show a converter bug that may have
shifted the entries. This is a structural fact about the file, not a quality estimate.

## Example
`tokenizer.ggml.eos_token_id = 9999` in a 400-token vocabulary; 390 scores for 400 tokens.

## How to fix
Take a fresh conversion from the original tokenizer, or fix the key in place with
gguf-py's gguf_new_metadata.py / gguf_set_metadata.py (`tokenizer.ggml.eos_token_id` to the
id of the model's real end token, e.g. `<|eot_id|>` for Llama 3 Instruct).
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL503"
NAME = "special-token-out-of-range"
SEVERITY = "error"

# Special id name -> GGUF key (the reader's names; "sep" is spelled "seperator" in GGUF).
GGUF_KEYS = {
    "bos": "tokenizer.ggml.bos_token_id", "eos": "tokenizer.ggml.eos_token_id",
    "eot": "tokenizer.ggml.eot_token_id", "eom": "tokenizer.ggml.eom_token_id",
    "unk": "tokenizer.ggml.unknown_token_id", "pad": "tokenizer.ggml.padding_token_id",
    "sep": "tokenizer.ggml.seperator_token_id", "cls": "tokenizer.ggml.cls_token_id",
    "mask": "tokenizer.ggml.mask_token_id",
}
CONSEQUENCE = {
    "bos": "prompts start without the token the model was trained to see first",
    "eos": "generation does not stop at the model's end token (endless output)",
    "eot": "the end of a turn is not recognised (the reply runs on into the next turn)",
    "eom": "the end of a tool message is not recognised",
    "pad": "batched inputs are padded with a token that does not exist",
}
ARRAYS = {"scores": ("scores_count", "tokenizer.ggml.scores"), "token_type": ("token_type_count", "tokenizer.ggml.token_type")}


def _special_ids(model: Model) -> Iterator[Finding]:
    tok = model.tokenizer
    n = tok.vocab_size
    for name, token_id in sorted(tok.special_ids.items()):
        if 0 <= token_id < n:
            continue
        key = GGUF_KEYS.get(name, name) if model.format == "gguf" else f"{name}_token_id"
        what = CONSEQUENCE.get(name, "the runtime ignores it")
        yield Finding(
            message=f"{name.upper()} token id {token_id:,} is outside the {n:,}-token vocabulary: {what}",
            hint=("llama.cpp logs 'bad special token' and falls back to a default id. Fix the key to the id of the "
                  "model's real token (gguf_new_metadata.py / gguf_set_metadata.py) or use a fresh conversion."),
            location=key, offset=model.meta_offset(key),
            data={"token": name, "id": token_id, "vocab_size": n})


def _parallel_arrays(model: Model) -> Iterator[Finding]:
    tok = model.tokenizer
    n = tok.vocab_size
    for label, (attr, key) in ARRAYS.items():
        count = getattr(tok, attr)
        if count is None or count == n:
            continue
        if count < n:
            message = (f"{key} has {count:,} entries for {n:,} tokens: llama.cpp refuses the file "
                       f"(\"Index out of array bounds for {'toktypes' if label == 'token_type' else 'scores'}\")")
            severity = None
        else:
            message = (f"{key} has {count:,} entries for {n:,} tokens: the extra entries are ignored, "
                       "but a converter that wrote them may have shifted the rest")
            severity = "warning"
        yield Finding(message=message, hint="Use a fresh conversion: the tokenizer arrays were written inconsistently.",
                      location=key, offset=model.meta_offset(key), severity=severity,
                      data={"array": label, "entries": count, "tokens": n})


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    if not model.tokenizer.vocab_size:
        return
    yield from _special_ids(model)
    if model.format == "gguf":
        yield from _parallel_arrays(model)
