"""The memory model against what a real llama.cpp build allocated.

benchmarks/memory_truth.py built llama.cpp 0c1e57098 (from the llama-cpp-python 0.3.36 sdist),
ran it on the real Gemma 3 270M Q4_K_M and SmolLM2-135M-Instruct Q4_1 files and recorded
llama.cpp's own buffer sizes in benchmarks/memory_truth.json. These tests hold the formulas to
those numbers: on the real files where they are present (Gemma is fetched for CI), and on a
model of SmolLM2's shape for the parts that depend only on the shape (KV, compute, output).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.ggufgen import model_spec, write_gguf
from quantlint.runtime.memory import MIB, estimate_memory
from quantlint.settings import RuntimePlan
from tests.conftest import gemma_path, lint_model_path
from tests.test_memory_model import SMOL

RECORDED = Path(__file__).resolve().parent.parent / "benchmarks" / "memory_truth.json"
ROWS = [r for r in json.loads(RECORDED.read_text())["rows"] if r["measured_mib"]]
REFUSED = [r for r in json.loads(RECORDED.read_text())["rows"] if not r["measured_mib"]]
SMOLLM2 = Path.home() / ".cache" / "quantlint" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
TOLERANCE = 0.10
ROUNDING_MIB = 0.005 * 5  # llama.cpp prints each of the five buffers to 0.01 MiB


def _buffers_bytes(row: dict) -> int:
    """llama.cpp's buffers, rounded up by what printing them to two decimals may have cut."""
    return int((sum(row["measured_mib"].values()) + ROUNDING_MIB) * MIB)
_models: dict[str, object] = {}


def _ids(rows: list[dict]) -> list[str]:
    return [f"{r['model']}-{r['ctx']}-{r['cache']}-fa{r['fa']}" + (f"-{r['extra']}" if r.get("extra") else "")
            for r in rows]


def _plan(row: dict) -> RuntimePlan:
    fields = {"flash_attention": row["fa"] == "on", **row.get("plan", {})}
    return RuntimePlan(ctx_size=row["ctx"], cache_type_k=row["cache"], cache_type_v=row["cache"], **fields)


def _real(name: str):
    path = gemma_path() if name.startswith("gemma") else (SMOLLM2 if SMOLLM2.is_file() else None)
    if path is None:
        pytest.skip(f"the real file for {name} is not present (run benchmarks/fetch_inputs.py)")
    if name not in _models:
        _models[name] = lint_model_path(path)[0]
    return _models[name]


def test_the_record_covers_the_issue_grid():
    contexts = {r["ctx"] for r in ROWS if r["model"].startswith("gemma")}
    assert {4096, 16384, 32768} <= contexts
    assert {r["cache"] for r in ROWS} >= {"f16", "q8_0", "q4_0"} and {r["fa"] for r in ROWS} == {"on", "off"}
    # llama.cpp refuses a quantized V cache without flash attention; the record says so
    assert REFUSED and all("flash_attn" in r["refused"] for r in REFUSED)


@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_total_within_ten_percent_and_kv_exact_on_the_real_file(row):
    est = estimate_memory(_real(row["model"]), _plan(row))
    measured = row["measured_mib"]
    total = sum(measured.values()) * MIB
    assert abs(est.total_bytes / total - 1) <= TOLERANCE, (est.summary(), measured)
    assert abs(est.component("KV cache") / MIB - measured["kv"]) < 0.01  # llama.cpp prints two decimals
    assert abs(est.component("repack") / MIB - measured["repack"]) < 0.01
    assert abs(est.component("output") / MIB - measured["output"]) < 0.01


@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_fits_by_llama_cpp_buffers_means_no_ql202(row):
    model = _real(row["model"])
    budget = _buffers_bytes(row)
    est = estimate_memory(model, _plan(row))
    assert est.fit_bytes <= budget  # what QL202 compares: the buffers less droppable mapped pages
    assert est.fit_bytes > budget * 0.85  # and a budget 15% short would still be caught


SMOL_ROWS = [r for r in ROWS if r["model"].startswith("smollm2")]


@pytest.fixture(scope="module")
def smol_shape(tmp_path_factory):
    path = write_gguf(tmp_path_factory.mktemp("smol") / "smol.gguf", model_spec("Q4_1", SMOL))
    return lint_model_path(path)[0]


@pytest.mark.parametrize("row", SMOL_ROWS, ids=_ids(SMOL_ROWS))
def test_shape_only_parts_hold_without_the_file(smol_shape, row):
    """KV, compute and output depend on the shape alone: checked on a SmolLM2-shaped model."""
    est = estimate_memory(smol_shape, _plan(row))
    measured = row["measured_mib"]
    assert abs(est.component("KV cache") / MIB - measured["kv"]) < 0.01
    assert abs(est.component("output") / MIB - measured["output"]) < 0.01
    assert abs(est.component("compute") / MIB / measured["compute"] - 1) <= TOLERANCE


def test_ql202_quiet_at_llama_cpp_buffers_through_the_cli(tmp_path):
    from tests.conftest import run_cli

    row = next(r for r in ROWS if r["model"].startswith("gemma") and r["ctx"] == 32768 and r["fa"] == "off")
    path = gemma_path()
    if path is None:
        pytest.skip("the real Gemma file is not present")
    budget = f"{_buffers_bytes(row)}B"
    args = ["--output-format", "json", "-c", "32768", "-fa", "off", str(path)]
    quiet = json.loads(run_cli("--memory", budget, *args).stdout)["targets"][0]["findings"]
    assert "QL202" not in [f["code"] for f in quiet]
    loud = json.loads(run_cli("--memory", "700MiB", *args).stdout)["targets"][0]["findings"]
    assert "QL202" in [f["code"] for f in loud]
