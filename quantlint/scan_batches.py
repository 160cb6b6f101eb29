"""Batched scans: the listing streamed into batches of files, each batch one unit of work.

Used by `scan --executor dask` (a batch is one Dask task) and by any scan with `--output-dir`
(a batch is one part file). Flow on the driver:

    specs -> groups of specs per repo (one listing request per repo and revision)
          -> targets, in a deterministic order (listed concurrently, consumed in order)
          -> batches of about --batch-size targets, cut by content, named by a hash of their
             pinned file list
          -> run (here, or on a worker) -> rows -> written as they arrive, then dropped.

Nothing here holds the whole scan: the listing is consumed with a bounded look-ahead and rows
are written, not kept, unless a table or a JSON document was asked for. This module is light
at import (the standard library and quantlint.scan); the worker side (`run_batch`) imports the
linting machinery on first use, and Dask lives in quantlint.scan_dask.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

from quantlint.scan import (ScanError, ScanOptions, _Progress, hub_query, in_shard, progress_wanted,
                            settings_fingerprint)
from quantlint.targets import Target

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass
class Batch:
    id: str
    targets: list[Target]


# -- listing: specs -> targets ----------------------------------------------------------------
def _repo_of(spec: str) -> str | None:
    from quantlint.remote import REPO_SPEC

    m = REPO_SPEC.match(spec)
    return m.group("repo") if m else None


def repo_key(spec: str) -> str:
    return _repo_of(spec) or f"\0{spec}"


def group_specs(specs: list[str]) -> list[list[str]]:
    """Specs of one repo together (so the repo is listed once), repos in sorted order."""
    groups: dict[str, list[str]] = {}
    for spec in specs:
        groups.setdefault(repo_key(spec), []).append(spec)
    return [groups[key] for key in sorted(groups)]


def resolve_group(specs: list[str], offline: bool) -> list[Target]:
    """Targets for one repo's specs: one listing request per revision, not one per spec.
    Never raises: a spec that cannot be resolved is an error target."""
    from quantlint.remote.targets import error_target, list_repo, parse_spec, targets_in_listing
    from quantlint.remote import TargetFailed
    from quantlint.targets import expand

    listings: dict[str | None, Any] = {}
    targets: list[Target] = []
    for text in specs:
        if offline or _repo_of(text) is None or Path(text).exists():
            targets += expand([text], offline=offline)  # a local path, a URL, the HF cache
            continue
        try:
            spec = parse_spec(text)
            if spec.revision not in listings:
                try:
                    listings[spec.revision] = list_repo(spec.repo, spec.revision)
                except TargetFailed as exc:
                    listings[spec.revision] = exc
            listing = listings[spec.revision]
            if isinstance(listing, TargetFailed):
                raise TargetFailed(str(listing))
            # A line of --list-only (pinned to a full sha) reads back as the canonical name.
            pinned = bool(spec.revision and FULL_SHA.match(spec.revision))
            display = text if spec.path and spec.path.endswith(".gguf") and not pinned else None
            targets += targets_in_listing(listing, spec.path, display)
        except TargetFailed as exc:
            targets.append(error_target(text, str(exc)))
    seen: set[str] = set()
    unique = [t for t in targets if not (t.display in seen or seen.add(t.display))]
    return sorted(unique, key=lambda t: t.display)


def iter_targets(spec_groups: Iterable[list[str]], offline: bool, jobs: int) -> Iterator[Target]:
    """Every target of the groups of specs (one group per repo), listed `jobs` repos at a time,
    yielded in the groups' order (so batches come out the same on every run) with a bounded
    look-ahead (so memory stays flat)."""
    groups = iter(spec_groups)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        window: deque = deque()
        for group in groups:
            window.append(pool.submit(resolve_group, group, offline))
            if len(window) >= 2 * max(1, jobs):
                break
        while window:
            targets = window.popleft().result()
            following = next(groups, None)
            if following is not None:
                window.append(pool.submit(resolve_group, following, offline))
            yield from targets


def listing_line(target: Target) -> str:
    """One line of `scan --list-only`: the target pinned to its commit, as --from-file reads it."""
    extra = target.extra
    repo, revision = extra.get("repo"), extra.get("revision")
    mode = extra.get("mode")
    if mode == "error" or mode == "url" or not repo or not revision or extra.get("offline"):
        return target.display if mode != "url" else target.path
    path = target.shards[0] if mode == "gguf-set" and target.shards else target.path
    return f"{repo}@{revision}:{path}" if path else f"{repo}@{revision}"


# -- batches ----------------------------------------------------------------------------------
def batch_id(targets: list[Target], fingerprint: str) -> str:
    """Named by what it scans (pinned file list + settings), not by its position: a rerun over
    the same listing finds the same names, and a changed repo or setting gets a new one."""
    raw = json.dumps([fingerprint, [listing_line(t) for t in targets], [t.display for t in targets]])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


def iter_batches(targets: Iterable[Target], size: int, fingerprint: str) -> Iterator[Batch]:
    """Batches of about `size` targets, cut where the content says (content-defined chunking):
    after a target whose line hashes to 0 mod (size - size/4), once the batch has size/4, and
    always at 2 x size. A file added to or dropped from the listing then renames only its own
    batch (and rarely the next), not every batch after it, so a rerun over a slightly changed
    listing still skips most of what was done."""
    low, cap = max(1, size // 4), max(1, 2 * size)
    modulus = max(1, size - low)
    chunk: list[Target] = []
    for target in targets:
        chunk.append(target)
        cut = zlib.crc32(listing_line(target).encode("utf-8")) % modulus == 0
        if (cut and len(chunk) >= low) or len(chunk) >= cap:
            yield Batch(batch_id(chunk, fingerprint), chunk)
            chunk = []
    if chunk:
        yield Batch(batch_id(chunk, fingerprint), chunk)


def error_rows(batch: Batch, message: str) -> list[dict[str, Any]]:
    """A batch that failed as a whole (its worker died past the retries): one error row per
    file, shaped like any failed target's object, so no file goes unreported."""
    return [{"target": t.display, "format": None, "model": None, "findings": [], "error": message}
            for t in batch.targets]


