"""A Git LFS pointer file sits where a model should be.

## What it does
Recognises the small text file Git LFS leaves in a clone when the real content was not
fetched (`version https://git-lfs.github.com/spec/v1`, `oid sha256:...`, `size ...`) and
reports it, with the size of the real file.

## Why is this bad?
Runtimes fail with "invalid magic" or similar, and the cause is easy to miss: the file has the
right name. CI checkouts (`actions/checkout` has `lfs: false` by default) and
`GIT_LFS_SKIP_SMUDGE=1` clones of Hugging Face repos are full of pointers.

## Example
`model-Q4_K_M.gguf` is 134 bytes and starts with `version https://git-lfs.github.com/spec/v1`.

## How to fix
Fetch the real file: `git lfs pull --include="model-Q4_K_M.gguf"`, or in CI
`actions/checkout` with `lfs: true`. To check a published file without downloading it, lint
it remotely: `quantlint ORG/REPO:model-Q4_K_M.gguf`.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL903"
NAME = "lfs-pointer"
SEVERITY = "error"
ALWAYS_RUN = True


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    for problem in model.problems:
        if problem.kind == "lfs-pointer":
            yield Finding(
                message=problem.message,
                hint=problem.hint,
                location=problem.location or (model.file.path if model.file else None),
                offset=0,
                data=dict(problem.details),
            )
