"""Run a resolved lint: expand targets, read, enrich, check, filter, report, pick the exit code.

Filtering happens here, after the engine: per-file-ignores (config globs -> selectors), then
the baseline (accepted fingerprints). `--write-baseline` records what is left and exits 0.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from quantlint.config import ConfigError, Resolved
from quantlint.engine import CheckCrash, Registry, Selection
from quantlint.enrich import enrich
from quantlint.findings import Finding, severity_at_least
from quantlint.lint import TargetResult, lint_model, missing_model, read_target
from quantlint.remote import TargetFailed
from quantlint.targets import Target, expand

if TYPE_CHECKING:  # pathlib loads only for --lfs-remote and per-file-ignores (about 2 ms otherwise)
    from pathlib import Path


@dataclass
class Linted:
    """A target and its lint result, kept together for ignores and baselines."""

    target: Target
    result: TargetResult


def lint_one(target: Target, resolved: Resolved, registry: Registry) -> TargetResult:
    try:
        model = missing_model(target) if target.kind == "missing" else read_target(target, resolved.settings)
    except TargetFailed as exc:  # a remote target that could not be fetched: an error, not a finding
        return TargetResult(target=target.display, model=None, error=str(exc))
    remote = _lfs_remote_target(target, model, resolved)
    display = target.display if remote is None else f"{target.display} ({remote.display})"
    if remote is not None:
        try:
            model = read_target(remote, resolved.settings)
        except TargetFailed as exc:  # keep the pointer's QL903 and say why the remote read failed
            sys.stderr.write(f"quantlint: --lfs-remote: {remote.display}: {exc}\n")
            display = target.display
    enrich(model, resolved.settings)
    findings = lint_model(model, registry, resolved.selection, resolved.settings, resolved.severity_overrides)
    return TargetResult(target=display, model=model, findings=findings)


# -- --lfs-remote ------------------------------------------------------------------------------
def _git_root(path: Path) -> Path | None:
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _lfs_remote_target(target: Target, model, resolved: Resolved) -> Target | None:
    """An LFS pointer in a clone of ORG/REPO -> the published file `ORG/REPO:<path in repo>`."""
    if not resolved.lfs_remote or model is None or model.format != "lfs-pointer" or target.kind != "file":
        return None
    from pathlib import Path

    local = Path(target.path).resolve()
    root = _git_root(local.parent) or Path(os.getcwd()).resolve()
    try:
        inside = local.relative_to(root).as_posix()
    except ValueError:
        inside = local.name
    try:
        remote = expand([f"{resolved.lfs_remote}:{inside}"], offline=resolved.settings.offline or None)
    except TargetFailed as exc:
        sys.stderr.write(f"quantlint: --lfs-remote {resolved.lfs_remote}:{inside}: {exc}\n")
        return None
    return remote[0] if len(remote) == 1 and remote[0].kind == "remote" else None


# -- per-file-ignores ----------------------------------------------------------------------------
def _glob_matches(pattern: str, target_path: str, root: str) -> bool:
    """ruff's shape: a glob relative to the config file's folder; a bare name matches anywhere."""
    from pathlib import Path

    pattern = pattern[2:] if pattern.startswith("./") else pattern
    absolute = Path(target_path).resolve()
    try:
        relative = os.path.relpath(absolute, Path(root).resolve())
    except ValueError:
        relative = str(absolute)
    candidates = [Path(relative).as_posix(), absolute.as_posix(), target_path]
    if absolute.is_dir():  # an HF folder: "models/awq/*" covers the folder itself
        candidates += [c.rstrip("/") + "/" for c in candidates]
    if "/" not in pattern:
        candidates.append(absolute.name)
    return any(fnmatchcase(c, pattern) for c in candidates)


def per_file_ignored(target: Target, resolved: Resolved) -> list[str]:
    """The selectors that per-file-ignores switch off for this target."""
    if not resolved.per_file_ignores or target.kind == "remote":
        return []
    root = resolved.config_root or os.getcwd()
    selectors: list[str] = []
    for pattern, codes in resolved.per_file_ignores.items():
        if _glob_matches(pattern, target.path, root):
            selectors.extend(codes)
    return selectors


def drop_ignored(findings: list[Finding], selectors: list[str], registry: Registry) -> list[Finding]:
    if not selectors:
        return findings
    ignored = Selection(select=selectors)
    return [f for f in findings if not (f.code in registry.rules and ignored.enabled(registry.rules[f.code]))]


# -- baseline ---------------------------------------------------------------------------------
def _key(item: Linted, baseline_path: str) -> str:
    from quantlint.baseline import target_key

    local = item.target.kind != "remote"
    return target_key(item.target.path if local else item.target.display, local, baseline_path)


def apply_baseline(linted: list[Linted], path: str) -> None:
    from quantlint.baseline import fingerprint, load_baseline

    try:
        accepted = load_baseline(path)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    used: set[str] = set()
    suppressed = 0
    for item in linted:
        kept, key = [], _key(item, path)
        for f in item.result.findings:
            fp = fingerprint(f, key, path)
            if fp in accepted:
                used.add(fp)
                suppressed += 1
            else:
                kept.append(f)
        item.result.findings = kept
    if suppressed:
        sys.stderr.write(f"quantlint: {suppressed} finding(s) accepted by the baseline {path}\n")
    seen_targets = {_key(i, path) for i in linted}
    stale = [e for fp, e in accepted.items() if fp not in used and e.target in seen_targets]
    if stale:
        sys.stderr.write(f"quantlint: {len(stale)} baseline entr{'y matches' if len(stale) == 1 else 'ies match'} "
                         f"no finding any more; rewrite {path} with --write-baseline\n")


def record_baseline(linted: list[Linted], path: str) -> int:
    from quantlint.baseline import BaselineEntry, fingerprint, write_baseline

    entries = []
    for item in linted:
        key = _key(item, path)
        for f in item.result.findings:
            entries.append(BaselineEntry(fingerprint=fingerprint(f, key, path), code=f.code or "?", target=key,
                                         location=f.location, message=f.message))
    write_baseline(path, entries)
    sys.stderr.write(f"quantlint: wrote {len(entries)} finding(s) to {path}; write a justification for each "
                     "before using it with --baseline\n")
    return 0


# -- the run ----------------------------------------------------------------------------------
def _report(resolved: Resolved, registry: Registry, results: list[TargetResult], crashed: bool) -> None:
    from quantlint.report import write

    name = resolved.output_format
    options = {"color": resolved.color, "width": resolved.width, "sarif_root": resolved.sarif_root,
               "crashed": crashed, "failures": registry.failures,
               "rules": [registry.rules[c] for c in resolved.enabled_rules if c in registry.rules],
               "plan": resolved.settings.plan}
    if resolved.statistics:
        name, options["format"] = "statistics", resolved.output_format
    if resolved.output_file:
        with open(resolved.output_file, "w", encoding="utf-8") as stream:
            write(name, results, stream, {**options, "color": "never"})
    else:
        write(name, results, sys.stdout, options)
        sys.stdout.flush()


# Remote targets are network-bound (two range requests each): read several at once, as
# `quantlint scan` does. Local targets are CPU-bound under the GIL and stay in order.
REMOTE_JOBS = 8


def _lint_all(targets: list[Target], resolved: Resolved, registry: Registry) -> list[TargetResult | CheckCrash]:
    """One result (or the CheckCrash it raised) per target, in the targets' order."""
    def attempt(target: Target) -> TargetResult | CheckCrash:
        try:
            return lint_one(target, resolved, registry)
        except CheckCrash as exc:
            return exc

    remote = [i for i, t in enumerate(targets) if t.kind == "remote"]
    if len(remote) < 2:
        return [attempt(t) for t in targets]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(REMOTE_JOBS, len(remote))) as pool:
        futures = {i: pool.submit(attempt, targets[i]) for i in remote}
        local = {i: attempt(t) for i, t in enumerate(targets) if i not in futures}
        return [futures[i].result() if i in futures else local[i] for i in range(len(targets))]


def run_lint(resolved: Resolved, registry: Registry) -> int:
    linted: list[Linted] = []
    crashed = False
    targets = expand(resolved.paths, offline=resolved.settings.offline or None)
    for target, result in zip(targets, _lint_all(targets, resolved, registry)):
        if isinstance(result, CheckCrash):
            sys.stderr.write(f"quantlint: error: {result}\n")
            crashed = True
            continue
        result.findings = drop_ignored(result.findings, per_file_ignored(target, resolved), registry)
        linted.append(Linted(target, result))
    try:
        if resolved.write_baseline:
            return 2 if crashed else record_baseline(linted, resolved.write_baseline)
        if resolved.baseline:
            apply_baseline(linted, resolved.baseline)
    except ConfigError as exc:
        sys.stderr.write(f"quantlint: error: {exc}\n")
        return 2
    results = [item.result for item in linted]
    _report(resolved, registry, results, crashed)
    if crashed:
        return 2
    if resolved.exit_zero:
        return 0
    failing = any(severity_at_least(f.severity or "info", resolved.fail_on) for r in results for f in r.findings)
    failing = failing or any(r.error for r in results)
    return 1 if failing else 0
