"""A split GGUF set with shards missing or inconsistent.

## What it does
Lints a split set (`<name>-00001-of-00003.gguf` ...) as one model, whichever shard is named,
and reports what llama.cpp would refuse: a missing shard (above all the first one, the only one
with metadata), a shard whose `split.no` does not match its file name (`split.no` is 0-based,
the names are 1-based), a `split.count` that disagrees with the names, shards that disagree on
`split.tensors.count`, tensors found in two shards, and a union of tensors that differs from
`split.tensors.count`. A single file that says it is one shard of several (`split.count` > 1)
but was linted alone is reported too.

## Why is this bad?
llama.cpp loads a split model only from shard 1 and checks every shard: with one missing or
renumbered it stops with "corrupted model: %d tensors expected but %d found" or a missing-file
error (src/llama-model-loader.cpp; gguf-facts.md §5.3). Big models (most over 50 GB on Hugging
Face) are published split, and an interrupted multi-file download is a common way to end up
with an incomplete set.

## Example
`Qwen3-235B-A22B-Q4_K_M-00002-of-00003.gguf` absent from the folder: shard 2 of 3 is missing.

## How to fix
Download every shard (`huggingface-cli download ORG/REPO --include "*Q4_K_M*"`), keep their
original names, and point llama.cpp at the `-00001-of-` file. To get one file instead:
`llama-gguf-split --merge first-shard.gguf merged.gguf`.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL904"
NAME = "split-incomplete"
SEVERITY = "error"
ALWAYS_RUN = True


def _lone_shard(model: Model) -> Finding | None:
    """A file carrying split.* keys for a set of several, linted on its own."""
    split = model.file.split if model.file else None
    if not split or model.file is None or model.file.shards:
        return None
    count, no = split.get("split.count"), split.get("split.no")
    if not isinstance(count, int) or count <= 1:
        return None
    which = f"shard {no + 1} of {count}" if isinstance(no, int) else f"one of {count} shards"
    return Finding(
        message=f"this file is {which} of a split set (split.no {no}, split.count {count}) but was linted alone; "
                "its name does not follow the -0000N-of-0000M.gguf pattern, so its siblings were not found",
        hint="Give the shards their original names (<name>-00001-of-0000M.gguf) and lint the first one.",
        location="split.count", data={"split_no": no, "split_count": count},
    )


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    problems = [p for p in model.problems if p.kind == "split"]
    for problem in problems:
        missing = bool(problem.details.get("missing"))
        yield Finding(
            message=problem.message,
            hint=("Download the missing shard with its original name; llama.cpp will not load the set without it."
                  if missing else
                  "Re-download the set, or re-split it from one file with llama-gguf-split so the shards agree."),
            location=problem.location, offset=problem.offset, data=dict(problem.details),
        )
    lone = _lone_shard(model)
    if lone is not None:
        yield lone
