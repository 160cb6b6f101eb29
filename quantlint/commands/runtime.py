"""`quantlint launch -- COMMAND...` and `quantlint pick PATH --memory SIZE`: lint how a model is run."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from quantlint.cli import Color, FlashAttn, OutputFormat, Severity, _color_choice, _err, app


@app.command("launch", context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
def launch_command(
    command: Optional[list[str]] = typer.Argument(None, metavar="-- COMMAND...",
                                                  help="The launch command as you run it: llama-server/llama-cli arguments, or ollama."),
    modelfile: Optional[str] = typer.Option(None, "--modelfile", help="An Ollama Modelfile (FROM, PARAMETER num_ctx)."),
    memory: Optional[str] = typer.Option(None, "--memory", help="Memory budget, e.g. 24GiB, or one per device: 24GiB,24GiB."),
    output_format: Optional[OutputFormat] = typer.Option(None, "--output-format", envvar="QUANTLINT_OUTPUT_FORMAT"),
    fail_on: Optional[Severity] = typer.Option(None, "--fail-on", help="Exit 1 at or above this severity (default error)."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even with findings."),
    floor: Optional[str] = typer.Option(None, "--floor", help="Quality floor as a llama.cpp quant label (default Q4_K_M)."),
    profile: Optional[str] = typer.Option(None, "--profile", help="default, or high-stakes (floor Q5_K_M)."),
    select: Optional[list[str]] = typer.Option(None, "--select", help="Only these rules."),
    ignore: Optional[list[str]] = typer.Option(None, "--ignore", help="Skip these rules."),
    color: Color = typer.Option(Color.auto, "--color"),
) -> None:
    """Lint the model and settings of a launch command, as written.

    quantlint launch -- llama-server -m model.gguf -c 32768 --cache-type-k q4_0
    OLLAMA_KV_CACHE_TYPE=q4_0 quantlint launch --modelfile Modelfile
    """
    from quantlint.config import CliValues, ConfigError, resolve
    from quantlint.engine import load_registry
    from quantlint.runner import run_lint
    from quantlint.runtime.launch import LaunchError, parse_launch

    try:
        launch = parse_launch(list(command or []), modelfile=modelfile)
    except LaunchError as exc:
        _err(str(exc))
        raise typer.Exit(2)
    if launch.model is None:
        _err(f"the {launch.program} command names no model (-m/--model, -hf, or a Modelfile FROM)")
        raise typer.Exit(2)
    for note in launch.notes:
        sys.stderr.write(f"quantlint: note: {note}\n")
    registry = load_registry()
    plan = launch.plan
    values = CliValues(
        paths=[launch.model], output_format=output_format.value if output_format else None,
        fail_on=fail_on.value if fail_on else None, exit_zero=exit_zero, floor=floor, profile=profile,
        select=select, ignore=ignore, color=_color_choice(color), ctx_size=plan.ctx_size,
        cache_type_k=plan.cache_type_k, cache_type_v=plan.cache_type_v, memory=memory, runtime=plan.runtime,
    )
    try:
        resolved = resolve(values, registry)
    except ConfigError as exc:
        _err(str(exc))
        raise typer.Exit(2)
    for name in ("gpu_layers", "flash_attention", "n_batch", "n_ubatch", "n_parallel", "kv_unified", "no_mmap",
                 "no_repack", "source"):
        setattr(resolved.settings.plan, name, getattr(plan, name))
    raise typer.Exit(run_lint(resolved, registry))


@app.command("pick")
def pick_command(
    paths: list[str] = typer.Argument(..., metavar="PATH...", help="A folder of GGUF quants of one model (or org/repo once remote support is installed)."),
    memory: str = typer.Option(..., "--memory", help="Memory budget, e.g. 24GiB, or one per device: 24GiB,24GiB."),
    ctx_size: Optional[int] = typer.Option(None, "-c", "--ctx", "--ctx-size", help="Planned context (default: the runtime's default, the model's training context for llama.cpp)."),
    cache_type_k: Optional[str] = typer.Option(None, "-ctk", "--cache-type-k", help="Planned K-cache type (default f16)."),
    cache_type_v: Optional[str] = typer.Option(None, "-ctv", "--cache-type-v", help="Planned V-cache type (default f16)."),
    flash_attn: Optional[FlashAttn] = typer.Option(None, "-fa", "--flash-attn", help="Planned flash attention: on, off or auto."),
    batch: Optional[int] = typer.Option(None, "-b", "--batch-size", help="Planned logical batch (default 2048)."),
    ubatch: Optional[int] = typer.Option(None, "-ub", "--ubatch-size", help="Planned micro-batch (default 512)."),
    parallel: Optional[int] = typer.Option(None, "-np", "--parallel", help="Planned parallel sequences (default 1)."),
    gpu_layers: Optional[int] = typer.Option(None, "-ngl", "--gpu-layers", "--n-gpu-layers", help="Planned GPU layers: any positive number sizes for a GPU."),
    no_mmap: bool = typer.Option(False, "--no-mmap", help="Planned without mmap."),
    floor: Optional[str] = typer.Option(None, "--floor", help="Quality floor (default Q4_K_M)."),
    profile: Optional[str] = typer.Option(None, "--profile", help="default, or high-stakes (floor Q5_K_M)."),
    runtime: Optional[str] = typer.Option(None, "--runtime", help="llama.cpp (default) or ollama: sets the default context."),
    offline: bool = typer.Option(False, "--offline", envvar="HF_HUB_OFFLINE", help="Hub repos come from the local Hugging Face cache."),
    as_json: bool = typer.Option(False, "--json", help="Print the candidates and the choice as JSON."),
) -> None:
    """The best quant that fits a memory budget: the highest tier that passes the quality rules.

    Exit 0 when a quant at or above the floor fits, 1 when only a sub-floor one (or none) does.
    """
    from quantlint.config import CliValues, ConfigError, resolve
    from quantlint.engine import load_registry
    from quantlint.runtime.pick import rank, read_models, write_table

    values = CliValues(paths=paths, floor=floor, profile=profile, ctx_size=ctx_size, cache_type_k=cache_type_k,
                       cache_type_v=cache_type_v, memory=memory, runtime=runtime,
                       offline=bool(offline), flash_attn=flash_attn.value if flash_attn else None, batch=batch,
                       ubatch=ubatch, parallel=parallel, gpu_layers=gpu_layers, no_mmap=no_mmap)
    try:
        settings = resolve(values, load_registry()).settings
    except ConfigError as exc:
        _err(str(exc))
        raise typer.Exit(2)
    if not settings.plan.memory_bytes:
        _err("--memory needs a size, e.g. 24GiB")
        raise typer.Exit(2)
    errors: list[str] = []
    models = read_models(paths, settings, errors)
    for error in errors:
        _err(error)
    if not models:
        _err(f"no model found in {', '.join(paths)}")
        raise typer.Exit(2)
    result = rank(models, settings.plan, settings.floor)
    if as_json:
        import json

        json.dump(result.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        write_table(result, sys.stdout)
    raise typer.Exit(0 if result.ok else 1)
