"""Truth harness for quantlint's memory estimate: build llama.cpp, run it on real GGUFs, compare.

    python benchmarks/memory_truth.py            # build if needed, run every setting, write both files
    python benchmarks/memory_truth.py --docs     # only rewrite docs/memory.md from the recorded JSON
    python benchmarks/memory_truth.py --quick    # one context per model (a smoke run)

What it does:

1. **Build** llama.cpp's `llama-completion` from the source vendored in the pinned
   llama-cpp-python sdist (`pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36`,
   llama.cpp commit 0c1e57098): CMake Release, CPU only, GGML_NATIVE=ON, static, one target,
   `nice -n 19`, `-j2`, in ~/.cache/quantlint/llama.cpp-build (or $QUANTLINT_LLAMA_BUILD). The
   build is cached: a second run reuses the binary. It took 11 minutes (6.6 minutes of CPU) on the
   project's shared 2-core machine: a one-time cost, recorded in build-time.txt next to the build.
2. **Run** `llama-completion -m FILE -c CTX -ctk T -ctv T -fa on|off -ngl 0 -fit off -n 4 -p hi
   -no-cnv -t 2 -lv 4` for each file (the real Gemma 3 270M Q4_K_M and SmolLM2-135M-Instruct Q4_1
   that benchmarks/fetch_inputs.py fetches), context (4096/16384/32768; SmolLM2 is trained for
   8192, so 2048/4096/8192), cache type (f16/q8_0/q4_0) and flash attention (on/off; a quantized V
   cache with flash attention off is refused by llama.cpp and recorded as such).
3. **Parse** llama.cpp's own buffer lines (`CPU_Mapped model buffer size`, `CPU_REPACK model
   buffer size`, `KV buffer size`, `compute buffer size`, `output buffer size`).
4. **Compare** with quantlint.runtime.memory.estimate_memory at the same settings, and write
   benchmarks/memory_truth.json (the recorded numbers the tests check the formulas against) and
   the table in docs/memory.md.

Not part of CI (the build alone is far too slow). Exit 0 on success, 1 when an estimate misses
by more than 10% or a KV cache is not exact, 2 when llama.cpp cannot be built or run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SDIST = "llama-cpp-python==0.3.36"
SDIST_DIR = "llama_cpp_python-0.3.36"
COMMIT = "0c1e57098"
RESULTS = ROOT / "benchmarks" / "memory_truth.json"
DOC = ROOT / "docs" / "memory.md"
TOLERANCE = 0.10
MIB = 1024 ** 2

MODELS = {
    "gemma-3-270m-q4_k_m": {"path": "gemma/gemma-3-270m-q4_k_m.gguf", "label": "Gemma 3 270M Q4_K_M (vocab 262,144)",
                            "contexts": (4096, 16384, 32768)},
    "smollm2-135m-q4_1": {"path": "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                          "label": "SmolLM2-135M-Instruct Q4_1 (vocab 49,152)", "contexts": (2048, 4096, 8192)},
}
CACHE_TYPES = ("f16", "q8_0", "q4_0")
# Settings beyond the grid, at each model's middle context, f16 cache: (llama.cpp arguments, plan fields).
# (-kvu is a llama-server/batched option: llama-completion refuses it.)
EXTRAS: tuple[tuple[tuple[str, ...], dict], ...] = (
    (("-ub", "128"), {"n_ubatch": 128}),
    (("-b", "256", "-ub", "256", "-fa", "off"), {"n_batch": 256, "n_ubatch": 256, "flash_attention": False}),
    (("-np", "2"), {"n_parallel": 2}),
    (("-lm", "none"), {"no_mmap": True}),
    (("-b", "2048", "-ub", "2048"), {"n_batch": 2048, "n_ubatch": 2048}),
    (("-b", "2048", "-ub", "2048", "-fa", "off"), {"n_batch": 2048, "n_ubatch": 2048, "flash_attention": False}),
    # at the longest context: for SmolLM2 the attention scores [8192, 2048, 9] outgrow the logits
    (("-b", "2048", "-ub", "2048", "-fa", "off", "LONGEST"), {"n_batch": 2048, "n_ubatch": 2048, "flash_attention": False}),
)

# llama.cpp's load log at -lv 4 (src/llama-model.cpp load_tensors, llama-kv-cache.cpp,
# llama-context.cpp): "<time> I <fn>: <buffer> <what> buffer size = <n> MiB"
LINE = re.compile(r"(?P<fn>\w+):\s+(?P<buf>\S+)\s+(?P<what>model|KV|output|compute) buffer size\s*=\s*(?P<mib>[\d.]+) MiB")


def cache_root() -> Path:
    base = os.environ.get("QUANTLINT_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "quantlint"


def build_dir() -> Path:
    env = os.environ.get("QUANTLINT_LLAMA_BUILD")
    return Path(env) if env else cache_root() / "llama.cpp-build"


def binary() -> Path:
    return build_dir() / "build" / "bin" / "llama-completion"


def ensure_build() -> Path:
    """The llama-completion binary, built once from the pinned sdist's vendored llama.cpp."""
    exe = binary()
    if exe.is_file():
        return exe
    root = build_dir()
    src = root / "src"
    src.mkdir(parents=True, exist_ok=True)
    vendored = src / SDIST_DIR / "vendor" / "llama.cpp"
    if not vendored.is_dir():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", SDIST,
                        "-d", str(src)], check=True)
        with tarfile.open(next(src.glob("llama_cpp_python-*.tar.gz"))) as tar:
            tar.extractall(src, filter="data")
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    started = time.monotonic()
    subprocess.run(["nice", "-n", "19", "cmake", "-S", str(vendored), "-B", str(root / "build"), *generator,
                    "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", "-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF",
                    "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=OFF",
                    "-DBUILD_SHARED_LIBS=OFF"], check=True)
    subprocess.run(["nice", "-n", "19", "cmake", "--build", str(root / "build"), "--target", "llama-completion",
                    "-j2"], check=True)
    (root / "build-time.txt").write_text(f"{time.monotonic() - started:.0f} s to configure and build llama-completion\n")
    return exe


