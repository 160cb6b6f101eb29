"""Batch scan against the local Hub stand-in: concurrency speed-up, requests and bytes per file.

    python benchmarks/bench_remote.py [--latency 0.05] [--repos 25] [--files 4] [--shape small|7b]

The stand-in (tests/hubstandin.py) runs in its own process with `--latency` seconds added to
every request, serving `--repos` repos of `--files` GGUF files each (100 files by default),
made by fixtures/ggufgen.py. Two measurements, each with the default --jobs and --jobs 1:

1. the scan itself, in one warm process (imports done, as in a long scan): this is what
   concurrency buys, and what DESIGN.md's "at least 8x faster" is about;
2. the whole `quantlint scan` command, start-up included (about 1 s of imports: huggingface_hub,
   httpx2, gguf-py's metadata parser with numpy), which concurrency cannot shorten.

Shapes: "small" files are the tiny test models (the whole file is smaller than the first read);
"7b" files are sparse Llama-2-7B-shaped files (32k vocab, 291 tensors, 3.8 GB each, no data on
disk), so every file costs the real first read of 2 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUANTS = ("Q2_K", "Q4_K_M", "Q5_K_M", "Q8_0")


def make_files(folder: Path, shape: str) -> list[Path]:
    from fixtures.ggufgen import Arch, model_spec, write_gguf

    arch = Arch("llama", 32, 4096, 11008, 32, 32, None, 32000, 4096) if shape == "7b" else Arch()
    out = []
    for quant in QUANTS:
        out.append(write_gguf(folder / f"{shape}-{quant}.gguf", model_spec(quant, arch, name="Bench")))
    moe = Arch("llama", 4, 256, 512, 4, 2, None, 512, 4096, n_expert=8, n_expert_used=2)
    out.append(write_gguf(folder / f"{shape}-moe-Q4_K_M.gguf", model_spec("Q4_K_M", moe, name="BenchMoE")))
    return out


def start_standin(manifest: Path, latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "hubstandin.py"), "--latency", str(latency),
                             "--manifest", str(manifest)], stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    return proc, url


def stats(url: str, reset: bool = False) -> dict:
    with urllib.request.urlopen(f"{url}/_standin/{'reset' if reset else 'stats'}") as response:
        return json.loads(response.read())


def in_process(url: str, specs: list[str], jobs_list: list[int]) -> dict[int, tuple[float, dict]]:
    """Time run_scan in this process after a warm-up scan: the concurrency, without start-up."""
    from quantlint.config import CliValues, resolve
    from quantlint.engine import load_registry
    from quantlint.scan import ScanOptions, run_scan

    registry = load_registry()
    resolved = resolve(CliValues(paths=[]), registry)
    run_scan(ScanOptions(specs=specs[:1], use_cache=False, progress=False), resolved, registry)  # warm-up
    out = {}
    for jobs in jobs_list:
        stats(url, reset=True)
        start, cpu = time.perf_counter(), time.process_time()
        outcome = run_scan(ScanOptions(specs=specs, jobs=jobs, use_cache=False, progress=False), resolved, registry,
                           lambda obj: json.dumps(obj))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        failed = sum(1 for o in outcome.objects if o.get("error"))
        out[jobs] = (elapsed, {**stats(url), "files": len(outcome.objects), "failed": failed, "cpu": cpu})
    return out


def whole_command(url: str, specs: list[str], jobs_list: list[int], env: dict) -> dict[int, float]:
    out = {}
    for jobs in jobs_list:
        stats(url, reset=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "quantlint", "scan", *specs, "--no-cache", "--jobs", str(jobs),
                               "--output-format", "json-lines"], env=env, capture_output=True, text=True)
        out[jobs] = time.perf_counter() - start
        assert len(proc.stdout.splitlines()) >= 1, proc.stderr
    return out


def main() -> None:
    from quantlint.scan import DEFAULT_JOBS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repos", type=int, default=25)
    parser.add_argument("--files", type=int, default=4, help="files per repo")
    parser.add_argument("--shape", choices=("small", "7b"), default="small")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sources = make_files(folder, args.shape)
        manifest = {f"bench/Model{r}-GGUF": {"files": {f"Model{r}-{i}-{sources[(r + i) % len(sources)].name}":
                                                       str(sources[(r + i) % len(sources)]) for i in range(args.files)},
                                             "tags": ["gguf"]} for r in range(args.repos)}
        (folder / "manifest.json").write_text(json.dumps(manifest))
        proc, url = start_standin(folder / "manifest.json", args.latency)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "QUANTLINT_"))},
               "HF_ENDPOINT": url, "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HOME": str(folder / "hf-home")}
        os.environ.update(env)  # before huggingface_hub is imported (it reads HF_ENDPOINT at import)
        specs = sorted(manifest)
        n_files = args.repos * args.files
        try:
            print(f"{n_files} files in {args.repos} repos, {args.shape} shape, {args.latency * 1000:.0f} ms per request "
                  f"(stand-in in its own process), {os.cpu_count()} CPUs")
            scan = in_process(url, specs, [args.jobs, 1])
            (fast, fast_stats), (slow, slow_stats) = scan[args.jobs], scan[1]
            print("\n1. the scan, warm process:")
            print(f"   --jobs {args.jobs:<3} {fast:7.2f} s   ({fast_stats['max_in_flight']} requests in flight at most)")
            print(f"   --jobs 1   {slow:7.2f} s")
            print(f"   speed-up   {slow / fast:7.1f}x   (target: at least 8x)")
            print(f"   client CPU {fast_stats['cpu'] / n_files * 1000:.1f} ms per file (one core, the GIL): "
                  f"--jobs {args.jobs} cannot beat {fast_stats['cpu']:.2f} s; load average now "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            s = fast_stats
            print(f"   per file:  {s['ranged_requests'] / n_files:.2f} range requests, "
                  f"{s['file_bytes'] / n_files / 1024:.0f} KiB transferred; "
                  f"{s['api_requests']} API requests for {args.repos} repos; {s['failed']} failed")
            cli = whole_command(url, specs, [args.jobs, 1], env)
            print("\n2. the whole `quantlint scan` command, start-up included:")
            print(f"   --jobs {args.jobs:<3} {cli[args.jobs]:7.2f} s")
            print(f"   --jobs 1   {cli[1]:7.2f} s")
            print(f"   speed-up   {cli[1] / cli[args.jobs]:7.1f}x")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
