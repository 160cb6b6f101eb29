"""Human output: one summary line per target, its findings with hints, counts at the end."""

from __future__ import annotations

from typing import Any, TextIO

from quantlint.model import Model
from quantlint.report import summary_counts

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def make_console(stream: TextIO, options: dict[str, Any]):
    from rich.console import Console

    color = options.get("color", "auto")
    kwargs: dict[str, Any] = {"file": stream, "highlight": False, "soft_wrap": False}
    if color == "never":
        kwargs.update(color_system=None, force_terminal=False, no_color=True)
    elif color == "always":
        kwargs.update(force_terminal=True)
    width = options.get("width")
    if width:
        kwargs["width"] = width
    return Console(**kwargs)


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def human_count(n: int | None) -> str:
    if n is None:
        return "?"
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.1f}{suffix}"
    return str(n)


def model_summary(model: Model | None) -> str:
    """`GGUF gemma3 · Q4_K_M · 5.45 bpw blocks / 7.36 file · 268.1M params · ctx 32768 · MoE 128x8`"""
    if model is None:
        return "not read"
    parts = [model.format.upper()]
    if model.architecture:
        parts.append(model.architecture)
    if model.quant:
        parts.append(model.quant)
    if model.bits_per_weight is not None:
        bpw = f"{model.bits_per_weight:.2f} bpw"
        if model.bits_per_weight_file is not None and abs(model.bits_per_weight_file - model.bits_per_weight) > 0.01:
            bpw += f" blocks / {model.bits_per_weight_file:.2f} file"
        parts.append(bpw)
    if model.parameters:
        parts.append(f"{human_count(model.parameters)} params")
    if model.moe is not None:
        used = f"x{model.moe.experts_used}" if model.moe.experts_used else ""
        parts.append(f"MoE {model.moe.experts}{used}")
    if model.context_length:
        parts.append(f"ctx {model.context_length}")
    return " · ".join(parts)


def write_full(results: list[Any], stream: TextIO, options: dict[str, Any]) -> None:
    from rich.markup import escape

    console = make_console(stream, options)
    for result in results:
        findings = result.findings
        worst = findings[0].severity if findings else None
        mark = {"error": "[bold red]✗[/]", "warning": "[yellow]![/]", "info": "[cyan]i[/]"}.get(worst or "", "[green]✓[/]")
        if result.error:  # not read at all (network, gated, missing): never a green tick
            mark = "[bold red]✗[/]"
        console.print(f"{mark} [bold]{escape(result.target)}[/]  [dim]{escape(model_summary(result.model))}[/]")
        if result.error:
            console.print(f"    [bold red]error[/]: {escape(result.error)}")
        for f in findings:
            style = SEVERITY_STYLE.get(f.severity or "info", "")
            where = f" [dim]@ {escape(f.location)}[/]" if f.location else ""
            console.print(f"    [{style}]{f.code} {f.severity}[/] [dim]{f.name}[/]{where}")
            console.print(f"      {escape(f.message)}")
            if f.hint:
                console.print(f"      [green]fix:[/] {escape(f.hint)}")
    _write_totals(console, results)


def write_concise(results: list[Any], stream: TextIO, options: dict[str, Any]) -> None:
    """`path: CODE severity message` - one line per finding, like ruff's concise output."""
    for result in results:
        if result.error:
            stream.write(f"{result.target}: error: {result.error}\n")
        for f in result.findings:
            where = f" [{f.location}]" if f.location else ""
            stream.write(f"{result.target}: {f.code} {f.severity}{where} {f.message}\n")
    counts = summary_counts(results)
    stream.write(_totals_text(counts) + "\n")


def _totals_text(counts: dict[str, int]) -> str:
    total = counts["error"] + counts["warning"] + counts["info"]
    targets = counts["targets"]
    noun = "target" if targets == 1 else "targets"
    if total == 0 and not counts.get("failed_targets"):
        return f"All clear: {targets} {noun}, no findings."
    text = f"Found {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info in {targets} {noun}."
    if counts.get("failed_targets"):
        text += f" {counts['failed_targets']} target(s) could not be read."
    return text


def _write_totals(console: Any, results: list[Any]) -> None:
    counts = summary_counts(results)
    console.print()
    console.print(f"[bold]{_totals_text(counts)}[/]")
