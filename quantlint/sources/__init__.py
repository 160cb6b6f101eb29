"""Random-access byte sources and directory views: the only place quantlint does input.

Readers ask a ByteSource for bytes at an offset and a Directory for small files by name; they
never open files themselves. That is what lets the same reader walk a local file, a counted
file in a test, or a remote file over HTTP Range requests.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class SourceError(OSError):
    """The bytes could not be fetched (I/O error, network failure after retries)."""


@runtime_checkable
class ByteSource(Protocol):
    name: str  # file name or URL, for messages
    size: int | None  # total size in bytes, when known

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes from `offset`; fewer only at end of file."""
        ...

    def prefetch_hint(self, needed_end: int, estimated_end: int | None) -> int:
        """How far to read when a reader needs bytes up to `needed_end` and estimates that the
        structure it is walking ends near `estimated_end`. Local files read in small steps;
        remote sources use the estimate to avoid extra round trips."""
        ...


@runtime_checkable
class Directory(Protocol):
    """A model directory: a local folder, or a Hugging Face repo at a revision."""

    name: str

    def list_files(self) -> dict[str, int | None]:
        """Relative path -> size in bytes (None when unknown), for every file."""
        ...

    def read_small(self, path: str, limit: int) -> bytes | None:
        """The whole content of a small file, or None when absent. Raises SourceError when the
        file is larger than `limit` bytes (configs and cards are small; weights are not)."""
        ...

    def open(self, path: str) -> ByteSource:
        """A random-access source over one file in the directory."""
        ...
