"""Human output: one summary line per target, its findings with hints, counts at the end.

Lines are wrapped only for a person at a terminal: at `--width` when given, else at the
terminal's width (rich reads COLUMNS). When stdout is a pipe or a file (CI logs, `| less`,
pre-commit) no line is broken that we did not break ourselves, as ruff, mypy and pytest do;
and when such output carries no colour either, it is written as plain text without importing
rich at all (rich costs a third of a whole lint's start-up).
"""

from __future__ import annotations

from typing import Any, TextIO

from quantlint.model import Model
from quantlint.report import summary_counts

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
MARKS = {"error": ("✗", "bold red"), "warning": ("!", "yellow"), "info": ("i", "cyan")}
CLEAN_MARK = ("✓", "green")
NO_WRAP_WIDTH = 100_000  # "unlimited" for rich layouts (tables size themselves to their content)

# A rendered line: its hanging indent and its (text, rich style) spans. Writers either join the
# texts (plain) or hand the spans to rich (colour, wrapping at a terminal).
Line = tuple[int, list[tuple[str, str]]]


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def wraps(stream: TextIO, options: dict[str, Any]) -> bool:
    """Wrap only at an explicit --width or for a terminal; never in a pipe or a file."""
    return bool(options.get("width")) or is_terminal(stream)


def colours(stream: TextIO, options: dict[str, Any]) -> bool:
    color = options.get("color", "auto")
    return color == "always" or (color == "auto" and is_terminal(stream))


def make_console(stream: TextIO, options: dict[str, Any]):
    """A rich Console that wraps at --width or the terminal's width, and never in a pipe."""
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
    elif not wraps(stream, options):
        kwargs.update(width=NO_WRAP_WIDTH, soft_wrap=True)
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


def full_lines(results: list[Any]) -> list[Line]:
    """The full report as lines of styled spans (no markup: a target or message is data)."""
    lines: list[Line] = []
    for result in results:
        findings = result.findings
        worst = findings[0].severity if findings else None
        mark = MARKS.get(worst or "", CLEAN_MARK)
        if result.error:  # not read at all (network, gated, missing): never a green tick
            mark = MARKS["error"]
        lines.append((0, [mark, (" ", ""), (result.target, "bold"), ("  ", ""), (model_summary(result.model), "dim")]))
        if result.error:
            lines.append((4, [("error", "bold red"), (f": {result.error}", "")]))
        for f in findings:
            head = [(f"{f.code} {f.severity}", SEVERITY_STYLE.get(f.severity or "info", "")), (" ", ""), (f.name or "", "dim")]
            if f.location:
                head.append((f" @ {f.location}", "dim"))
            lines.append((4, head))
            lines.append((6, [(f.message, "")]))
            if f.hint:
                lines.append((6, [("fix:", "green"), (f" {f.hint}", "")]))
    lines.append((0, []))
    lines.append((0, [(_totals_text(summary_counts(results)), "bold")]))
    return lines


def write_lines(lines: list[Line], stream: TextIO, options: dict[str, Any]) -> None:
    """Plain text when neither colour nor wrapping is wanted; rich otherwise."""
    if not colours(stream, options) and not wraps(stream, options):
        for indent, spans in lines:
            stream.write(" " * indent + "".join(text for text, _ in spans) + "\n")
        return
    from rich.text import Text

    console = make_console(stream, options)
    wrap = wraps(stream, options)
    for indent, spans in lines:
        text = Text.assemble(*spans, end="")
        if not wrap or not indent:
            console.print(Text(" " * indent, end="") + text if indent else text)
            continue
        # At a terminal, continuation lines keep the hanging indent of their first line.
        for piece in text.wrap(console, max(console.width - indent, 20)):
            piece.rstrip()
            console.print(Text(" " * indent, end="") + piece)


def write_full(results: list[Any], stream: TextIO, options: dict[str, Any]) -> None:
    write_lines(full_lines(results), stream, options)


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