def parse_buffers(log: str) -> dict[str, float]:
    """MiB per component from llama.cpp's buffer lines; KV lines (one per cache of an iSWA
    model) are added up."""
    out = {"mapped": 0.0, "repack": 0.0, "kv": 0.0, "compute": 0.0, "output": 0.0}
    for line in log.splitlines():
        m = LINE.search(line)
        if not m:
            continue
        mib, buf, what = float(m["mib"]), m["buf"], m["what"]
        if what == "model":
            out["repack" if "REPACK" in buf else "mapped"] += mib
        elif what == "KV":
            out["kv"] += mib
        else:
            out[what] += mib
    return out


def run_llama(exe: Path, model: Path, ctx: int, cache: str, fa: str,
              extra: tuple[str, ...] = ()) -> tuple[dict[str, float] | None, str]:
    cmd = [str(exe), "-m", str(model), "-c", str(ctx), "-ctk", cache, "-ctv", cache, "-fa", fa, "-ngl", "0",
           "-fit", "off", "-n", "4", "-p", "hi", "-no-cnv", "-t", "2", "-lv", "4", *extra]
    proc = subprocess.run(["nice", "-n", "10", *cmd], capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    log = proc.stdout + proc.stderr
    buffers = parse_buffers(log)
    if proc.returncode != 0 or not buffers["compute"]:
        reason = next((ln.strip() for ln in log.splitlines() if "requires" in ln or "error" in ln.lower()), "failed")
        return None, re.sub(r"^[\d.]+ [EWID] ", "", reason)[:200]  # drop llama.cpp's timestamp
    return buffers, ""


def estimate(model_path: Path, ctx: int, cache: str, fa: bool, plan_fields: dict | None = None) -> dict[str, float]:
    from quantlint.lint import read_target
    from quantlint.runtime.memory import estimate_memory
    from quantlint.settings import RuntimePlan
    from quantlint.targets import expand

    [target] = list(expand([str(model_path)]))
    model = read_target(target, None)
    fields = {"flash_attention": fa, **(plan_fields or {})}
    est = estimate_memory(model, RuntimePlan(ctx_size=ctx, cache_type_k=cache, cache_type_v=cache, **fields))
    names = {"weights": "mapped", "repack": "repack", "KV cache": "kv", "compute": "compute", "output": "output"}
    out = {key: 0.0 for key in names.values()}
    for c in est.components:
        out[names[c.name]] += c.bytes / MIB
    return out


def run_all(quick: bool, extras_only: bool = False, only: str | None = None) -> list[dict]:
    exe = ensure_build()
    rows: list[dict] = []
    for key, spec in MODELS.items():
        path = cache_root() / spec["path"]
        if not path.is_file():
            print(f"memory_truth: {path} is missing (run benchmarks/fetch_inputs.py); skipped", file=sys.stderr)
            continue
        for ctx in () if extras_only else spec["contexts"][:1] if quick else spec["contexts"]:
            for cache in CACHE_TYPES:
                for fa in ("on", "off"):
                    measured, refused = run_llama(exe, path, ctx, cache, fa)
                    row = {"model": key, "ctx": ctx, "cache": cache, "fa": fa, "measured_mib": measured,
                           "estimate_mib": estimate(path, ctx, cache, fa == "on")}
                    if refused:
                        row["refused"] = refused
                    rows.append(row)
                    _progress(row)
        if quick:
            continue
        for args, fields in EXTRAS:
            if only and only not in " ".join(args):
                continue
            ctx = spec["contexts"][-1 if "LONGEST" in args else 1]
            fa = "off" if fields.get("flash_attention") is False else "on"
            extra = tuple(a for a in args if a not in ("-fa", "off", "LONGEST"))
            measured, refused = run_llama(exe, path, ctx, "f16", fa, extra)
            row = {"model": key, "ctx": ctx, "cache": "f16", "fa": fa, "extra": " ".join(extra),
                   "plan": fields, "measured_mib": measured, "estimate_mib": estimate(path, ctx, "f16", fa == "on", fields)}
            if refused:
                row["refused"] = refused
            rows.append(row)
            _progress(row)
    return rows


def _progress(row: dict) -> None:
    measured = row["measured_mib"]
    print(f"{row['model']} ctx {row['ctx']} {row['cache']} fa {row['fa']} {row.get('extra', '')}: "
          + (row.get("refused") or f"measured {sum(measured.values()):.1f} MiB, estimate "
             f"{sum(row['estimate_mib'].values()):.1f} MiB"), file=sys.stderr)


def _old_estimate(row: dict) -> float:
    """quantlint 0.1.0: the tensor bytes + the KV cache + a fixed 600 MB (MiB)."""
    est = row["estimate_mib"]
    weights = est["mapped"] + (est["repack"] if row.get("plan", {}).get("no_mmap") else 0)
    return weights + est["kv"] + 600e6 / MIB


def write_doc(doc: dict) -> None:
    lines = [
        "# Memory estimate vs what llama.cpp allocates",
        "",
        "quantlint estimates the buffers llama.cpp allocates, component by component",
        "(quantlint/runtime/memory.py and components.py; `quantlint inspect FILE` shows each with its",
        "source). This table is written by `benchmarks/memory_truth.py`, which builds llama.cpp's",
        f"`llama-completion` from the source vendored in the llama-cpp-python 0.3.36 sdist (llama.cpp commit",
        f"{doc['llama_cpp']}), CPU only, and runs it on real GGUFs with `-lv 4`, reading llama.cpp's own buffer",
        "lines. Figures in MiB: `mapped` = CPU_Mapped model buffer, `repack` = CPU_REPACK, `kv` = KV cache",
        "(both caches of an iSWA model), `compute` = compute buffer, `output` = output buffer. Default batch",
        "sizes (-b 2048 -ub 512), one sequence, mmap on, 2 threads, unless `other flags` says otherwise. The",
        "last column is what quantlint 0.1.0 estimated (tensor bytes + KV + a fixed 600 MB), for comparison.",
        "",
        f"Machine: {doc['machine']}. Build: {doc['build']}.",
        "",
        "| file | ctx | K=V | FA | other flags | measured mapped | repack | kv | compute | output | **measured sum** | estimate kv | estimate compute | **estimate sum** | error | 0.1.0 (+600 MB) |",
        "|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in doc["rows"]:
        label = MODELS[row["model"]]["label"]
        est = row["estimate_mib"]
        if row["measured_mib"] is None:
            lines.append(f"| {label} | {row['ctx']} | {row['cache']} | {row['fa']} | {row.get('extra', '')} | "
                         f"refused by llama.cpp: {row.get('refused', '')} |||||||||| ")
            continue
        m = row["measured_mib"]
        total_m, total_e = sum(m.values()), sum(est.values())
        lines.append(f"| {label} | {row['ctx']} | {row['cache']} | {row['fa']} | {row.get('extra', '')} | {m['mapped']:.1f} | {m['repack']:.1f} | "
                     f"{m['kv']:.1f} | {m['compute']:.1f} | {m['output']:.2f} | **{total_m:.1f}** | {est['kv']:.1f} | "
                     f"{est['compute']:.1f} | **{total_e:.1f}** | {100 * (total_e - total_m) / total_m:+.1f}% | "
                     f"{100 * (_old_estimate(row) - total_m) / total_m:+.0f}% |")
    ok = [r for r in doc["rows"] if r["measured_mib"]]
    worst = max((abs(sum(r["estimate_mib"].values()) / sum(r["measured_mib"].values()) - 1) for r in ok), default=0)
    kv_exact = all(abs(r["estimate_mib"]["kv"] - r["measured_mib"]["kv"]) < 0.01 for r in ok)
    lines += [
        "",
        f"Largest total error: {100 * worst:.1f}% over {len(ok)} measured settings (target ±10%). KV cache "
        + ("exact in every setting (to llama.cpp's two printed decimals)." if kv_exact else "NOT exact in every setting."),
        "",
        "## What the components are",
        "",
        "- **weights (mapped)**: with mmap llama.cpp maps the span of the tensor data; without it (`--no-mmap`,",
        "  `-lm none`) the tensors that are not repacked are read into a CPU buffer.",
        "- **repack** (CPU only): weights of a type the CPU kernels re-lay out (x86 AVX2: Q4_0, Q4_K, IQ4_NL,",
        "  MXFP4 with a row count divisible by 8; AVX-512 adds Q2_K; ARM adds Q5_K, Q6_K, Q8_0) get a second",
        "  copy in CPU_REPACK (`ggml-cpu/repack.cpp`). With mmap the mapped copy stays in the span but is never",
        "  read again: those are clean file pages the OS can drop, so QL202 and `pick` compare the buffers",
        "  less them with the budget (`fit_bytes`), while the total above is the plain sum llama.cpp logs.",
        "- **KV cache**: exact, per layer, sliding-window caches sized min(n_ctx, window x n_seq + n_ubatch).",
        "- **compute**: the graph allocator's peak for one n_ubatch micro-batch: the f32 logits",
        "  n_vocab x n_ubatch x 4 (512 MiB for a 262k vocabulary), or, with flash attention off, the f32",
        "  attention scores n_kv x n_ubatch x n_head x 4 plus the KQ mask when they are larger (long contexts).",
        "- **output**: f32 logits for one output per sequence, n_vocab x n_seq x 4.",
        "",
        "On a GPU with every layer offloaded (`-ngl 99`) the estimate drops the repack buffer, keeps the",
        "compute buffer on the device and adds a small host compute buffer (n_embd x n_ubatch x 4); that",
        "case is not measured here (no GPU on this machine).",
        "",
        "## Re-running",
        "",
        "```",
        "python benchmarks/fetch_inputs.py          # the real Gemma and SmolLM2 files",
        "python benchmarks/memory_truth.py          # builds llama.cpp once (cached), runs, rewrites this file",
        "python benchmarks/memory_truth.py --docs   # this file from benchmarks/memory_truth.json only",
        "```",
        "",
        "The build is cached in ~/.cache/quantlint/llama.cpp-build (set QUANTLINT_LLAMA_BUILD to move it). The",
        "recorded numbers are in benchmarks/memory_truth.json; tests/test_memory_truth.py checks the formulas",
        "against them.",
        "",
    ]
    DOC.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", action="store_true", help="only rewrite docs/memory.md from the recorded JSON")
    parser.add_argument("--quick", action="store_true", help="one context per model")
    parser.add_argument("--extras", action="store_true",
                        help="only the settings beyond the grid, merged into the recorded JSON")
    parser.add_argument("--only", metavar="FLAGS", help="with --extras: only the extra settings whose flags contain FLAGS")
    args = parser.parse_args()
    if args.docs:
        doc = json.loads(RESULTS.read_text())
    else:
        try:
            rows = run_all(args.quick, args.extras, args.only)
        except (subprocess.CalledProcessError, OSError, StopIteration) as exc:
            print(f"memory_truth: cannot build or run llama.cpp: {exc}", file=sys.stderr)
            return 2
        if args.extras and RESULTS.is_file():
            def key(r: dict) -> tuple:
                return r["model"], r["ctx"], r["cache"], r["fa"], r.get("extra", "")
            new = {key(r) for r in rows}
            rows = [r for r in json.loads(RESULTS.read_text())["rows"] if key(r) not in new] + rows
        build_time = build_dir() / "build-time.txt"
        doc = {"llama_cpp": COMMIT, "sdist": SDIST, "machine": f"{os.cpu_count()} cores, {_cpu_name()}",
               "build": build_time.read_text().strip() if build_time.is_file() else "cached",
               "command": "llama-completion -m FILE -c CTX -ctk T -ctv T -fa on|off -ngl 0 -fit off -n 4 -p hi "
                          "-no-cnv -t 2 -lv 4", "rows": rows}
        RESULTS.write_text(json.dumps(doc, indent=1) + "\n")
    write_doc(doc)
    bad = [r for r in doc["rows"] if r["measured_mib"] and (
        abs(sum(r["estimate_mib"].values()) / sum(r["measured_mib"].values()) - 1) > TOLERANCE
        or abs(r["estimate_mib"]["kv"] - r["measured_mib"]["kv"]) >= 0.01)]
    for r in bad:
        print(f"memory_truth: off target: {r['model']} ctx {r['ctx']} {r['cache']} fa {r['fa']}", file=sys.stderr)
    return 1 if bad else 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    raise SystemExit(main())
