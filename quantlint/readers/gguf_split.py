"""Split GGUF sets (gguf-split, `llama-quantize --keep-split`): many shards, one model.

Facts (gguf-facts.md §5.3, §11.7): shard files are named `<stem>-%05d-of-%05d.gguf` with 1-based
numbers; only the first shard carries the model's metadata, later shards hold just `split.no`
(UINT16, **0-based**), `split.count` (UINT16) and `split.tensors.count` (INT32, the total over
all shards) plus their own tensors. llama.cpp loads a set only from shard 1, checks each
shard's `split.no`, and fails with "corrupted model: %d tensors expected but %d found" when the
union differs from `split.tensors.count`.

`read_gguf_set` walks every present shard's header, merges the tensors into one Model (the
first shard's metadata, every tensor with the shard it lives in), and records what is missing
or inconsistent as ReadProblems of kind "split" (QL904 reports them). A split problem never
makes the model unreadable: the quality checks still run on what is there.
"""

from __future__ import annotations

import os
from dataclasses import replace

from quantlint.model import FileFacts, Model, ReadProblem
from quantlint.readers import read_local_file
from quantlint.targets import Target, split_key

KIND = "split"
SPLIT_KEYS = ("split.no", "split.count", "split.tensors.count")


def _int(model: Model, key: str) -> int | None:
    value = model.meta(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _shard_name(stem: str, no: int, count: int) -> str:
    return f"{stem}-{no:05d}-of-{count:05d}.gguf"


def _present(target: Target) -> tuple[str, int, dict[int, str]]:
    """(stem, shard count from the names, 1-based number -> path) for the shards on disk."""
    shards: dict[int, str] = {}
    stem, count = "", target.expected_shards or 0
    for path in target.shards or [target.path]:
        key = split_key(os.path.basename(path))
        if key is None or not os.path.exists(path):
            continue
        stem, no, count = key
        shards[no] = path
    if not stem:
        key = split_key(os.path.basename(target.path))
        if key:
            stem, _, count = key
    return stem, count, shards


def _problem(message: str, location: str | None, **details: object) -> ReadProblem:
    return ReadProblem(kind=KIND, message=message, location=location, details=dict(details))


def _header_problems(no: int, name: str, shard: Model, count: int, total: int | None) -> list[ReadProblem]:
    """What one shard's own split.* keys say against its file name and the first shard."""
    if shard.format != "gguf" or not shard.readable:
        return []  # an unreadable shard is reported by its own problem (QL902/QL903), not twice
    if not any(k in shard.metadata for k in SPLIT_KEYS):
        return [_problem(f"{name} has no split.* keys: it is not a shard of this set (or was rewritten)", name, shard=no)]
    out = []
    split_no, split_count, tensors = (_int(shard, k) for k in SPLIT_KEYS)
    if split_no is not None and split_no != no - 1:
        out.append(_problem(
            f"{name}: split.no is {split_no}, but the file name says shard {no} (split.no is 0-based, so {no - 1} was expected)",
            name, shard=no, split_no=split_no, expected=no - 1))
    if split_count is not None and split_count != count:
        out.append(_problem(f"{name}: split.count is {split_count}, but the file names say {count} shards",
                            name, shard=no, split_count=split_count, expected=count))
    if tensors is not None and total is not None and tensors != total:
        out.append(_problem(f"{name}: split.tensors.count is {tensors}, the first shard says {total}",
                            name, shard=no, tensors_count=tensors, expected=total))
    return out


def _with_location(problems: list[ReadProblem], name: str) -> list[ReadProblem]:
    return [p if p.location else replace(p, location=name) for p in problems]


def read_gguf_set(target: Target) -> Model:
    """One Model for a whole split set, whichever shard the user named. Never raises for bad content."""
    stem, count, present = _present(target)
    if not present:
        model = Model(format="unknown", target=target.display)
        model.file = FileFacts(path=target.path)
        model.problems.append(ReadProblem(kind="unreadable", message=f"{target.path}: no shard of this split set was found"))
        return model
    shards = {no: read_local_file(path, target.display) for no, path in sorted(present.items())}
    first_no = 1 if 1 in shards else min(shards)
    model = shards[first_no]
    model.target = target.display
    total = _int(model, "split.tensors.count")
    count = count or _int(model, "split.count") or max(shards)

    problems: list[ReadProblem] = []
    tensors = []
    for no, shard in shards.items():
        name = os.path.basename(present[no])
        tensors.extend(replace(t, file=name) for t in shard.tensors)
        problems.extend(_with_location(shard.problems, name))
        problems.extend(_header_problems(no, name, shard, count, total))

    missing = [n for n in range(1, count + 1) if n not in shards]
    for n in missing:
        name = _shard_name(stem, n, count)
        extra = " (it is the one that holds the model's metadata: architecture, file type, tokenizer)" if n == 1 else ""
        problems.append(_problem(f"shard {n} of {count} is missing: {name}{extra}", name, shard=n, missing=True))
    if 1 not in shards:
        model.notes.append("the first shard is missing, so this model has no metadata (llama.cpp only loads a set from shard 1)")

    names = [t.name for t in tensors]
    duplicates = sorted({n for n in names if names.count(n) > 1}) if len(set(names)) != len(names) else []
    if duplicates:
        problems.append(_problem(f"{len(duplicates)} tensors appear in more than one shard, e.g. {duplicates[0]}",
                                 duplicates[0], duplicates=len(duplicates)))
    readable = all(s.format == "gguf" and s.readable for s in shards.values())
    if not missing and readable and total is not None and total != len(tensors):
        problems.append(_problem(
            f"split.tensors.count says {total} tensors, the {len(shards)} shards hold {len(tensors)} "
            f"(llama.cpp: \"corrupted model: {total} tensors expected but {len(tensors)} found\")",
            os.path.basename(present[first_no]), expected=total, found=len(tensors)))

    model.tensors = tensors
    model.problems = problems
    if model.format == "gguf":
        from quantlint.readers.gguf_model import derive_tensor_facts

        derive_tensor_facts(model)
    if model.file is not None:
        model.file.shards = [present[n] for n in sorted(present)]
        sizes = [s.file.size for s in shards.values() if s.file is not None and s.file.size is not None]
        model.file.size = sum(sizes) if sizes else model.file.size
        model.file.bytes_read = sum(s.file.bytes_read or 0 for s in shards.values() if s.file is not None)
        model.file.split = {**(model.file.split or {}), "shards_expected": count, "shards_present": len(shards),
                            "tensors_found": len(tensors)}
    return model