# -- the worker side --------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchSettings:
    """What every batch task carries besides its targets. Never a token or an environment:
    a worker reads HF_TOKEN and HF_ENDPOINT from its own environment."""

    resolved: Any
    fingerprint: str
    jobs: int


_REGISTRY: Any = None


def _registry() -> Any:
    global _REGISTRY
    if _REGISTRY is None:
        from quantlint.engine import load_registry

        _REGISTRY = load_registry()
    return _REGISTRY


def run_batch(targets: list[Target], settings: BatchSettings) -> list[dict[str, Any]]:
    """Lint one batch with the concurrent reader (settings.jobs threads); rows in input order,
    as plain JSON values (what json-lines prints), small enough to ship back."""
    from quantlint.remote.source import quiet_hub_logs
    from quantlint.scan import lint_to_object

    registry = _registry()
    if settings_fingerprint(settings.resolved, registry) != settings.fingerprint:
        raise ScanError("this worker's quantlint version or rule set differs from the driver's; "
                        "install the same quantlint (and plugins) on every worker")
    quiet_hub_logs()

    def one(target: Target) -> dict[str, Any]:
        obj = lint_to_object(target, settings.resolved, registry)
        return json.loads(json.dumps(obj, ensure_ascii=False, default=str))

    with ThreadPoolExecutor(max_workers=max(1, min(settings.jobs, len(targets)))) as pool:
        return list(pool.map(one, targets))


# -- where rows go ----------------------------------------------------------------------------
class OutputDir:
    """One part file per batch, part-<batch id>.jsonl, written atomically (temp file, then
    rename): a part that exists is finished. A batch that failed as a whole is written as
    failed-<id>.jsonl instead, which a rerun retries (and removes once the batch succeeds)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ScanError(f"--output-dir {path}: {exc.strerror or exc}") from None

    def part(self, bid: str) -> Path:
        return self.path / f"part-{bid}.jsonl"

    def finished(self, bid: str) -> bool:
        return self.part(bid).is_file()

    def read(self, bid: str) -> Iterator[dict[str, Any]]:
        with open(self.part(bid), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)

    def write(self, bid: str, rows: list[dict[str, Any]], failed: bool = False) -> None:
        final = self.path / f"failed-{bid}.jsonl" if failed else self.part(bid)
        tmp = self.path / f".{final.name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
            if not failed:
                (self.path / f"failed-{bid}.jsonl").unlink(missing_ok=True)
        except OSError as exc:  # a full disk stops the scan; the parts written so far stay valid
            tmp.unlink(missing_ok=True)
            raise ScanError(f"--output-dir {self.path}: cannot write {final.name}: {exc.strerror or exc}") from None


@dataclass
class RowSink:
    """Counts every row; prints it (json-lines) or keeps it (table, json) as asked."""

    stream: TextIO | None = None  # json-lines goes here as rows arrive
    keep: bool = False
    objects: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"targets": 0, "error": 0, "warning": 0, "info": 0,
                                                            "failed_targets": 0, "cached": 0})
    skipped_batches: int = 0

    def add(self, row: dict[str, Any]) -> None:
        counts = self.counts
        counts["targets"] += 1
        for f in row.get("findings") or []:
            if f.get("severity") in ("error", "warning", "info"):
                counts[f["severity"]] += 1
        if row.get("error"):
            counts["failed_targets"] += 1
        if self.keep:
            self.objects.append(row)
        if self.stream is not None:
            self.stream.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")

    def flush(self) -> None:
        if self.stream is not None:
            self.stream.flush()


def exit_code_from_counts(counts: dict[str, int], fail_on: str, exit_zero: bool) -> int:
    if exit_zero:
        return 0
    levels = {"error": ("error",), "warning": ("error", "warning"), "info": ("error", "warning", "info")}[fail_on]
    return 1 if counts["failed_targets"] or any(counts[level] for level in levels) else 0


# -- the driver loop --------------------------------------------------------------------------
Done = Callable[[Batch, "list[dict[str, Any]] | None", "str | None"], None]
Runner = Callable[[Iterator[Batch], BatchSettings, Done], None]


def run_here(batches: Iterator[Batch], settings: BatchSettings, done: Done) -> None:
    """The local executor's batch runner: each batch in this process, one after the other."""
    for batch in batches:
        try:
            rows = run_batch(batch.targets, settings)
        except Exception as exc:  # noqa: BLE001 - a failed batch is reported, the scan goes on
            done(batch, None, failure_message(exc))
        else:
            done(batch, rows, None)


