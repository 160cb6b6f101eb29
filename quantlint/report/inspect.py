"""`quantlint inspect`: what was read, as tables (metadata, tensor-type mix, bpw, notes)."""

from __future__ import annotations

from typing import Any, TextIO

from quantlint.model import Model
from quantlint.report.text import human_count, human_size, make_console, model_summary, wraps

MAX_VALUE_CHARS = 80
RULE_WIDTH = 80  # a target's heading rule when the output is not a terminal


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    text = text.replace("\n", "\\n")
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def overview_rows(model: Model) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [("format", model.format)]
    if model.architecture:
        rows.append(("architecture", model.architecture))
    if model.quant:
        rows.append(("quant", f"{model.quant}" + (f"  ({model.quant_source})" if model.quant_source else "")))
        if model.format == "gguf":
            from quantlint.facts.tiers import standing

            # Where the quant stands in llama.cpp's table (Llama-3-8B) and the next safer step.
            for line in standing(model.quant):
                rows.append(("quality context", line))
    if model.bits_per_weight is not None:
        rows.append(("bits per weight (blocks)", f"{model.bits_per_weight:.3f}"))
    if model.bits_per_weight_file is not None:
        rows.append(("bits per weight (all tensors)", f"{model.bits_per_weight_file:.3f}"))
    if model.declared_bits is not None:
        rows.append(("declared bits", f"{model.declared_bits:g}"))
    if model.group_size is not None:
        rows.append(("group size", str(model.group_size)))
    if model.parameters:
        rows.append(("parameters", f"{model.parameters:,} ({human_count(model.parameters)})"))
    if model.context_length:
        rows.append(("context length", str(model.context_length)))
    if model.moe is not None:
        moe = model.moe
        text = f"{moe.experts} experts, {moe.experts_used or '?'} used"
        if moe.shared_experts:
            text += f", {moe.shared_experts} shared"
        if moe.expert_bits_per_weight is not None:
            text += f"; experts {moe.expert_bits_per_weight:.2f} bpw"
        if moe.always_active_bits_per_weight is not None:
            text += f", always-active {moe.always_active_bits_per_weight:.2f} bpw"
        rows.append(("mixture of experts", text))
    if model.kept_high_precision:
        rows.append(("kept at higher precision", ", ".join(model.kept_high_precision)))
    if model.calibration is not None:
        from quantlint.calibration import describe

        rows.append(("calibration", describe(model.calibration)))
    if model.domain:
        evidence = "; ".join(str(e) for e in (model.domain.get("evidence") or [])[:2])
        rows.append(("domain", f"{model.domain.get('domain')} ({model.domain.get('confidence')} confidence: {evidence})"))
    ident = model.identity
    for label, value in (("name", ident.name), ("basename", ident.basename), ("finetune", ident.finetune),
                         ("size label", ident.size_label), ("base models", ", ".join(ident.base_models)),
                         ("_name_or_path", ident.name_or_path)):
        if value:
            rows.append((label, value))
    tok = model.tokenizer
    if tok.model or tok.vocab_size:
        text = f"{tok.model or '?'}"
        if tok.pre:
            text += f", pre {tok.pre}"
        if tok.vocab_size:
            text += f", {tok.vocab_size:,} tokens"
        text += ", chat template: " + ("yes" if tok.has_chat_template else "no")
        rows.append(("tokenizer", text))
    if model.file is not None:
        f = model.file
        rows.append(("file size", f"{human_size(f.size)}" + (f" ({f.size:,} bytes)" if f.size else "")))
        if f.header_bytes is not None:
            rows.append(("header bytes", f"{f.header_bytes:,}"))
        if f.data_end is not None:
            rows.append(("data ends at", f"{f.data_end:,}"))
        if f.bytes_read is not None:
            rows.append(("bytes read", f"{f.bytes_read:,}"))
        if f.shards:
            rows.append(("shards", f"{len(f.shards)}"))
    if model.card is not None:
        rows.append(("model card", model.card.source))
    for note in model.notes:
        rows.append(("note", note))
    for problem in model.problems:
        rows.append((problem.kind, problem.message))
    return rows


def print_key_values(console: Any, rows: list[tuple[str, str]], title: str | None, wrap: bool) -> None:
    """A two-column key/value table. At a terminal, rich wraps long values inside their column;
    in a pipe every row is one line, the values aligned, with no padding after them."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    if not rows:
        return
    if not wrap:
        if title:
            console.print(Text(title, style="table.title"))
        key_width = max(len(key) for key, _ in rows)
        for key, value in rows:
            console.print(Text.assemble((key.ljust(key_width), "bold"), "  ", value))
        return
    table = Table(title=escape(title) if title else None, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(escape(key), escape(value))
    console.print(table)


def write_inspect(models: list[Model], stream: TextIO, options: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.rule import Rule
    from rich.table import Table

    console = make_console(stream, options)
    # In a pipe the console is "unlimited" so no row wraps; a rule still gets a sensible length.
    wrap = wraps(stream, options)
    rule_width = console.width if wrap else RULE_WIDTH
    for model in models:
        console.print(Rule(f"[bold]{escape(model.target)}[/]"), width=rule_width)
        console.print(f"[dim]{escape(model_summary(model))}[/]")
        print_key_values(console, overview_rows(model), None, wrap)
        from quantlint.runtime.memory import memory_rows

        print_key_values(console, memory_rows(model),
                         "memory estimate: llama.cpp's buffers, each with its source "
                         "(`quantlint --memory SIZE -c N` checks a plan)", wrap)
        if model.tensor_types:
            mix = Table(title="tensor types (elements)", title_justify="left")
            mix.add_column("type")
            mix.add_column("elements", justify="right")
            mix.add_column("share", justify="right")
            mix.add_column("in blocks", justify="right")
            total = sum(model.tensor_types.values()) or 1
            for name, count in model.tensor_types.items():
                mix.add_row(name, f"{count:,}", f"{count / total:.1%}", f"{model.block_tensor_types.get(name, 0):,}")
            console.print(mix)
        scalars = [(k, v) for k, v in model.metadata.items() if v.count is None or v.count <= 16]
        arrays = [(k, v) for k, v in model.metadata.items() if v.count is not None and v.count > 16]
        if scalars or arrays:
            meta = Table(title="metadata", title_justify="left")
            meta.add_column("key")
            meta.add_column("type")
            meta.add_column("value")
            meta.add_column("offset", justify="right")
            for key, entry in scalars:
                value = entry.value if entry.count is None else entry.value
                meta.add_row(escape(key), entry.type_name if entry.element_type is None else f"{entry.element_type}[{entry.count}]",
                             escape(_short(value)), "" if entry.offset is None else str(entry.offset))
            for key, entry in arrays:
                meta.add_row(escape(key), f"{entry.element_type}[{entry.count:,}]", "(not shown)",
                             "" if entry.offset is None else str(entry.offset))
            console.print(meta)
