"""quantlint against gguf-py's GGUFReader on the real Gemma 3 270M Q4_K_M, whole process.

    python benchmarks/bench_gguf.py [--runs 5] [--file PATH]

Fetches the file first (benchmarks/fetch_inputs.py, its own cache), then alternates
`quantlint --output-format json FILE` (the file under its own name, and renamed: a name must
not change the cost) and `python -c "import gguf; gguf.GGUFReader(FILE)"`, and prints
medians, min-max, peak RSS, the ratio, and the bytes quantlint read.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.fetch_inputs import fetch_gemma  # noqa: E402
from benchmarks.harness import Tool, compare, table  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--file", type=Path, default=None)
    args = parser.parse_args()
    path = args.file or fetch_gemma()
    if path is None:
        print("no input file", file=sys.stderr)
        return 1
    from benchmarks.bench_peers import ensure_quantlint, ensure_venv, renamed_copy

    reader_python = str(ensure_venv("gguf") / "bin" / "python")
    quantlint = ensure_quantlint()
    tools = [
        Tool("quantlint", [quantlint, "--output-format", "json", str(path)]),
        Tool("quantlint (renamed copy)", [quantlint, "--output-format", "json", str(renamed_copy(path))]),
        Tool("gguf.GGUFReader", [reader_python, "-c", f"import gguf; gguf.GGUFReader({str(path)!r})"]),
    ]
    timings = compare(tools, runs=args.runs, warmup=1)
    print(f"file: {path} ({path.stat().st_size:,} bytes), {args.runs} counted runs after 1 warm-up, alternating\n")
    print(table(timings, "quantlint"))
    out = subprocess.run(tools[0].argv, capture_output=True, text=True).stdout
    facts = json.loads(out)["targets"][0]["model"]["file"]
    print(f"\nquantlint read {facts['bytes_read']:,} bytes; header {facts['header_bytes']:,} bytes "
          f"(header + {(facts['bytes_read'] - facts['header_bytes']) / 1024:.0f} KiB)")
    q, g = timings["quantlint"].median, timings["gguf.GGUFReader"].median
    print(f"ratio GGUFReader / quantlint = {g / q:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
