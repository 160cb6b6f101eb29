"""A BPE tokenizer without a usable pre-tokenizer (tokenizer.ggml.pre missing, "default", or unknown).

## What it does
For a GGUF whose tokenizer llama.cpp loads as BPE (`tokenizer.ggml.model` = `gpt2`, also
`hybriddna` and `whitespace`), reads `tokenizer.ggml.pre`:
- **missing**: llama.cpp logs "missing pre-tokenizer type, using: 'default'" and
  "GENERATION QUALITY WILL BE DEGRADED! CONSIDER REGENERATING THE MODEL", then splits text
  with the GPT-2 regex (warning);
- **"default"**: the same GPT-2 regex, chosen explicitly; right only for GPT-2-era vocabularies
  (warning);
- **a name llama.cpp does not know**: llama.cpp throws "unknown pre-tokenizer type: '...'" and
  the model does not load (error). The known names are every pre-tokenizer in
  src/llama-vocab.cpp at llama.cpp 0c1e57098 (quantlint.facts.pretokenizers); a name added
  upstream later is reported too, with that revision named.

SentencePiece (`llama`), WordPiece (`bert`), Unigram (`t5`), `gemma4` (which sets its own pre)
and the other tokenizer models do not read the key, so they are never reported.

## Why is this bad?
The pre-tokenizer decides where words, numbers and punctuation split before BPE merges run.
With the wrong one the same text becomes different tokens than the model was trained on
(../shared/reference/quality-evidence.md §6). llama.cpp added the key on 2024-04-29 (commit
f4ab2a414, #6920) after Llama 3 GGUFs converted without it answered arithmetic wrongly
(issue #6914); Ollama-converted Llama 4 files with `pre = default` produce about 8-10 % more
tokens for the same prompt (ollama #17698). The evidence is these reports and llama.cpp's own
warning: no published perplexity delta for Llama 3 with the default regex was found.

## Example
`ggml-vocab-aquila.gguf` and `ggml-vocab-gpt-neox.gguf` (llama.cpp's own vocab files) are
`gpt2` with no `tokenizer.ggml.pre`.

## How to fix
Get a file converted with a llama.cpp newer than April 2024, or set the key in place
(gguf-py's gguf_new_metadata.py gained `--pre-tokenizer` for this, PR #7627) to the name
convert_hf_to_gguf.py gives the model's tokenizer (e.g. `llama-bpe` for Llama 3, `qwen2`).
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.facts.pretokenizers import DEFAULT_PRE, LLAMA_CPP_REVISION, SOURCE, is_known_pre, needs_pre
from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL501"
NAME = "pre-tokenizer-missing"
SEVERITY = "warning"

KEY = "tokenizer.ggml.pre"
FIX = ("Use a file converted with llama.cpp after April 2024, or set tokenizer.ggml.pre in place "
       "(gguf_new_metadata.py --pre-tokenizer NAME) to the name convert_hf_to_gguf.py gives this tokenizer.")


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    tok = model.tokenizer
    if model.format != "gguf" or not needs_pre(tok.model):
        return
    pre = tok.pre
    offset = model.meta_offset(KEY) or model.meta_offset("tokenizer.ggml.model")
    if pre is None or (isinstance(pre, str) and not pre.strip()):
        yield Finding(
            message=(f"BPE tokenizer ({tok.model}) without tokenizer.ggml.pre: llama.cpp falls back to the "
                     "GPT-2 pre-tokenizer and warns 'GENERATION QUALITY WILL BE DEGRADED'"),
            hint=FIX, location="tokenizer.ggml.model", offset=offset,
            data={"tokenizer_model": tok.model, "pre": None})
        return
    if not isinstance(pre, str):
        yield Finding(message=f"tokenizer.ggml.pre is a {type(pre).__name__}, not a string: llama.cpp cannot load it",
                      hint=FIX, location=KEY, offset=offset, severity="error", data={"pre": str(pre)[:64]})
        return
    if pre == DEFAULT_PRE:
        yield Finding(
            message=(f"BPE tokenizer ({tok.model}) with tokenizer.ggml.pre = 'default': the GPT-2 pre-tokenizer, "
                     "right only for GPT-2-era vocabularies; newer ones split text differently from training"),
            hint=FIX, location=KEY, offset=offset, data={"tokenizer_model": tok.model, "pre": pre})
        return
    if not is_known_pre(pre):
        yield Finding(
            message=(f"tokenizer.ggml.pre = {pre[:64]!r} is not a pre-tokenizer llama.cpp knows "
                     f"(at {LLAMA_CPP_REVISION}): llama.cpp refuses to load it with \"unknown pre-tokenizer type\""),
            hint=(f"If the name is a typo, fix it in place (gguf_new_metadata.py --pre-tokenizer NAME). If it is newer "
                  f"than llama.cpp {LLAMA_CPP_REVISION}, only a llama.cpp build that knows it loads this file."),
            location=KEY, offset=offset, severity="error",
            data={"tokenizer_model": tok.model, "pre": pre[:64], "known_list": SOURCE})
