"""The header holds something llama.cpp loads but no well-behaved writer produces.

## What it does
Reports header values that llama.cpp's loader (ggml/src/gguf.cpp) accepts as they are, but
that break the conventions every converter follows: a metadata key, string value or tensor
name whose bytes are not valid UTF-8, or a key longer than the 65,535 bytes the GGUF spec
allows. One finding per kind of oddity, with the byte offset of the first one.

## Why is this bad?
The file loads, so this is not corruption (QL902 is for that), and llama.cpp's own
tests/test-gguf.cpp writes random bytes as strings and expects them back. But tools built on
gguf-py decode strings strictly and fail on these files (`UnicodeDecodeError`), a chat
template or token list with broken bytes renders garbled text, and a writer that produced
them may have produced other damage.

## Example
`the string value of general.name is not valid UTF-8 (at byte 88)`.

## How to fix
Rewrite the value with valid UTF-8 (gguf-py's `gguf-set-metadata`, or re-convert with
llama.cpp's convert_hf_to_gguf.py). If the bytes are in the tokenizer, re-convert from the
original tokenizer files.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL907"
NAME = "header-oddity"
SEVERITY = "warning"
ALWAYS_RUN = True


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    by_kind: dict[str, list] = {}
    for problem in model.problems:
        if problem.kind == "oddity":
            by_kind.setdefault(problem.details.get("oddity", "other"), []).append(problem)
    for problems in by_kind.values():
        first = problems[0]
        more = f" (and {len(problems) - 1} more like it)" if len(problems) > 1 else ""
        where = f" (at byte {first.offset})" if first.offset is not None else ""
        yield Finding(
            message=f"{first.message}{where}{more}; llama.cpp loads it as it is",
            hint=first.hint or "Rewrite the value as valid UTF-8 (gguf-set-metadata) or re-convert the model.",
            location=first.location,
            offset=first.offset,
            data={"count": len(problems), **first.details},
        )
