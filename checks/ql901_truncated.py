"""The file ends before the bytes it declares, in the header or the tensor data: an interrupted download.

## What it does
Compares where the header says the last tensor's data ends with the size of the file, and
reports one finding: the bytes expected, the bytes found and how much is missing. A file cut
inside the header itself is reported here too (an empty file, a 2-byte `GG`, a cut inside a
string, an array, a tensor info or the padding): the message names the byte where the file
ends and how many bytes, at least, are missing. A length or count past llama.cpp's own limits
is not a truncation but corruption (QL902).

## Why is this bad?
A truncated model loads partway and then crashes (llama.cpp: "tensor data is not within the
file bounds"), or, worse in some runtimes, runs with zero-filled weights. The seed's crash
checklist names "a bad model file" as a cause of mid-inference crashes; a partial download is
the most common one.

## Example
A 253,113,024-byte GGUF cut in half by a dropped connection:
`expected 253,113,024 bytes, found 126,556,512`. The same file cut at 1 MiB, inside its
vocabulary: `the file ends at byte 1,048,576, inside the header while reading array
'tokenizer.ggml.tokens' (262,144 strings) at offset 979: at least 1,055,375 more bytes are
missing`.

## How to fix
Download the file again (`huggingface-cli download` resumes partial files) and compare its
size and sha256 with the ones the repository lists.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL901"
NAME = "truncated"
SEVERITY = "error"
ALWAYS_RUN = True


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    for problem in model.problems:
        if problem.kind != "truncated":
            continue
        yield Finding(
            message=f"file is truncated: {problem.message}",
            hint=problem.hint or "Download the file again and check its size and sha256.",
            location=problem.location or (model.file.path if model.file else None),
            offset=problem.offset,
            data=dict(problem.details),
        )
        return  # one finding per file, never one per tensor
