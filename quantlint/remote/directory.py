"""RemoteDirectory: a Hugging Face repo folder at a pinned revision, as a Directory.

The file list and sizes come from the one model-info request that pinned the revision, so
listing costs nothing more. Configs and cards are small whole-file reads; weight files are
opened as RemoteFileSources whose first read (64 KiB for safetensors) covers a typical JSON
header, so a safetensors header costs one request and no weight file is downloaded.
"""

from __future__ import annotations

import posixpath

from quantlint.remote import HttpPolicy
from quantlint.remote.source import GGUF_FIRST_READ, SAFETENSORS_FIRST_READ, RemoteFileSource
from quantlint.sources import SourceError


def hub_url(repo: str, path: str, revision: str) -> str:
    from huggingface_hub import hf_hub_url

    return hf_hub_url(repo, path, revision=revision)


class RemoteDirectory:
    def __init__(self, repo: str, revision: str, folder: str, files: dict[str, int | None],
                 policy: HttpPolicy | None = None) -> None:
        self.repo = repo
        self.revision = revision
        self.folder = folder.strip("/")
        self.files = dict(files)  # relative to the folder
        self.policy = policy
        self.name = f"{repo}:{self.folder}/" if self.folder else repo
        self.sources: list[RemoteFileSource] = []  # every source opened, for request counts

    def _full(self, path: str) -> str:
        return posixpath.join(self.folder, path) if self.folder else path

    def list_files(self) -> dict[str, int | None]:
        return dict(self.files)

    def read_small(self, path: str, limit: int) -> bytes | None:
        if path not in self.files:
            return None
        size = self.files[path]
        if size is not None and size > limit:
            raise SourceError(f"{self.name}{path}: {size} bytes is more than the {limit}-byte limit for a config file")
        if size == 0:
            return b""
        source = self.open(path, first_read=(size or limit))
        data = source.read_at(0, size or limit)
        if source.failure:
            raise SourceError(source.failure)
        if size is None and len(data) >= limit:
            raise SourceError(f"{self.name}{path}: more than the {limit}-byte limit for a config file")
        return data

    def open(self, path: str, first_read: int | None = None) -> RemoteFileSource:
        if first_read is None:
            first_read = SAFETENSORS_FIRST_READ if path.endswith(".safetensors") else GGUF_FIRST_READ
        full = self._full(path)
        source = RemoteFileSource(hub_url(self.repo, full, self.revision), name=f"{self.repo}:{full}",
                                  size=self.files.get(path), first_read=first_read, policy=self.policy)
        self.sources.append(source)
        return source

    @property
    def failure(self) -> str | None:
        return next((s.failure for s in self.sources if s.failure), None)
