"""Git LFS pointer files: what a clone without `git lfs pull` holds in place of a model.

Spec (git-lfs docs/spec.md): UTF-8 text under 1024 bytes, first line
`version https://git-lfs.github.com/spec/v1` (or the pre-release hawser URL), then sorted
`key value` lines, `oid sha256:<hex>` and `size <bytes>` among them.
"""

from __future__ import annotations

from dataclasses import dataclass

POINTER_MAX_BYTES = 1024
VERSION_LINES = (
    b"version https://git-lfs.github.com/spec/v1",
    b"version https://hawser.github.com/spec/v1",
)


@dataclass(frozen=True)
class LfsPointer:
    oid: str | None
    size: int | None


def parse_lfs_pointer(head: bytes, file_size: int | None) -> LfsPointer | None:
    """An LfsPointer when `head` (the first bytes of the file) is a pointer, else None."""
    if file_size is not None and file_size >= POINTER_MAX_BYTES:
        return None
    if not any(head.startswith(line) for line in VERSION_LINES):
        return None
    oid = None
    size = None
    for line in head.decode("utf-8", errors="replace").splitlines()[1:]:
        key, _, value = line.partition(" ")
        if key == "oid":
            oid = value.strip()
        elif key == "size" and value.strip().isdigit():
            size = int(value.strip())
    return LfsPointer(oid, size)
