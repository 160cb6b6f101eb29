"""Shared test helpers: fixture factories, the real Gemma file, CLI runners."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "fixtures" / "examples"  # the committed examples the README lints
EXAMPLE_Q2 = EXAMPLES / "tiny-llama-instruct-Q2_K.gguf"
EXAMPLE_Q4 = EXAMPLES / "tiny-llama-instruct-Q4_K_M.gguf"
REALDATA = SHARED / "realdata"
GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA_SIZE = 253_113_024


def gemma_path() -> Path | None:
    """The real Gemma 3 270M Q4_K_M, assembled by benchmarks/fetch_inputs.py (or QUANTLINT_GEMMA)."""
    candidates = [os.environ.get("QUANTLINT_GEMMA", ""),
                  str(Path.home() / ".cache" / "quantlint" / "gemma" / "gemma-3-270m-q4_k_m.gguf")]
    for c in candidates:
        if c and Path(c).is_file() and Path(c).stat().st_size == GEMMA_SIZE:
            return Path(c)
    return None


@pytest.fixture
def gemma() -> Path:
    path = gemma_path()
    if path is None:
        pytest.skip("the real Gemma 3 270M file is not present (run benchmarks/fetch_inputs.py)")
    return path


@pytest.fixture
def make_gguf(tmp_path):
    """make_gguf(filename, ftype, **model_spec kwargs) -> Path of a generated GGUF."""
    from fixtures.ggufgen import model_spec, write_gguf

    def _make(filename: str, ftype: str = "Q4_K_M", **kwargs) -> Path:
        return write_gguf(tmp_path / filename, model_spec(ftype, **kwargs))

    return _make


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    """Run the real `quantlint` process (python -m quantlint), as users do."""
    full_env = {**os.environ, "NO_COLOR": "1", "HF_HUB_DISABLE_TELEMETRY": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "quantlint", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout)


def lint_json(*args: str, **kwargs) -> tuple[int, dict]:
    proc = run_cli("--output-format", "json", *args, **kwargs)
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def codes(document: dict, target_index: int = 0) -> list[str]:
    return [f["code"] for f in document["targets"][target_index]["findings"]]


def lint_model_path(path: Path | str, **settings_kwargs):
    """In-process lint of one local target: (Model, findings). Fast path for rule tests."""
    from quantlint.engine import Selection, load_registry
    from quantlint.lint import lint_model, read_target
    from quantlint.settings import LintSettings, RuntimePlan
    from quantlint.targets import expand

    targets = expand([str(path)])
    assert len(targets) == 1, targets
    model = read_target(targets[0])
    plan = settings_kwargs.pop("plan", None) or RuntimePlan()
    settings = LintSettings(plan=plan, **settings_kwargs)
    return model, lint_model(model, load_registry(), Selection(), settings)
