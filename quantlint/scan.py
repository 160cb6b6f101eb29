"""`quantlint scan`: lint many Hugging Face repos at once, concurrently, resumably.

Flow: specs (arguments, a file of repo ids, a Hub query) -> this machine's shard of them ->
targets (each repo pinned to a sha and listed, concurrently) -> one job per file or shard set
on a thread pool (the work is network-bound: threads overlap the round trips) -> a result per
file, streamed as JSON lines or collected into a table sorted by risk.

Resume: a finished result is stored in the user cache dir keyed by (repo, revision sha, path,
settings fingerprint), so a rerun reads only what changed; the repo listing is still asked for,
which is how a changed repo is noticed. Failed targets are never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import zlib
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from quantlint import __version__
from quantlint.targets import Target

DEFAULT_JOBS = 16  # network-bound: 16 requests in flight hide a 50-100 ms round trip well
SEVERITY_RANK = {"error": 3, "warning": 2, "info": 1}
SORT_KEYS = ("risk", "name", "bpw", "quant")


@dataclass
class ScanOptions:
    specs: list[str] = field(default_factory=list)
    from_file: str | None = None
    author: str | None = None
    search: str | None = None
    library: str | None = None
    limit: int | None = None
    jobs: int = DEFAULT_JOBS
    shard: tuple[int, int] | None = None  # (K, N), 1-based K
    sort: str = "risk"
    output_format: str = "table"  # table | json | json-lines
    cache_dir: str | None = None
    use_cache: bool = True
    progress: bool | None = None  # None: on when stderr is a terminal and not CI / pre-commit
    exit_zero: bool = False
    executor: str = "local"  # local | dask | tcp://HOST:PORT (quantlint.scan_dask.parse_executor)
    batch_size: int = 200  # files per batch (a Dask task, a part file)
    output_dir: str | None = None  # one part file per batch; a rerun skips finished batches
    max_inflight: int = 64  # Hub requests at once across a Dask cluster (0: no cap)


class ScanError(Exception):
    """The scan cannot start (bad --shard, unreadable --from-file, failed Hub query)."""


# -- what to scan -----------------------------------------------------------------------------
def parse_shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ScanError(f"--shard {text!r}: write it as K/N, e.g. 1/4") from None
    if not 1 <= k <= n:
        raise ScanError(f"--shard {text!r}: K must be between 1 and N")
    return k, n


def gather_specs(opts: ScanOptions) -> list[str]:
    specs = list(opts.specs)
    if opts.from_file:
        try:
            lines = Path(opts.from_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ScanError(f"--from-file {opts.from_file}: {exc.strerror or exc}") from None
        specs += [s.split("#", 1)[0].strip() for s in lines if s.split("#", 1)[0].strip()]
    if opts.author or opts.search or opts.library:
        specs += hub_query(opts)
    seen: set[str] = set()
    return [s for s in specs if not (s in seen or seen.add(s))]


def hub_query(opts: ScanOptions) -> list[str]:
    from huggingface_hub import HfApi

    from quantlint.remote.source import describe_http_error

    api = HfApi(library_name="quantlint", library_version=__version__)
    try:
        found = api.list_models(author=opts.author, search=opts.search, filter=opts.library, limit=opts.limit)
        return [m.id for m in found]
    except Exception as exc:  # noqa: BLE001
        raise ScanError(describe_http_error(exc, "Hub query")) from None


def in_shard(spec: str, shard: tuple[int, int] | None) -> bool:
    """Stable across machines and runs: crc32 of the repo (so every file of a repo, e.g. the
    lines of a --list-only file, lands in one shard and the repo is listed once), or of the
    spec when it names no repo; never Python's salted hash()."""
    if shard is None:
        return True
    from quantlint.remote import REPO_SPEC

    m = REPO_SPEC.match(spec)
    key = m.group("repo") if m else spec
    return zlib.crc32(key.encode("utf-8")) % shard[1] == shard[0] - 1


