"""Turn what the user typed into lint targets: files, model folders, split GGUF sets.

A directory is searched for models: every *.gguf file (split shards grouped into one set),
every folder in Hugging Face layout (config.json, quantize_config.json or *.safetensors), and
every *.bin file whose first four bytes are a pre-GGUF ggml/ggmf/ggjt magic (2023 model files
llama.cpp no longer loads: they are reported, QL905, rather than silently skipped).
Remote targets (org/repo, hf://, https://) are resolved by quantlint.remote when present.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pathlib loads only for folders and split sets: one file never pays its ~2 ms
    from pathlib import Path

SPLIT_NAME = re.compile(r"^(?P<stem>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")
# measurement.json alone is an EXL2 repo's main branch (one bpw per branch): still worth reading.
HF_MARKERS = ("config.json", "quantize_config.json", "quant_config.json", "quantization_config.json", "measurement.json")
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "node_modules", ".cache"}


@dataclass
class Target:
    """One thing to lint, as found from the command line's paths and repo names."""

    display: str  # as given, or the path found inside a directory
    kind: str  # "file" | "gguf-set" | "hf-dir" | "remote" | "missing"
    path: str
    shards: list[str] = field(default_factory=list)  # for gguf-set: every shard present
    expected_shards: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


def is_hf_dir(path: Path) -> bool:
    try:
        names = set(os.listdir(path))
    except OSError:
        return False
    if any(m in names for m in HF_MARKERS):
        return True
    return any(n.endswith(".safetensors") for n in names)


def split_key(name: str) -> tuple[str, int, int] | None:
    """(set stem, 1-based shard number, shard count) for a -0000N-of-0000M.gguf name."""
    m = SPLIT_NAME.match(name)
    if not m:
        return None
    return m.group("stem"), int(m.group("no")), int(m.group("count"))


def group_gguf_files(paths: list[Path], display_base: Path | None = None) -> list[Target]:
    """One target per single file; one per split set, whichever shards are present."""
    singles: list[Target] = []
    sets: dict[tuple[str, str, int], list[tuple[int, Path]]] = {}
    for p in sorted(paths):
        key = split_key(p.name)
        if key is None:
            singles.append(Target(display=_display(p, display_base), kind="file", path=str(p)))
            continue
        stem, no, count = key
        sets.setdefault((str(p.parent), stem, count), []).append((no, p))
    targets = list(singles)
    for (parent, stem, count), members in sorted(sets.items()):
        members.sort()
        first = _path(parent) / f"{stem}-00001-of-{count:05d}.gguf"
        shards = [str(p) for _, p in members]
        targets.append(Target(display=_display(first, display_base), kind="gguf-set", path=str(first),
                              shards=shards, expected_shards=count))
    return sorted(targets, key=lambda t: t.display)


def _path(raw: str) -> Path:
    from pathlib import Path

    return Path(raw)


def _display(path: Path, base: Path | None) -> str:
    return str(path) if base is None else str(path)


def expand(paths: list[str], offline: bool | None = None) -> list[Target]:
    """Targets for what the user typed. `offline` (default: HF_HUB_OFFLINE) makes remote
    targets come from the local Hugging Face cache."""
    targets: list[Target] = []
    loose_gguf: list[Path] = []
    for raw in paths:
        if os.path.isdir(raw):
            targets.extend(_search_dir(_path(raw)))
        elif os.path.exists(raw):
            name = os.path.basename(raw)
            suffix = os.path.splitext(name)[1]
            if suffix == ".gguf" and split_key(name):
                # A shard named on the command line: lint its whole set (siblings included).
                path = _path(raw)
                siblings = [p for p in path.parent.glob("*.gguf") if (k := split_key(p.name)) and k[0] == split_key(path.name)[0]]
                loose_gguf.extend(siblings or [path])
            elif name in HF_MARKERS or suffix == ".safetensors":
                # pre-commit passes config.json / *.safetensors files: lint their folder once.
                parent = _path(raw).parent
                if not any(t.kind == "hf-dir" and t.path == str(parent) for t in targets):
                    targets.append(Target(display=str(parent), kind="hf-dir", path=str(parent)))
            else:
                targets.append(Target(display=raw, kind="file", path=raw))
        elif _looks_remote(raw):
            targets.extend(_remote_targets(raw, offline))
        else:
            targets.append(Target(display=raw, kind="missing", path=raw))
    if loose_gguf:
        seen = set()
        unique = [p for p in loose_gguf if not (str(p) in seen or seen.add(str(p)))]
        targets.extend(group_gguf_files(unique))
    return targets


def _looks_remote(raw: str) -> bool:
    from quantlint.remote import looks_remote  # stdlib only: huggingface_hub loads on use

    return looks_remote(raw)


def _remote_targets(raw: str, offline: bool | None) -> list[Target]:
    from quantlint.remote import offline_default
    from quantlint.remote.targets import resolve

    return resolve(raw, offline=offline_default() if offline is None else offline)


def _legacy_bins(directory: Path, filenames: list[str]) -> list[Target]:
    """*.bin files that start with a pre-GGUF magic: four bytes read from each, nothing more."""
    from quantlint.readers.legacy_ggml import LEGACY_MAGICS

    found = []
    for name in sorted(f for f in filenames if f.endswith(".bin")):
        path = directory / name
        try:
            with open(path, "rb") as f:
                magic = f.read(4)
        except OSError:
            continue
        if magic in LEGACY_MAGICS:
            found.append(Target(display=str(path), kind="file", path=str(path)))
    return found


def _search_dir(root: Path) -> list[Target]:
    if is_hf_dir(root) and not any(root.glob("*.gguf")):
        return [Target(display=str(root), kind="hf-dir", path=str(root)), *_legacy_bins(root, os.listdir(root))]
    found: list[Target] = []
    gguf_files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        here = _path(dirpath)
        ggufs = [here / f for f in filenames if f.endswith(".gguf")]
        gguf_files.extend(ggufs)
        found.extend(_legacy_bins(here, filenames))
        if not ggufs and is_hf_dir(here):
            found.append(Target(display=str(here), kind="hf-dir", path=str(here)))
            dirnames[:] = []  # a model folder's subfolders belong to it
    found.extend(group_gguf_files(gguf_files))
    return found
