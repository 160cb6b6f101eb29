"""read_remote_target: one remote Target (as resolved by quantlint.remote.targets) -> Model.

The readers are the local ones, fed with remote byte sources: the same file gives the same
Model whether it is linted on disk or through the Hub. A network failure (after retries) is a
TargetFailed, i.e. a per-target error, never a QL9xx finding about the file's content.
"""

from __future__ import annotations

import posixpath
import threading
from dataclasses import replace
from typing import Any

from quantlint.model import Model, ReadProblem
from quantlint.remote import TargetFailed
from quantlint.remote.directory import RemoteDirectory, hub_url
from quantlint.remote.source import RemoteFileSource, quiet_hub_logs
from quantlint.targets import Target, split_key

CARD_LIMIT = 1 << 20
_CARDS: dict[tuple[str, str, str], str | None] = {}  # (repo, sha, path) -> card text, per process
_CARDS_LOCK = threading.Lock()


def read_remote_target(target: Target, settings: Any = None) -> Model:
    extra = target.extra
    mode = extra.get("mode")
    if mode == "error":
        raise TargetFailed(str(extra.get("error")))
    quiet_hub_logs()
    if mode == "url":
        model = _read_file(RemoteFileSource(target.path, name=target.path), target.path, target.display)
        return model
    repo, sha = str(extra["repo"]), str(extra["revision"])
    if mode == "gguf-set":
        model = _read_set(target, repo, sha)
    elif mode == "hf-dir":
        model = _read_dir(target, repo, sha)
    else:
        source = RemoteFileSource(hub_url(repo, target.path, sha), name=f"{repo}:{target.path}", size=extra.get("size"))
        model = _read_file(source, target.path, target.display)
    model.identity.repo = repo
    if extra.get("has_card"):
        _attach_card(model, repo, sha, target)
    return model


def _read_file(source: RemoteFileSource, path: str, display: str) -> Model:
    from quantlint.readers import read_source

    model = read_source(source, path, display)
    if source.failure:
        raise TargetFailed(source.failure)
    if model.file is not None:
        model.file.bytes_read = source.bytes_fetched  # what crossed the network, sniff included
    return model


def _read_set(target: Target, repo: str, sha: str) -> Model:
    """A split GGUF set: every shard's header (tensors live in all of them)."""
    sizes: dict[str, int | None] = dict(target.extra.get("sizes") or {})
    sources = {p: RemoteFileSource(hub_url(repo, p, sha), name=f"{repo}:{p}", size=sizes.get(p)) for p in target.shards}
    try:
        from quantlint.readers.gguf_split import read_gguf_set_sources  # type: ignore[attr-defined]
    except ImportError:
        read_gguf_set_sources = None
    if read_gguf_set_sources is not None:
        model = read_gguf_set_sources(sources, target)
        failure = next((s.failure for s in sources.values() if s.failure), None)
        if failure:
            raise TargetFailed(failure)
        return model
    # Without a source-based split reader: the first shard's metadata, every shard's tensors.
    models = [_read_file(sources[p], p, target.display) for p in target.shards]
    model = models[0]
    model.tensors = [replace(t, file=posixpath.basename(p)) for p, m in zip(target.shards, models) for t in m.tensors]
    model.problems = [p for m in models for p in m.problems]
    count = target.expected_shards or len(target.shards)
    present = {k[1] for p in target.shards if (k := split_key(posixpath.basename(p)))}
    for n in sorted(set(range(1, count + 1)) - present):
        model.problems.append(ReadProblem(kind="split", message=f"shard {n} of {count} is missing from the repo",
                                          details={"shard": n, "missing": True}))
    if model.format == "gguf":
        from quantlint.readers.gguf_model import derive_tensor_facts

        derive_tensor_facts(model)
    if model.file is not None:
        model.file.shards = list(target.shards)
        sizes = [m.file.size for m in models if m.file is not None and m.file.size is not None]
        model.file.size = sum(sizes) if sizes else model.file.size
        model.file.bytes_read = sum(s.bytes_fetched for s in sources.values())
    return model


def _read_dir(target: Target, repo: str, sha: str) -> Model:
    directory = RemoteDirectory(repo, sha, target.path, dict(target.extra.get("files") or {}))
    try:
        from quantlint.readers.hf_dir import read_directory
    except ImportError:  # pragma: no cover - only before the HF folder reader exists
        model = Model(format="unknown", target=target.display)
        model.problems.append(ReadProblem(kind="unsupported", message="Hugging Face folders are not supported yet"))
        return model
    model = read_directory(directory, target.display)
    if directory.failure:
        raise TargetFailed(directory.failure)
    return model


def _card_text(repo: str, sha: str, path: str) -> str | None:
    key = (repo, sha, path)
    with _CARDS_LOCK:
        if key in _CARDS:
            return _CARDS[key]
    source = RemoteFileSource(hub_url(repo, path, sha), name=f"{repo}:{path}", first_read=CARD_LIMIT)
    try:
        raw = source.read_at(0, CARD_LIMIT)
        text: str | None = raw.decode("utf-8-sig", errors="replace")
    except Exception:  # noqa: BLE001 - the card is optional: a model without one still lints
        text = None
    with _CARDS_LOCK:
        _CARDS[key] = text
    return text


def _attach_card(model: Model, repo: str, sha: str, target: Target) -> None:
    if model.card is not None:
        return  # the folder reader found one already
    try:
        from quantlint.readers.card import attach_card_from_text  # type: ignore[import-not-found]
    except ImportError:
        return
    text = _card_text(repo, sha, "README.md")
    if text:
        attach_card_from_text(model, text, f"{repo}:README.md")
