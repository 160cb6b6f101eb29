"""The header is malformed: bytes that are present and wrong, as llama.cpp's loader judges them.

## What it does
Reports what the header walker found broken, and at which byte offset: a bad magic number,
GGUF version 0, a string or array past llama.cpp's limits (1 GiB, 2**30 elements), an empty
key, a tensor name of 64 bytes or more, more than four dimensions, negative dimensions or ones
whose product overflows, an unknown value type or an impossible tensor type id, duplicate keys
or tensor names, tensor data not packed in order at the alignment (misaligned, overlapping or
with gaps: ggml/src/gguf.cpp refuses all three), a bad `general.alignment`, or a safetensors
header that is not valid. A file that merely ends too early is QL901; an old or newer format
is QL905; what the loader accepts (non-UTF-8 strings) is at most QL907.
A mangled header can hold thousands of faults: the first 20 are listed, and the last of them
says how many more there are (in JSON and SARIF also as `data.unlisted_faults`).

## Why is this bad?
Runtimes trust these fields to allocate memory and compute offsets. A corrupt header makes
llama.cpp refuse the file, or, in tools that do not check, read past buffers: hostile GGUF
headers have been used against parsers. Either way the file is not the model it claims to be.

## Example
`string value of general.name declares 4,611,686,018,427,387,904 bytes but only 1,201 bytes
remain in the file (offset 88)`.

## How to fix
Download the file again from its source. If the fault persists, the file was written by a
broken tool: report it to the publisher and use another quant.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL902"
NAME = "corrupt-header"
SEVERITY = "error"
ALWAYS_RUN = True
MAX_FINDINGS = 20  # a mangled header can yield thousands of faults; the first ones say enough


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    corrupt = [p for p in model.problems if p.kind in ("corrupt", "unreadable")]
    listed = corrupt[:MAX_FINDINGS]
    unlisted = len(corrupt) - len(listed)
    for number, problem in enumerate(listed, start=1):
        where = f" (at byte {problem.offset})" if problem.offset is not None else ""
        data = dict(problem.details)
        message = f"{problem.message}{where}"
        if number == len(listed) and unlisted:
            # The rest are counted on the last listed fault, not reported as a finding of their
            # own: every finding is a fault a tool can count (SARIF, --statistics, baselines).
            message += f"; {unlisted} more header fault{'s' if unlisted > 1 else ''} not listed"
            data["unlisted_faults"] = unlisted
        yield Finding(
            message=message,
            hint=problem.hint or "Download the file again; if the fault stays, the file was written by a broken tool.",
            location=problem.location,
            offset=problem.offset,
            data=data,
        )