# -- the result cache -------------------------------------------------------------------------
class ResultCache:
    """One JSON file per result under user_cache_dir("quantlint")/scan: never next to a model."""

    def __init__(self, root: str | None, fingerprint: str) -> None:
        if root is None:
            root = os.environ.get("QUANTLINT_CACHE_DIR")
        if root is None:
            from platformdirs import user_cache_dir

            root = user_cache_dir("quantlint")
        self.dir = Path(root) / "scan"
        self.fingerprint = fingerprint

    def key(self, target: Target) -> str | None:
        repo, revision = target.extra.get("repo"), target.extra.get("revision")
        if not repo or not revision or target.extra.get("mode") == "error":
            return None  # only results pinned to a commit can be reused
        if target.kind == "remote":
            path = target.path
            shards = list(target.shards)
        else:  # offline: a snapshot path; key on the path inside the repo, as online
            path = target.display.partition(":")[2]
            shards = [Path(s).name for s in target.shards]
        raw = json.dumps([repo, revision, path, shards, self.fingerprint])
        return hashlib.sha256(raw.encode()).hexdigest()

    def get(self, key: str | None) -> dict[str, Any] | None:
        if key is None:
            return None
        try:
            return json.loads((self.dir / key[:2] / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str | None, obj: dict[str, Any]) -> None:
        if key is None or obj.get("error"):
            return
        folder = self.dir / key[:2]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{key}.{threading.get_ident()}.tmp"
            tmp.write_text(json.dumps(obj, ensure_ascii=False, default=str), encoding="utf-8")
            os.replace(tmp, folder / f"{key}.json")
        except OSError:
            pass  # a read-only cache only costs the next run time


def settings_fingerprint(resolved: Any, registry: Any) -> str:
    """Results depend on the version, the settings and the rules: change any, rescan."""
    data = {
        "version": __version__,
        "settings": asdict(resolved.settings),
        "selection": [resolved.selection.select, resolved.selection.extend_select, resolved.selection.ignore],
        "severity": resolved.severity_overrides,
        "rules": sorted(f"{r.code}:{getattr(r, 'package', '')}" for r in registry.rules.values()),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


# -- running ----------------------------------------------------------------------------------
def lint_to_object(target: Target, resolved: Any, registry: Any) -> dict[str, Any]:
    from quantlint.engine import CheckCrash
    from quantlint.lint import TargetResult
    from quantlint.remote import TargetFailed
    from quantlint.report.json_report import target_object
    from quantlint.runner import lint_one

    try:
        result = lint_one(target, resolved, registry)
    except TargetFailed as exc:
        result = TargetResult(target=target.display, model=None, error=str(exc))
    except CheckCrash as exc:
        result = TargetResult(target=target.display, model=None, error=f"crash: {exc}")
    return target_object(result)


def progress_wanted(opts: ScanOptions) -> bool:
    if opts.progress is not None:
        return opts.progress
    if os.environ.get("CI") or os.environ.get("PRE_COMMIT"):
        return False
    return sys.stderr.isatty()


class _Progress:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("listing repos", total=None)

    def stage(self, description: str, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=description, total=total)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@dataclass
class ScanOutcome:
    objects: list[dict[str, Any]]
    cached: int
    specs: int


def run_scan(opts: ScanOptions, resolved: Any, registry: Any,
             emit: Callable[[dict[str, Any]], None] | None = None) -> ScanOutcome:
    """Resolve and lint everything; `emit` gets each file's object as soon as it is done."""
    from quantlint.remote.source import quiet_hub_logs
    from quantlint.scan_batches import group_specs, resolve_group

    quiet_hub_logs()
    offline = bool(resolved.settings.offline)
    specs = [s for s in gather_specs(opts) if in_shard(s, opts.shard)]
    cache = ResultCache(opts.cache_dir, settings_fingerprint(resolved, registry)) if opts.use_cache else None
    progress = _Progress(progress_wanted(opts))
    objects: list[dict[str, Any]] = []
    cached = 0

    def done(obj: dict[str, Any]) -> None:
        objects.append(obj)
        progress.advance()
        if emit is not None:
            emit(obj)

    groups = group_specs(specs)  # a repo named by several specs (a --list-only file) is listed once
    try:
        with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
            # One pool for both steps, pipelined: a repo's files start as soon as it is listed.
            pending: dict[Future, tuple[str, Any]] = {pool.submit(resolve_group, g, offline): ("repo", g)
                                                      for g in groups}
            repos_left, files = len(groups), 0
            progress.stage(f"listing {repos_left} repos", 0)
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    step, info = pending.pop(future)
                    if step == "file":
                        target, key = info
                        obj = future.result()
                        if cache is not None:
                            cache.put(key, obj)
                        done(obj)
                        continue
                    targets = sorted(future.result(), key=lambda t: t.display)
                    repos_left -= 1
                    files += len(targets)
                    progress.stage(f"scanning ({repos_left} repos to list)" if repos_left else "scanning", files)
                    for target in targets:
                        key = cache.key(target) if cache else None
                        hit = cache.get(key) if cache else None
                        if hit is not None:
                            cached += 1
                            done(hit)
                        else:
                            pending[pool.submit(lint_to_object, target, resolved, registry)] = ("file", (target, key))
    finally:
        progress.stop()
    return ScanOutcome(objects=objects, cached=cached, specs=len(specs))


# -- reporting --------------------------------------------------------------------------------
def worst(obj: dict[str, Any]) -> dict[str, Any] | None:
    findings = obj.get("findings") or []
    return max(findings, key=lambda f: SEVERITY_RANK.get(f.get("severity"), 0), default=None)


def sort_objects(objects: list[dict[str, Any]], how: str) -> list[dict[str, Any]]:
    def model(o: dict[str, Any]) -> dict[str, Any]:
        return o.get("model") or {}

    def bpw(o: dict[str, Any]) -> float:
        value = model(o).get("bits_per_weight")
        return value if isinstance(value, (int, float)) else float("inf")

    if how == "name":
        return sorted(objects, key=lambda o: o["target"])
    if how == "bpw":
        return sorted(objects, key=lambda o: (bpw(o), o["target"]))
    if how == "quant":
        return sorted(objects, key=lambda o: (str(model(o).get("quant") or "~"), o["target"]))

    def risk(o: dict[str, Any]) -> tuple:
        w = worst(o)
        rank = SEVERITY_RANK.get(w.get("severity"), 0) if w else 0
        count = sum(1 for f in o.get("findings") or [] if SEVERITY_RANK.get(f.get("severity"), 0) == rank)
        return (1 if o.get("error") else 0, -rank, -count, bpw(o), o["target"])

    return sorted(objects, key=risk)


def summary(objects: list[dict[str, Any]], cached: int = 0) -> dict[str, int]:
    counts = {"targets": len(objects), "error": 0, "warning": 0, "info": 0}
    for o in objects:
        for f in o.get("findings") or []:
            if f.get("severity") in counts:
                counts[f["severity"]] += 1
    counts["failed_targets"] = sum(1 for o in objects if o.get("error"))
    counts["cached"] = cached
    return counts


def write_table(objects: list[dict[str, Any]], stream: Any, color: str, counts: dict[str, int]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from quantlint.report.text import make_console

    wide = not (hasattr(stream, "isatty") and stream.isatty())  # a pipe or file: never wrap a row
    console = make_console(stream, {"color": color, **({"width": 220} if wide else {})})
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for name, kw in (("file", {"overflow": "fold"}), ("quant", {}), ("bpw", {"justify": "right"}),
                     ("MoE", {}), ("worst finding", {"overflow": "fold"})):
        table.add_column(name, **kw)
    for o in objects:
        m = o.get("model") or {}
        bpw = m.get("bits_per_weight")
        moe = m.get("moe") or None
        moe_text = f"{moe.get('experts')}x{moe.get('experts_used') or '?'}" if isinstance(moe, dict) else "-"
        if o.get("error"):
            worst_text = f"[bold red]failed[/]: {escape(o['error'])}"
        else:
            w = worst(o)
            style = {"error": "bold red", "warning": "yellow", "info": "cyan"}.get((w or {}).get("severity"), "")
            worst_text = (f"[{style}]{w['code']} {w['severity']}[/] {escape(w.get('name') or '')}" if w
                          else "[green]clean[/]")
        table.add_row(escape(o["target"]), escape(str(m.get("quant") or "-")),
                      f"{bpw:.2f}" if isinstance(bpw, (int, float)) else "-", moe_text, worst_text)
    console.print(table)
    line = (f"{counts['targets']} file(s): {counts['error']} error(s), {counts['warning']} warning(s), "
            f"{counts['info']} info")
    if counts["failed_targets"]:
        line += f"; {counts['failed_targets']} could not be read"
    if counts["cached"]:
        line += f"; {counts['cached']} from the scan cache"
    console.print(f"[bold]{line}.[/]")


def exit_code(objects: list[dict[str, Any]], fail_on: str, exit_zero: bool) -> int:
    if exit_zero:
        return 0
    floor = SEVERITY_RANK[fail_on]
    failing = any(o.get("error") for o in objects) or any(
        SEVERITY_RANK.get(f.get("severity"), 0) >= floor for o in objects for f in o.get("findings") or [])
    return 1 if failing else 0
