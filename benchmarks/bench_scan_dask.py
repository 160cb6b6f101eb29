"""`quantlint scan --executor dask` against the local Hub stand-in: driver memory and per-file overhead.

    python benchmarks/bench_scan_dask.py [--files 10000] [--small 1000] [--per-repo 10] [--workers 2]
                                         [--batch-size 200] [--latency 0] [--shape small|7b]

The stand-in (tests/hubstandin.py) runs in its own process, serving `--files` GGUF files in
repos of `--per-repo` files; a LocalCluster of `--workers` worker processes (one thread each)
runs the batches; the driver is a `quantlint scan` process like a user's, streaming json-lines.

1. Driver peak RSS (os.wait4), a `--small`-file scan vs the `--files`-file scan: the driver
   streams, so it should stay within 20% (target), whatever the number of files.
2. Per-file overhead of Dask: (a) the same real batches (targets + settings out, 200 realistic
   rows back) shipped through the scheduler to a no-op task, wall time / files; (b) the dask
   scan vs the local executor on the same `--small` listing, (wall difference) / files. Target:
   under 1 ms a file. (b) is informational: the cluster's worker processes also add cores.
3. Requests and bytes per file (stand-in counters), the inputs of docs/scan-cluster.md's costs.

Requires the dask extra (pip install 'quantlint[dask]'). Numbers from a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_remote import make_files, start_standin, stats  # noqa: E402


def driver(argv: list[str], env: dict, out: Path) -> tuple[float, float, int]:
    """Run one `quantlint scan` driver: (wall seconds, peak RSS MiB, lines of output)."""
    start = time.perf_counter()
    with open(out, "w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "quantlint", "scan", *argv], stdout=sink,
                                stderr=subprocess.PIPE, env=env, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"driver failed ({code}): {stderr[-2000:]}")
    lines = sum(1 for line in out.read_text().splitlines() if line.strip())
    return wall, usage.ru_maxrss / 1024, lines


def _echo(payload: bytes, rows: str) -> str:
    return rows


def scheduling_overhead(client, specs: list[str], rows: list[dict], batch_size: int, jobs: int) -> tuple[float, int]:
    """Ship the real batches of `specs` (repeated to 100 tasks at least) through the scheduler to
    a no-op task, rows back: what Dask costs per file, with no linting in the way."""
    from quantlint.config import CliValues, resolve
    from quantlint.engine import load_registry
    from quantlint.scan import settings_fingerprint
    from quantlint.scan_batches import BatchSettings, group_specs, iter_batches, iter_targets

    registry = load_registry()
    resolved = resolve(CliValues(paths=[]), registry)
    settings = BatchSettings(resolved, settings_fingerprint(resolved, registry), jobs)
    batches = list(iter_batches(iter_targets(group_specs(specs), False, jobs), batch_size, settings.fingerprint))
    batches = (batches * (1 + 100 // len(batches)))[:max(100, len(batches))]  # enough tasks to measure a rate
    files = sum(len(b.targets) for b in batches)
    lines = [json.dumps(rows[i % len(rows)]) + "\n" for i in range(batch_size)]
    client.gather([client.submit(_echo, b"", "", pure=False) for _ in range(4)])  # warm-up
    start = time.perf_counter()
    # What quantlint.scan_dask.submit ships (pickled targets + settings) and gets back (JSON lines).
    futures = [client.submit(_echo, pickle.dumps((b.targets, settings)), "".join(lines[:len(b.targets)]), pure=False)
               for b in batches]
    for future in futures:
        [json.loads(line) for line in future.result().splitlines()]
    return time.perf_counter() - start, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--per-repo", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--shape", choices=("small", "7b"), default="small")
    args = parser.parse_args()

    import distributed

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sources = make_files(folder, args.shape)
        repos = max(1, args.files // args.per_repo)
        manifest = {f"bench/Model{r:05d}-GGUF": {"files": {f"Model{r}-{i}-{sources[(r + i) % len(sources)].name}":
                                                           str(sources[(r + i) % len(sources)])
                                                           for i in range(args.per_repo)}, "tags": ["gguf"]}
                    for r in range(repos)}
        (folder / "manifest.json").write_text(json.dumps(manifest))
        standin, url = start_standin(folder / "manifest.json", args.latency)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "QUANTLINT_"))},
               "HF_ENDPOINT": url, "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HOME": str(folder / "hf-home"),
               "QUANTLINT_CACHE_DIR": str(folder / "cache")}
        os.environ.update(env)  # before huggingface_hub is imported here (it reads HF_ENDPOINT at import)
        specs = sorted(manifest)
        small_specs = specs[:max(1, args.small // args.per_repo)]
        (folder / "small.txt").write_text("\n".join(small_specs) + "\n")
        (folder / "big.txt").write_text("\n".join(specs) + "\n")
        worker_env = {k: v for k, v in env.items() if k.startswith(("HF_", "QUANTLINT_"))}
        cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None, env=worker_env,
                                           silence_logs=40)
        client = distributed.Client(cluster)
        address = cluster.scheduler.address
        common = ["--output-format", "json-lines", "--no-progress", "--jobs", str(args.jobs),
                  "--batch-size", str(args.batch_size)]
        try:
            print(f"stand-in in its own process ({args.latency * 1000:.0f} ms per request), {args.workers} worker "
                  f"processes, {args.shape} files, {args.per_repo} per repo, batches of {args.batch_size}; "
                  f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (a shared machine: noisy)")
            driver(["--from-file", str(folder / "small.txt"), "--executor", address, *common], env, folder / "w.jsonl")
            results = {}
            for name, listing in (("small", "small.txt"), ("big", "big.txt")):
                stats(url, reset=True)
                wall, rss, lines = driver(["--from-file", str(folder / listing), "--executor", address, *common],
                                          env, folder / f"{name}.jsonl")
                results[name] = (wall, rss, lines, stats(url))
            (s_wall, s_rss, s_lines, _), (b_wall, b_rss, b_lines, b_stats) = results["small"], results["big"]
            print("\n1. driver peak RSS (streaming json-lines):")
            print(f"   {s_lines:>6} files  {s_rss:7.1f} MiB   {s_wall:6.1f} s")
            print(f"   {b_lines:>6} files  {b_rss:7.1f} MiB   {b_wall:6.1f} s")
            print(f"   ratio      {b_rss / s_rss:7.2f}x   (target: within 1.20x)")

            stats(url, reset=True)
            l_wall, _, l_lines = driver(["--from-file", str(folder / "small.txt"), "--executor", "local",
                                         "--no-cache", *common], env, folder / "local.jsonl")
            rows = [json.loads(line) for line in (folder / "small.jsonl").read_text().splitlines() if line.strip()]
            sched, files = scheduling_overhead(client, small_specs, rows, args.batch_size, args.jobs)
            print("\n2. per-file overhead of Dask:")
            print(f"   (a) {files} files in batches of {args.batch_size} through the scheduler to a no-op task: "
                  f"{sched * 1000 / files:.3f} ms a file ({sched:.2f} s)   (target: under 1 ms)")
            print(f"   (b) dask {s_wall:.1f} s vs local {l_wall:.1f} s on the same {l_lines} files: "
                  f"{(s_wall - l_wall) * 1000 / l_lines:+.2f} ms a file (start-up and imports included; "
                  f"the workers add processes)")
            repos_big = len(specs)
            print("\n3. per file, the big scan:")
            print(f"   {b_stats['ranged_requests'] / b_lines:.2f} range requests, "
                  f"{b_stats['file_bytes'] / b_lines / 1024:.0f} KiB transferred; "
                  f"{b_stats['api_requests'] / repos_big:.2f} API requests a repo ({repos_big} repos)")
        finally:
            client.close()
            cluster.close()
            standin.terminate()
            standin.wait()


if __name__ == "__main__":
    main()
