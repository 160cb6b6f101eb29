"""A target that is no model quantlint knows, a format too old or too new, or one the chosen runtime cannot load.

## What it does
Reports a file or folder in which quantlint found no model it can read (not GGUF, not
safetensors, no Hugging Face config); a model in a format llama.cpp no longer loads: GGUF
version 1, or the pre-GGUF ggml / ggmf / ggjt `.bin` files of 2023 (magic bytes `lmgg`,
`fmgg`, `tjgg` on disk), found by magic even in a folder; a GGUF version newer than 3; and a
tensor whose GGML type id quantlint does not know (a newer llama.cpp's type) or that llama.cpp
removed (ids 4, 5, 31-33, 36-38); and a metadata array of arrays, which the GGUF spec allows
but llama.cpp's loader refuses. With `--runtime`, it also reports a model whose format that
runtime cannot load at all, for example a GGUF given to ExLlamaV2.

## Why is this bad?
A model in the wrong format fails at load time with errors that rarely say why ("GGUFv1 is
no longer supported", "invalid magic characters", "tensor has invalid ggml type"). The seed:
"ExLlamaV2 load failures trace to wrong model format (needs EXL2 or EXL3, not GGUF) ...
The exl2 format is non-negotiable."

## Example
`quantlint llama-7b.ggmlv3.q4_0.bin`: a pre-GGUF ggjt v3 model file; re-convert it.
`quantlint --runtime exllamav2 model-Q4_K_M.gguf`: ExLlamaV2 loads EXL2 (and GPTQ), not GGUF.

## How to fix
Old files: re-convert from the original Hugging Face weights with llama.cpp's
convert_hf_to_gguf.py (or, for LLaMA-family ggml/ggjt files, convert_llama_ggml_to_gguf.py
--input FILE.bin --output FILE.gguf), then re-quantize. Unknown tensor types: update quantlint.
Runtime mismatch: pick a quant made for your runtime: GGUF for llama.cpp and Ollama, EXL2/EXL3
for ExLlamaV2/V3, AWQ/GPTQ/compressed-tensors/FP8 for vLLM and transformers.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.facts.runtimes import RUNTIME_FORMATS
from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL905"
NAME = "unsupported-format"
SEVERITY = "error"
ALWAYS_RUN = True


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    for problem in model.problems:
        if problem.kind == "unsupported":
            yield Finding(message=problem.message, hint=problem.hint, location=problem.location, offset=problem.offset,
                          data=dict(problem.details))
            return
    runtime = ctx.settings.plan.runtime
    if not runtime or not model.readable or model.format in ("unknown", "lfs-pointer"):
        return
    accepted = RUNTIME_FORMATS.get(runtime)
    if accepted is None or model.format in accepted:
        return
    fits = sorted(r for r, formats in RUNTIME_FORMATS.items() if model.format in formats)
    yield Finding(
        message=f"{runtime} cannot load {model.format.upper()} models; it loads {', '.join(sorted(f.upper() for f in accepted))}",
        hint=(f"Use a {' or '.join(sorted(f.upper() for f in accepted))} quant of this model with {runtime}"
              + (f", or run this file with {', '.join(fits)}." if fits else ".")),
        location=model.file.path if model.file else None,
        data={"runtime": runtime, "format": model.format},
    )
