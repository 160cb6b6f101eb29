"""The typer-free fast path parses plain lint command lines exactly as the typer command does."""

from __future__ import annotations

import subprocess
import sys

import pytest

from quantlint import fastcli
from quantlint.config import CliValues

SAMPLES = [
    ["model.gguf"],
    ["a.gguf", "b/", "org/repo"],
    ["--output-format", "json", "m.gguf"],
    ["--output-format=json-lines", "m.gguf"],
    ["-o", "out.sarif", "--output-format", "sarif", "m.gguf"],
    ["--fail-on", "warning", "--exit-zero", "m.gguf"],
    ["--floor", "Q5_K_M", "--profile", "high-stakes", "m.gguf"],
    ["--select", "QL1", "--select", "QL9", "--ignore", "QL101", "--extend-select", "QL601", "m.gguf"],
    ["--statistics", "--color", "never", "--isolated", "--config", "q.toml", "m.gguf"],
    ["--width", "100", "m.gguf"],
    ["--width=72", "--color", "always", "m.gguf"],
    ["--output-format", "sarif", "--sarif-root", "repo", "repo/m.gguf"],
    ["-c", "8192", "-ctk", "q4_0", "-ctv", "q8_0", "--memory", "24GiB,24GiB", "--runtime", "llama.cpp", "m.gguf"],
    ["--ctx-size=4096", "--cache-type-k=q8_0", "m.gguf"],
    ["-fa", "off", "-ub", "256", "-b", "1024", "-np", "4", "-ngl", "99", "--no-mmap", "--memory", "8GiB", "m.gguf"],
    ["--flash-attn=auto", "--ubatch-size=128", "--batch-size=512", "--parallel=2", "--gpu-layers=0", "m.gguf"],
    ["--expect", "meta-llama/Llama-3.1-8B-Instruct", "--card", "README.md", "--offline", "m.gguf"],
    ["--lfs-remote", "org/repo", "--baseline", "b.json", "m.gguf"],
]


def _typer_values(argv: list[str], monkeypatch) -> CliValues:
    from typer.testing import CliRunner

    import quantlint.check_run as check_run
    from quantlint.cli import app

    seen: list[CliValues] = []
    monkeypatch.setattr(check_run, "run_check", lambda values, show_settings=False: seen.append(values) or 0)
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    return seen[0]


@pytest.mark.parametrize("argv", SAMPLES, ids=[" ".join(a) for a in SAMPLES])
def test_fast_path_matches_typer(argv, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("QUANTLINT_OUTPUT_FORMAT", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    fast = fastcli.parse(argv)
    assert fast is not None
    assert fast == _typer_values(argv, monkeypatch)


def test_every_fast_option_exists_on_the_typer_command():
    from typer.main import get_command

    from quantlint.cli import app

    check = get_command(app).commands["check"]
    typer_flags = {opt for param in check.params for opt in getattr(param, "opts", [])}
    assert set(fastcli.OPTIONS) <= typer_flags


@pytest.mark.parametrize("argv", [
    [], ["--help"], ["-h"], ["--version"], ["rules"], ["explain", "QL101"], ["inspect", "m.gguf"],
    ["--show-settings", "m.gguf"], ["-c", "abc", "m.gguf"], ["--output-format", "xml", "m.gguf"],
    ["--no-such-flag", "m.gguf"], ["--width", "wide", "m.gguf"], ["--", "m.gguf"], ["--floor"], ["--select", "QL1"],
    ["-fa", "maybe", "m.gguf"],
])
def test_everything_else_goes_to_typer(argv):
    assert fastcli.parse(argv) is None


def test_environment_defaults_like_typer(monkeypatch):
    monkeypatch.setenv("QUANTLINT_OUTPUT_FORMAT", "json")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    fast = fastcli.parse(["m.gguf"])
    assert (fast.output_format, fast.offline, fast.color) == ("json", True, "never")
    assert fast == _typer_values(["m.gguf"], monkeypatch)


def test_a_plain_lint_never_imports_typer_or_rich(tmp_path):
    from fixtures.ggufgen import model_spec, write_gguf

    path = write_gguf(tmp_path / "m.gguf", model_spec("Q4_K_M"))
    code = ("import runpy, sys; sys.argv = ['quantlint', '--output-format', 'json', %r]\n"
            "try:\n    runpy.run_module('quantlint', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('typer', 'rich', 'huggingface_hub', 'numpy', 'gguf', 'safetensors') if m in sys.modules]\n"
            "print('HEAVY', heavy, file=sys.stderr)") % str(path)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in proc.stderr, proc.stderr
