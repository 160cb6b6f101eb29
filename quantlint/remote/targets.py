"""Resolve what the user typed into remote lint targets.

Accepted: `org/repo` (every model in the repo at its main revision), `org/repo@rev`,
`org/repo:path/in/repo.gguf`, `hf://org/repo[@rev][/path]`, Hub URLs
(`https://huggingface.co/org/repo/resolve/main/x.gguf`, `.../blob/...`) and any other
`https://` URL to a .gguf on a server that honours Range.

A repo is pinned once to a commit sha (one model-info request that also lists every file with
its size), so every file of a scan is read at the same revision and the scan cache can key on
it. With offline mode (--offline or HF_HUB_OFFLINE=1) the same targets come from the local
Hugging Face cache and are read as local files.
"""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from quantlint.remote import REPO_SPEC, HttpPolicy, TargetFailed, http_policy
from quantlint.targets import HF_MARKERS, Target, split_key

RETRY_STATUS = (408, 429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Spec:
    """A parsed remote target: a Hub repo (optionally one path in it) or a plain URL."""

    text: str
    repo: str | None = None
    revision: str | None = None
    path: str | None = None
    url: str | None = None


@dataclass
class Listing:
    repo: str
    sha: str
    files: dict[str, int | None] = field(default_factory=dict)  # path -> size
    gated: object = False


def parse_spec(text: str) -> Spec:
    """Parse without any network access. Raises TargetFailed for what is no remote target."""
    if text.startswith("hf://"):
        rest = text[len("hf://"):].strip("/")
        parts = rest.split("/", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise TargetFailed(f"{text}: an hf:// target is hf://ORG/REPO[@REVISION][/PATH]")
        name, _, rev = parts[1].partition("@")
        return Spec(text, repo=f"{parts[0]}/{name}", revision=unquote(rev) or None,
                    path=parts[2] if len(parts) > 2 and parts[2] else None)
    if text.startswith(("https://", "http://")):
        return _parse_url(text)
    m = REPO_SPEC.match(text)
    if not m:
        raise TargetFailed(f"{text}: not a file, a folder, ORG/REPO, hf://ORG/REPO/PATH or an https:// URL")
    return Spec(text, repo=m.group("repo"), revision=m.group("rev"), path=m.group("path"))


def _parse_url(text: str) -> Spec:
    from huggingface_hub import constants

    parts = urlsplit(text)
    hub = urlsplit(constants.ENDPOINT)
    segments = [unquote(s) for s in parts.path.strip("/").split("/")]
    on_hub = parts.netloc in (hub.netloc, "huggingface.co", "hf.co")
    if on_hub and len(segments) >= 5 and segments[2] in ("resolve", "blob"):
        return Spec(text, repo=f"{segments[0]}/{segments[1]}", revision=segments[3], path="/".join(segments[4:]))
    if on_hub and len(segments) == 2:
        return Spec(text, repo=f"{segments[0]}/{segments[1]}")
    return Spec(text, url=text)


def with_retries(call, what: str, policy: HttpPolicy | None = None):
    """Run a huggingface_hub API call that does not retry by itself (model_info): 429 waits for
    Retry-After, 5xx and network errors back off, then the error is raised."""
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils import httpx

    policy = policy or http_policy()
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except (HfHubHTTPError, httpx.TransportError) as exc:
            response = getattr(exc, "response", None)
            status = getattr(response, "status_code", None)
            retryable = status in RETRY_STATUS if isinstance(exc, HfHubHTTPError) else True
            if not retryable or attempt > policy.retries:
                raise
            wait = min(policy.max_wait, policy.base_wait * 2 ** (attempt - 1))
            after = response.headers.get("Retry-After") if response is not None else None
            if status == 429 and after and after.strip().isdigit():
                wait = int(after) + 1  # as huggingface_hub's http_backoff does
            time.sleep(wait)


def list_repo(repo: str, revision: str | None, policy: HttpPolicy | None = None) -> Listing:
    """Pin `revision` (default main) to a sha and list every file with its size: one request."""
    from huggingface_hub import HfApi

    from quantlint import __version__

    policy = policy or http_policy()
    api = HfApi(library_name="quantlint", library_version=__version__)
    where = f"{repo}@{revision}" if revision else repo
    try:
        info = with_retries(lambda: api.model_info(repo, revision=revision, files_metadata=True,
                                                   timeout=policy.timeout), where, policy)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a one-line target error
        from quantlint.remote.source import describe_http_error

        raise TargetFailed(describe_http_error(exc, where)) from None
    files = {s.rfilename: s.size for s in (info.siblings or [])}
    if files and all(size is None for size in files.values()):
        files = _tree_sizes(api, repo, info.sha, policy) or files
    return Listing(repo=repo, sha=info.sha or revision or "main", files=files, gated=info.gated)


def _tree_sizes(api, repo: str, sha: str, policy: HttpPolicy) -> dict[str, int | None]:
    from huggingface_hub.hf_api import RepoFile

    entries = with_retries(lambda: list(api.list_repo_tree(repo, revision=sha, recursive=True)), repo, policy)
    return {e.path: e.size for e in entries if isinstance(e, RepoFile)}


def targets_in_listing(listing: Listing, path: str | None = None, display: str | None = None) -> list[Target]:
    """Every model in the listing (or under / at `path`): GGUF files, shard sets, HF folders."""
    files = listing.files
    base = {"repo": listing.repo, "revision": listing.sha, "has_card": "README.md" in files}
    if path and path in files:
        chosen = [path]
        if split_key(posixpath.basename(path)):  # a named shard: lint its whole set
            stem = split_key(posixpath.basename(path))[0]
            folder = posixpath.dirname(path)
            chosen = [p for p in files if posixpath.dirname(p) == folder
                      and (k := split_key(posixpath.basename(p))) and k[0] == stem]
        elif not path.endswith(".gguf"):
            return [Target(display=display or f"{listing.repo}:{path}", kind="remote", path=path,
                           extra={**base, "mode": "file", "size": files[path]})]
        return _gguf_targets(listing, chosen, base, display)
    prefix = path.strip("/") + "/" if path else ""
    if path and not any(p.startswith(prefix) for p in files):
        raise TargetFailed(f"{listing.repo}: no file or folder {path!r} at revision {listing.sha[:12]}")
    inside = [p for p in files if p.startswith(prefix)]
    targets = _gguf_targets(listing, [p for p in inside if p.endswith(".gguf")], base, None)
    targets += _hf_dir_targets(listing, inside, base)
    if not targets:
        raise TargetFailed(f"{display or listing.repo}: no GGUF file or model folder (config.json, "
                           f"*.safetensors) at revision {listing.sha[:12]}")
    return sorted(targets, key=lambda t: t.display)


def _gguf_targets(listing: Listing, paths: list[str], base: dict, display: str | None) -> list[Target]:
    singles: list[Target] = []
    sets: dict[tuple[str, str, int], list[tuple[int, str]]] = {}
    for p in sorted(paths):
        key = split_key(posixpath.basename(p))
        if key is None:
            singles.append(Target(display=display or f"{listing.repo}:{p}", kind="remote", path=p,
                                  extra={**base, "mode": "gguf", "size": listing.files.get(p)}))
        else:
            sets.setdefault((posixpath.dirname(p), key[0], key[2]), []).append((key[1], p))
    for (folder, stem, count), members in sorted(sets.items()):
        members.sort()
        first = posixpath.join(folder, f"{stem}-00001-of-{count:05d}.gguf")
        shards = [p for _, p in members]
        singles.append(Target(display=display or f"{listing.repo}:{first}", kind="remote", path=first,
                              shards=shards, expected_shards=count,
                              extra={**base, "mode": "gguf-set", "sizes": {p: listing.files.get(p) for p in shards}}))
    return singles


def _hf_dir_targets(listing: Listing, paths: list[str], base: dict) -> list[Target]:
    folders: dict[str, list[str]] = {}
    for p in paths:
        folders.setdefault(posixpath.dirname(p), []).append(posixpath.basename(p))
    out = []
    for folder, names in sorted(folders.items()):
        if any(n.endswith(".gguf") for n in names):
            continue  # GGUF repos carry a tiny config.json: the GGUF files are the models
        if not (any(n in HF_MARKERS for n in names) or any(n.endswith(".safetensors") for n in names)):
            continue
        prefix = folder + "/" if folder else ""
        inner = {p[len(prefix):]: listing.files[p] for p in paths if p.startswith(prefix)}
        out.append(Target(display=f"{listing.repo}:{prefix}" if folder else listing.repo, kind="remote",
                          path=folder, extra={**base, "mode": "hf-dir", "files": inner}))
    return out


def error_target(text: str, message: str) -> Target:
    return Target(display=text, kind="remote", path=text, extra={"mode": "error", "error": message})


def resolve(text: str, offline: bool = False, policy: HttpPolicy | None = None) -> list[Target]:
    """Targets for one remote spec. Never raises: a failure is an error target."""
    try:
        spec = parse_spec(text)
        if spec.url is not None:
            if offline:
                raise TargetFailed(f"{text}: offline mode is on; a plain URL cannot come from the Hugging Face cache")
            return [Target(display=text, kind="remote", path=spec.url, extra={"mode": "url"})]
        if offline:
            return resolve_offline(spec)
        listing = list_repo(spec.repo, spec.revision, policy)
        display = text if spec.path and spec.path.endswith(".gguf") else None
        return targets_in_listing(listing, spec.path, display)
    except TargetFailed as exc:
        return [error_target(text, str(exc))]


def resolve_offline(spec: Spec) -> list[Target]:
    """The spec's models from the local Hugging Face cache, read as local files. No network."""
    from pathlib import Path

    from huggingface_hub import constants

    from quantlint.targets import _search_dir, expand

    repo_dir = Path(constants.HF_HUB_CACHE) / ("models--" + spec.repo.replace("/", "--"))
    revision = spec.revision or "main"
    ref = repo_dir / "refs" / revision
    sha = ref.read_text().strip() if ref.is_file() else revision
    snapshot = repo_dir / "snapshots" / sha
    where = f"{spec.repo}@{revision}" if spec.revision else spec.repo
    if not snapshot.is_dir():
        raise TargetFailed(f"{where}: not in the local Hugging Face cache ({constants.HF_HUB_CACHE}) "
                           "and offline mode is on")
    if spec.path:
        found = snapshot / spec.path
        if not found.exists():
            raise TargetFailed(f"{where}: {spec.path} is not in the cached snapshot {sha[:12]} and offline mode is on")
        targets = _search_dir(found) if found.is_dir() else expand([str(found)])
    else:
        targets = _search_dir(snapshot)
    if not targets:
        raise TargetFailed(f"{where}: the cached snapshot {sha[:12]} holds no GGUF file or model folder")
    for t in targets:
        rel = Path(t.path).relative_to(snapshot).as_posix()
        t.display = spec.text if spec.path and len(targets) == 1 else (f"{spec.repo}:{rel}" if rel != "." else spec.repo)
        t.extra.update({"repo": spec.repo, "revision": sha, "offline": True})
    return targets
