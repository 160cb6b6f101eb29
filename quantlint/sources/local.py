"""Local files and folders as byte sources (os.pread: no seek state, no mmap of the whole file)."""

from __future__ import annotations

import os

from quantlint.sources import SourceError

LOCAL_STEP = 1 << 20  # read headers in 1 MiB steps: at most 1 MiB past the header end


class LocalFileSource:
    """One local file, read with os.pread."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.name = str(path)
        try:
            self._fd = os.open(self.path, os.O_RDONLY)
            self.size: int | None = os.fstat(self._fd).st_size
        except OSError as exc:
            raise SourceError(f"{self.name}: cannot open: {exc.strerror or exc}") from exc
        self.bytes_read = 0
        self.reads = 0

    def read_at(self, offset: int, length: int) -> bytes:
        if length <= 0 or offset < 0:
            return b""
        try:
            data = os.pread(self._fd, length, offset)
        except OSError as exc:
            raise SourceError(f"{self.name}: read failed at byte {offset}: {exc.strerror or exc}") from exc
        self.bytes_read += len(data)
        self.reads += 1
        return data

    def prefetch_hint(self, needed_end: int, estimated_end: int | None) -> int:
        # Local reads are cheap, so never guess: at most LOCAL_STEP past what the walker needs,
        # which keeps the promise of reading the header plus 1 MiB at most.
        return needed_end + LOCAL_STEP

    def close(self) -> None:
        # Once only: a second os.close() (here or from __del__) would close whatever file or
        # socket has since been given the same descriptor number.
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is None:
            return
        try:
            os.close(fd)
        except OSError:
            pass

    def __enter__(self) -> "LocalFileSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a source left open by a failed read must not leak the fd
        self.close()


class LocalDirectory:
    """A local model folder. Lists files (not recursing into hidden folders) and reads configs."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from pathlib import Path  # here: a GGUF lint never needs pathlib (~2 ms of start-up)

        self.path = Path(path)
        self.name = str(path)

    def list_files(self) -> dict[str, int | None]:
        from pathlib import Path

        out: dict[str, int | None] = {}
        for root, dirs, files in os.walk(self.path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for fname in sorted(files):
                full = Path(root) / fname
                try:
                    size = full.stat().st_size
                except OSError:
                    size = None
                out[full.relative_to(self.path).as_posix()] = size
        return out

    def read_small(self, path: str, limit: int) -> bytes | None:
        full = self.path / path
        try:
            size = full.stat().st_size
        except OSError:
            return None
        if not full.is_file():
            return None
        if size > limit:
            raise SourceError(f"{full}: {size} bytes is more than the {limit}-byte limit for a config file")
        try:
            return full.read_bytes()
        except OSError as exc:
            raise SourceError(f"{full}: cannot read: {exc.strerror or exc}") from exc

    def open(self, path: str) -> LocalFileSource:
        return LocalFileSource(self.path / path)
