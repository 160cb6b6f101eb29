"""`quantlint check PATH...` (the default command): lint files, folders and remote targets."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from quantlint.cli import WIDTH_HELP, Color, FlashAttn, OutputFormat, Severity, _color_choice, _err, app
from quantlint.config import CliValues

RUNTIME_HELP = "llama.cpp, ollama, exllamav2, exllamav3, vllm or transformers."
FA_HELP = "Planned flash attention: on, off or auto (llama.cpp's -fa; auto is on where llama.cpp turns it on)."
UBATCH_HELP = "Planned micro-batch (llama.cpp's -ub, default 512): the compute buffer holds n_vocab x n_ubatch f32 logits."
NGL_HELP = "Planned GPU layers (llama.cpp's -ngl): any positive number sizes the buffers for a GPU (no CPU repack)."


@app.command("check")
def check_command(
    paths: list[str] = typer.Argument(..., metavar="PATH...", help="GGUF files, model folders, folders to search, or Hugging Face repos (org/repo, org/repo:file.gguf, hf://...)."),
    output_format: Optional[OutputFormat] = typer.Option(None, "--output-format", envvar="QUANTLINT_OUTPUT_FORMAT",
                                                         help="full (default), concise, json, json-lines, sarif, github."),
    output_file: Optional[str] = typer.Option(None, "-o", "--output-file", help="Write the report to a file instead of stdout."),
    fail_on: Optional[Severity] = typer.Option(None, "--fail-on", help="Exit 1 when a finding is at or above this severity (default error)."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even with findings (2 still means a crash)."),
    floor: Optional[str] = typer.Option(None, "--floor", help="Quality floor as a llama.cpp quant label (default Q4_K_M)."),
    profile: Optional[str] = typer.Option(None, "--profile", help="default, or high-stakes (floor Q5_K_M)."),
    select: Optional[list[str]] = typer.Option(None, "--select", help="Only these rules: codes, prefixes (QL9) or names."),
    extend_select: Optional[list[str]] = typer.Option(None, "--extend-select", help="Add rules to the selection."),
    ignore: Optional[list[str]] = typer.Option(None, "--ignore", help="Skip these rules: codes, prefixes or names."),
    statistics: bool = typer.Option(False, "--statistics", help="Print one line per rule with its count instead of the findings."),
    color: Color = typer.Option(Color.auto, "--color", help="auto (honours NO_COLOR / FORCE_COLOR), always, never."),
    width: Optional[int] = typer.Option(None, "--width", help=WIDTH_HELP),
    sarif_root: Optional[str] = typer.Option(None, "--sarif-root", help="SARIF file URIs are relative to this folder (default: the working directory)."),
    config: Optional[str] = typer.Option(None, "--config", help="A config file (pyproject.toml, quantlint.toml) to use instead of the nearest one."),
    isolated: bool = typer.Option(False, "--isolated", help="Ignore every config file."),
    show_settings: bool = typer.Option(False, "--show-settings", help="Print the resolved settings and exit."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Suppress findings recorded (with a reason) in this baseline file."),
    write_baseline: Optional[str] = typer.Option(None, "--write-baseline", help="Write the current findings to a baseline file and exit 0."),
    ctx_size: Optional[int] = typer.Option(None, "-c", "--ctx-size", help="Planned context length (llama.cpp's -c)."),
    cache_type_k: Optional[str] = typer.Option(None, "-ctk", "--cache-type-k", help="Planned K-cache type: f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1."),
    cache_type_v: Optional[str] = typer.Option(None, "-ctv", "--cache-type-v", help="Planned V-cache type (same values as -ctk)."),
    memory: Optional[str] = typer.Option(None, "--memory", help="Memory budget, e.g. 24GiB, or one per device: 24GiB,24GiB."),
    flash_attn: Optional[FlashAttn] = typer.Option(None, "-fa", "--flash-attn", help=FA_HELP),
    batch: Optional[int] = typer.Option(None, "-b", "--batch-size", help="Planned logical batch (llama.cpp's -b, default 2048)."),
    ubatch: Optional[int] = typer.Option(None, "-ub", "--ubatch-size", help=UBATCH_HELP),
    parallel: Optional[int] = typer.Option(None, "-np", "--parallel", help="Planned parallel sequences (llama.cpp's -np, default 1)."),
    gpu_layers: Optional[int] = typer.Option(None, "-ngl", "--gpu-layers", "--n-gpu-layers", help=NGL_HELP),
    no_mmap: bool = typer.Option(False, "--no-mmap", help="Planned without mmap (llama.cpp's --no-mmap / -lm none)."),
    runtime: Optional[str] = typer.Option(None, "--runtime", help=RUNTIME_HELP),
    expect: Optional[str] = typer.Option(None, "--expect", help="The model you believe this is (ORG/NAME), e.g. meta-llama/Llama-3.1-8B-Instruct."),
    card: Optional[str] = typer.Option(None, "--card", help="Read this model card (README.md) instead of the one next to the model."),
    offline: bool = typer.Option(False, "--offline", envvar="HF_HUB_OFFLINE", help="Never use the network: remote targets come from the local Hugging Face cache."),
    lfs_remote: Optional[str] = typer.Option(None, "--lfs-remote", help="For Git LFS pointers, lint the real file in this Hugging Face repo (ORG/REPO) instead."),
) -> None:
    """Lint model files and folders (the default command)."""
    from quantlint.check_run import run_check

    values = CliValues(
        paths=paths, output_format=output_format.value if output_format else None, output_file=output_file,
        fail_on=fail_on.value if fail_on else None, exit_zero=exit_zero, floor=floor, profile=profile,
        select=select, extend_select=extend_select, ignore=ignore, statistics=statistics,
        color=_color_choice(color), width=width, sarif_root=sarif_root, config=config, isolated=isolated, baseline=baseline,
        write_baseline=write_baseline, ctx_size=ctx_size, cache_type_k=cache_type_k,
        cache_type_v=cache_type_v, memory=memory, flash_attn=flash_attn.value if flash_attn else None,
        batch=batch, ubatch=ubatch, parallel=parallel, gpu_layers=gpu_layers, no_mmap=no_mmap, runtime=runtime, expect=expect, card=card,
        offline=bool(offline), lfs_remote=lfs_remote,
    )
    raise typer.Exit(run_check(values, show_settings))
