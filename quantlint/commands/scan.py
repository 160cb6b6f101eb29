"""`quantlint scan`: many Hugging Face repos at once (arguments, a file of ids, a Hub query)."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Optional

import typer

from quantlint.cli import Color, Severity, _color_choice, _err, app


class ScanFormat(str, Enum):
    table = "table"
    json = "json"
    json_lines = "json-lines"


class SortKey(str, Enum):
    risk = "risk"
    name = "name"
    bpw = "bpw"
    quant = "quant"


@app.command("scan")
def scan_command(
    specs: Optional[list[str]] = typer.Argument(None, metavar="[TARGET...]",
                                                help="Repos (org/repo), files (org/repo:x.gguf, hf://..., https://...) or local paths."),
    from_file: Optional[str] = typer.Option(None, "--from-file", help="A file of targets, one per line (# comments)."),
    author: Optional[str] = typer.Option(None, "--author", help="Scan this Hub author's repos."),
    search: Optional[str] = typer.Option(None, "--search", help="Scan Hub repos whose name contains this."),
    library: Optional[str] = typer.Option(None, "--library", help="Hub library/tag filter, e.g. gguf."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many repos from the Hub query."),
    jobs: int = typer.Option(16, "-j", "--jobs", min=1, help="Files read at once (network-bound; default 16)."),
    shard: Optional[str] = typer.Option(None, "--shard", help="K/N: scan only this machine's share of the repos."),
    sort: SortKey = typer.Option(SortKey.risk, "--sort", help="Table order: risk (default), name, bpw, quant."),
    output_format: ScanFormat = typer.Option(ScanFormat.table, "--output-format",
                                             help="table (default), json, or json-lines (one object per file as it finishes)."),
    fail_on: Optional[Severity] = typer.Option(None, "--fail-on", help="Exit 1 when a finding is at or above this (default error)."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even with findings or failed targets."),
    floor: Optional[str] = typer.Option(None, "--floor", help="Quality floor as a llama.cpp quant label (default Q4_K_M)."),
    profile: Optional[str] = typer.Option(None, "--profile", help="default, or high-stakes (floor Q5_K_M)."),
    select: Optional[list[str]] = typer.Option(None, "--select", help="Only these rules."),
    ignore: Optional[list[str]] = typer.Option(None, "--ignore", help="Skip these rules."),
    offline: bool = typer.Option(False, "--offline", envvar="HF_HUB_OFFLINE", help="Only the local Hugging Face cache."),
    cache_dir: Optional[str] = typer.Option(None, "--cache-dir", envvar="QUANTLINT_CACHE_DIR",
                                            help="Where scan results are kept (default: the user cache dir)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Read every file again; do not store results."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress",
                                            help="Progress bar on stderr (default: on a terminal, off in CI / pre-commit)."),
    color: Color = typer.Option(Color.auto, "--color", help="auto, always, never."),
    executor: str = typer.Option("local", "--executor", envvar="QUANTLINT_EXECUTOR",
                                 help="local (threads here), dask (a Dask cluster on this machine) or "
                                      "dask://HOST:PORT (a running Dask scheduler). Dask needs quantlint[dask]."),
    batch_size: int = typer.Option(200, "--batch-size", min=1, help="Files per batch: one Dask task, one part file."),
    output_dir: Optional[str] = typer.Option(None, "--output-dir",
                                             help="Write one JSON-lines part file per batch here; a rerun skips finished batches."),
    max_inflight: int = typer.Option(64, "--max-inflight", min=0,
                                     help="Hub requests at once across a Dask cluster (0: no cap)."),
    list_only: bool = typer.Option(False, "--list-only",
                                   help="Print the files the filters select, one per line (--from-file reads it), and stop."),
) -> None:
    """Scan many Hugging Face repos: headers only, concurrent, resumable."""
    from quantlint.config import CliValues, ConfigError, resolve
    from quantlint.engine import load_registry
    from quantlint.scan import (ScanError, ScanOptions, exit_code, parse_shard, run_scan, sort_objects,
                                summary, write_table)
    from quantlint.scan_dask import parse_executor, require_distributed

    registry = load_registry()
    values = CliValues(paths=list(specs or []), fail_on=fail_on.value if fail_on else None, floor=floor,
                       profile=profile, select=select, ignore=ignore, offline=bool(offline))
    try:
        resolved = resolve(values, registry)
        opts = ScanOptions(specs=list(specs or []), from_file=from_file, author=author, search=search,
                           library=library, limit=limit, jobs=jobs, shard=parse_shard(shard) if shard else None,
                           sort=sort.value, output_format=output_format.value, cache_dir=cache_dir,
                           use_cache=not no_cache, progress=progress, exit_zero=exit_zero,
                           executor=parse_executor(executor), batch_size=batch_size, output_dir=output_dir,
                           max_inflight=max_inflight)
        if opts.executor != "local" and not list_only:
            require_distributed()  # only now is Dask imported: exit 2 with the install hint
        if opts.output_dir and not list_only:
            from quantlint.scan_batches import OutputDir

            OutputDir(opts.output_dir)  # a path that cannot be a folder is a usage error, before any request
    except (ConfigError, ScanError) as exc:
        _err(str(exc))
        raise typer.Exit(2)
    if not (opts.specs or opts.from_file or opts.author or opts.search or opts.library):
        _err("nothing to scan: give repos, --from-file, or a Hub query (--author, --search, --library)")
        raise typer.Exit(2)

    if list_only:
        from quantlint.scan_batches import list_only as print_listing

        try:
            failed = print_listing(opts, resolved, sys.stdout)
        except ScanError as exc:
            _err(str(exc))
            raise typer.Exit(1)
        raise typer.Exit(1 if failed else 0)
    if opts.executor != "local" or opts.output_dir:
        _batched(opts, resolved, registry, color)

    def stream_line(obj: dict) -> None:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    try:
        outcome = run_scan(opts, resolved, registry, stream_line if opts.output_format == "json-lines" else None)
    except ScanError as exc:
        _err(str(exc))
        raise typer.Exit(1)
    counts = summary(outcome.objects, outcome.cached)
    ordered = sort_objects(outcome.objects, opts.sort)
    if opts.output_format == "json":
        from quantlint import __version__

        json.dump({"version": __version__, "targets": ordered, "summary": counts}, sys.stdout,
                  indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    elif opts.output_format == "table":
        write_table(ordered, sys.stdout, _color_choice(color), counts)
    else:
        sys.stderr.write(f"quantlint scan: {counts['targets']} file(s), {counts['failed_targets']} failed, "
                         f"{counts['cached']} from the cache\n")
    raise typer.Exit(exit_code(outcome.objects, resolved.fail_on, opts.exit_zero))


def _batched(opts, resolved, registry, color: Color) -> None:
    """A scan in batches (a Dask cluster, or --output-dir): rows written as batches finish."""
    from quantlint.scan import ScanError, sort_objects, write_table
    from quantlint.scan_batches import RowSink, exit_code_from_counts, run_batched

    fmt = opts.output_format
    sink = RowSink(stream=sys.stdout if fmt == "json-lines" else None,
                   keep=fmt in ("table", "json") and not opts.output_dir)  # a table needs every row: small scans
    try:
        run_batched(opts, resolved, registry, sink)
    except ScanError as exc:
        _err(str(exc))
        raise typer.Exit(1)
    counts = sink.counts
    if sink.keep and fmt == "json":
        from quantlint import __version__

        json.dump({"version": __version__, "targets": sort_objects(sink.objects, opts.sort), "summary": counts},
                  sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    elif sink.keep:
        write_table(sort_objects(sink.objects, opts.sort), sys.stdout, _color_choice(color), counts)
    else:
        where = f" in {opts.output_dir}" if opts.output_dir else ""
        skipped = f", {sink.skipped_batches} batch(es) already done{where}" if sink.skipped_batches else ""
        sys.stderr.write(f"quantlint scan: {counts['targets']} file(s), {counts['failed_targets']} failed{skipped}\n")
    raise typer.Exit(exit_code_from_counts(counts, resolved.fail_on, opts.exit_zero))