def failure_message(exc: BaseException) -> str:
    detail = (str(exc).splitlines() or [""])[0][:200]
    return f"batch failed after retries ({type(exc).__name__}: {detail})" if detail else \
        f"batch failed after retries ({type(exc).__name__})"


def drive(spec_groups: Iterable[list[str]], offline: bool, jobs: int, batch_size: int, settings: BatchSettings,
          out: OutputDir | None, sink: RowSink, runner: Runner, advance: Callable[[], None] = lambda: None) -> None:
    """List, batch, skip what --output-dir already holds, run the rest, write rows as batches
    finish. Skipped parts are read back (streamed) so the summary and exit code cover them."""

    def todo() -> Iterator[Batch]:
        for batch in iter_batches(iter_targets(spec_groups, offline, jobs), batch_size, settings.fingerprint):
            if out is not None and out.finished(batch.id):
                try:
                    rows = list(out.read(batch.id))
                except (OSError, ValueError):  # an unreadable part (edited by hand?): do it again
                    yield batch
                    continue
                sink.skipped_batches += 1
                stream, sink.stream = sink.stream, None  # already written once: count, do not print
                try:
                    for row in rows:
                        sink.add(row)
                finally:
                    sink.stream = stream
                continue
            yield batch

    def done(batch: Batch, rows: list[dict[str, Any]] | None, failure: str | None) -> None:
        if rows is None:
            rows = error_rows(batch, failure or "batch failed")
        if out is not None:
            out.write(batch.id, rows, failed=failure is not None)
        for row in rows:
            sink.add(row)
            advance()
        sink.flush()

    runner(todo(), settings, done)


# -- the scan, batched ------------------------------------------------------------------------
def iter_spec_groups(opts: ScanOptions) -> Iterator[list[str]]:
    """This shard's specs, one group per repo, for a batched scan. A --from-file list is read
    line by line (consecutive lines of one repo, as --list-only writes them, are one group), so
    a million-line list takes no memory; arguments and a Hub query are grouped whole."""
    small = list(opts.specs) + (hub_query(opts) if opts.author or opts.search or opts.library else [])
    seen: set[str] = set()
    yield from group_specs([s for s in small if in_shard(s, opts.shard) and not (s in seen or seen.add(s))])
    if not opts.from_file:
        return
    try:
        handle = open(opts.from_file, encoding="utf-8")
    except OSError as exc:
        raise ScanError(f"--from-file {opts.from_file}: {exc.strerror or exc}") from None
    group: list[str] = []
    with handle:
        for line in handle:
            spec = line.split("#", 1)[0].strip()
            if not spec or not in_shard(spec, opts.shard):
                continue
            if group and repo_key(spec) != repo_key(group[0]):
                yield group
                group = []
            group.append(spec)
    if group:
        yield group


def run_batched(opts: ScanOptions, resolved: Any, registry: Any, sink: Any) -> None:
    """A scan in batches: on a Dask cluster, or in this process with --output-dir."""
    from quantlint.remote.source import quiet_hub_logs

    quiet_hub_logs()
    groups = iter_spec_groups(opts)
    settings = BatchSettings(resolved, settings_fingerprint(resolved, registry), opts.jobs)
    out = OutputDir(opts.output_dir) if opts.output_dir else None
    progress = _Progress(progress_wanted(opts))
    progress.stage("scanning", None)
    try:
        args = (groups, bool(resolved.settings.offline), opts.jobs, max(1, opts.batch_size), settings, out, sink)
        if opts.executor == "local":
            drive(*args, runner=run_here, advance=progress.advance)
        else:
            from quantlint.scan_dask import connect, dask_runner

            with connect(opts.executor) as client:
                drive(*args, runner=dask_runner(client, opts.max_inflight), advance=progress.advance)
    finally:
        progress.stop()


def list_only(opts: ScanOptions, resolved: Any, stream: Any) -> int:
    """`scan --list-only`: one line per selected target, pinned to its commit (--from-file
    reads it back). Returns how many could not be listed (their spec is printed as given)."""
    from quantlint.remote.source import quiet_hub_logs

    quiet_hub_logs()
    failed = 0
    for target in iter_targets(iter_spec_groups(opts), bool(resolved.settings.offline), opts.jobs):
        if target.extra.get("mode") == "error":
            failed += 1
            sys.stderr.write(f"quantlint scan: {target.extra.get('error')}\n")
        stream.write(listing_line(target) + "\n")
    stream.flush()
    return failed
