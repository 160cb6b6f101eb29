"""quantlint's command line.

`quantlint PATH...` lints (the `check` command is the default), `quantlint inspect PATH` shows
what was read, `quantlint rules` lists the rules, `quantlint explain CODE` documents one.
The CLI never names a rule: it builds settings, asks the engine, and hands results to a report.

Exit codes: 0 no finding at or above --fail-on, 1 otherwise, 2 usage/config error or crash.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import Any, Optional

import typer
from typer.core import TyperGroup

from quantlint import __version__

HELP = """Lint quantized LLM files before you download or launch them.

quantlint reads GGUF headers, Hugging Face configs and model cards (never the weights) and
reports each risk as a finding with a rule code, a reason and a fix:

  quantlint model.gguf                  lint one file (same as `quantlint check model.gguf`)
  quantlint models/                     every GGUF and HF model folder below models/
  quantlint --output-format json m.gguf machine-readable results
  quantlint inspect model.gguf          what was read: metadata, tensor mix, bpw
  quantlint rules                       every rule; `quantlint explain QL101` documents one

Exit codes: 0 clean (nothing at or above --fail-on), 1 findings, 2 usage error or crash.
"""


class DefaultCommandGroup(TyperGroup):
    """Runs `check` when the first argument is not a command, so `quantlint model.gguf` works."""

    default_command = "check"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = [self.default_command, *args]
        elif not args:
            args = ["--help"]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=DefaultCommandGroup,
    help=HELP,
    add_completion=False,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


class OutputFormat(str, Enum):
    full = "full"
    concise = "concise"
    json = "json"
    json_lines = "json-lines"


class Severity(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


def _err(message: str) -> None:
    sys.stderr.write(f"quantlint: error: {message}\n")


def _version_callback(value: bool) -> None:
    if value:
        sys.stdout.write(f"quantlint {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """quantlint: lint quantized LLM files."""


def _split_csv(values: Optional[list[str]]) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _color_choice(color: Color) -> str:
    if color != Color.auto:
        return color.value
    if os.environ.get("NO_COLOR"):
        return "never"
    if os.environ.get("FORCE_COLOR"):
        return "always"
    return "auto"


@app.command("check")
def check_command(
    paths: list[str] = typer.Argument(..., metavar="PATH...", help="GGUF files, model folders, or folders to search."),
    output_format: OutputFormat = typer.Option(OutputFormat.full, "--output-format", envvar="QUANTLINT_OUTPUT_FORMAT",
                                               help="full (default), concise, json, json-lines."),
    fail_on: Severity = typer.Option(Severity.error, "--fail-on", help="Exit 1 when a finding is at or above this severity."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even with findings (2 still means a crash)."),
    floor: Optional[str] = typer.Option(None, "--floor", help="Quality floor as a llama.cpp quant label (default Q4_K_M)."),
    profile: Optional[str] = typer.Option(None, "--profile", help="default, or high-stakes (floor Q5_K_M)."),
    select: Optional[list[str]] = typer.Option(None, "--select", help="Only these rules: codes, prefixes (QL9) or names."),
    extend_select: Optional[list[str]] = typer.Option(None, "--extend-select", help="Add rules to the selection."),
    ignore: Optional[list[str]] = typer.Option(None, "--ignore", help="Skip these rules: codes, prefixes or names."),
    output_file: Optional[str] = typer.Option(None, "-o", "--output-file", help="Write the report to a file instead of stdout."),
    color: Color = typer.Option(Color.auto, "--color", help="auto (honours NO_COLOR / FORCE_COLOR), always, never."),
) -> None:
    """Lint model files and folders (the default command)."""
    from quantlint.engine import CheckCrash, Selection, load_registry, unknown_selectors
    from quantlint.findings import severity_at_least
    from quantlint.lint import TargetResult, lint_model, missing_model, read_target
    from quantlint.report import write
    from quantlint.settings import PROFILES, LintSettings
    from quantlint.targets import expand

    registry = load_registry()
    for failure in registry.failures:
        _err(f"plugin {failure.display_name}: {failure.error}")
    selection = Selection(
        select=_split_csv(select) or ["ALL"],
        extend_select=_split_csv(extend_select),
        ignore=_split_csv(ignore),
    )
    bad = unknown_selectors(selection.select + selection.extend_select + selection.ignore, registry)
    if bad:
        _err(f"unknown rule selector(s): {', '.join(bad)} (see `quantlint rules`)")
        raise typer.Exit(2)
    settings = LintSettings()
    if profile:
        if profile not in PROFILES:
            _err(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
            raise typer.Exit(2)
        settings.profile, settings.floor = profile, PROFILES[profile]
    if floor:
        from quantlint.facts.tiers import normalise_label, tier

        if tier(floor) is None:
            _err(f"unknown floor {floor!r}: give a llama.cpp quant label such as Q4_K_M or Q5_K_M")
            raise typer.Exit(2)
        settings.floor = normalise_label(floor)

    targets = expand(paths)
    results: list[TargetResult] = []
    crashed = False
    for target in targets:
        model = missing_model(target) if target.kind == "missing" else read_target(target)
        try:
            findings = lint_model(model, registry, selection, settings)
        except CheckCrash as exc:
            _err(str(exc))
            crashed = True
            findings = []
        results.append(TargetResult(target=target.display, model=model, findings=findings))

    options = {"color": _color_choice(color)}
    fmt = output_format.value
    if output_file:
        with open(output_file, "w", encoding="utf-8") as stream:
            write(fmt, results, stream, {**options, "color": "never"})
    else:
        write(fmt, results, sys.stdout, options)
        sys.stdout.flush()

    if crashed:
        raise typer.Exit(2)
    if exit_zero:
        raise typer.Exit(0)
    failing = any(severity_at_least(f.severity or "info", fail_on.value) for r in results for f in r.findings)
    raise typer.Exit(1 if failing else 0)


@app.command("inspect")
def inspect_command(
    paths: list[str] = typer.Argument(..., metavar="PATH...", help="Model files or folders."),
    as_json: bool = typer.Option(False, "--json", help="Print the Model record as JSON."),
    color: Color = typer.Option(Color.auto, "--color"),
) -> None:
    """Show what quantlint read: metadata, the tensor-type mix, bits per weight."""
    from quantlint.lint import missing_model, read_target
    from quantlint.targets import expand

    models = []
    for target in expand(paths):
        models.append(missing_model(target) if target.kind == "missing" else read_target(target))
    if as_json:
        import json

        from quantlint.model import model_to_json

        json.dump([{"target": m.target, **model_to_json(m)} for m in models], sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        raise typer.Exit(0)
    from quantlint.report.inspect import write_inspect

    write_inspect(models, sys.stdout, {"color": _color_choice(color)})


@app.command("rules")
def rules_command(
    as_json: bool = typer.Option(False, "--json", help="List the rules as JSON."),
) -> None:
    """List every rule: code, name, default severity, summary, and the package it comes from."""
    from quantlint.engine import load_registry

    registry = load_registry()
    rules = registry.sorted()
    if as_json:
        import json

        json.dump([{"code": r.code, "name": r.name, "severity": r.severity, "summary": r.summary,
                    "package": r.package} for r in rules], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for r in rules:
            origin = "" if r.package == "quantlint" else f"  [{r.package}]"
            sys.stdout.write(f"{r.code}  {r.name:<32} {r.severity:<8} {r.summary}{origin}\n")
    for failure in registry.failures:
        _err(f"plugin {failure.display_name}: {failure.error}")


@app.command("explain")
def explain_command(code: str = typer.Argument(..., help="A rule code (QL101) or name (tier-below-floor).")) -> None:
    """Print a rule's documentation: What it does / Why is this bad? / Example / How to fix."""
    from quantlint.engine import load_registry

    rule = load_registry().by_code_or_name(code)
    if rule is None:
        _err(f"no rule {code!r}; `quantlint rules` lists them all")
        raise typer.Exit(2)
    sys.stdout.write(f"# {rule.name} ({rule.code})\n\nDefault severity: {rule.severity}.")
    if rule.package != "quantlint":
        sys.stdout.write(f" From the plugin {rule.package}.")
    sys.stdout.write(f"\n\n{rule.doc}\n")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("quantlint: interrupted\n")
        sys.exit(130)
