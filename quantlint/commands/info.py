"""`quantlint inspect`, `quantlint rules`, `quantlint explain`: what was read, and the rules."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from quantlint.cli import WIDTH_HELP, Color, _color_choice, _err, app


@app.command("inspect")
def inspect_command(
    paths: list[str] = typer.Argument(..., metavar="PATH...", help="Model files or folders."),
    as_json: bool = typer.Option(False, "--json", help="Print the Model record as JSON."),
    color: Color = typer.Option(Color.auto, "--color"),
    width: Optional[int] = typer.Option(None, "--width", min=1, help=WIDTH_HELP),
) -> None:
    """Show what quantlint read: metadata, the tensor-type mix, bits per weight."""
    from quantlint.enrich import enrich
    from quantlint.lint import missing_model, read_target
    from quantlint.settings import LintSettings
    from quantlint.targets import expand

    from quantlint.remote import TargetFailed

    models = []
    failed = False
    for target in expand(paths):
        try:
            model = missing_model(target) if target.kind == "missing" else read_target(target)
        except TargetFailed as exc:  # a remote target that could not be fetched
            _err(str(exc))
            failed = True
            continue
        models.append(enrich(model, LintSettings()))  # derived facts (calibration, domain) as lint sees them
    if as_json:
        import json

        from quantlint.model import model_to_json

        json.dump([{"target": m.target, **model_to_json(m)} for m in models], sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        raise typer.Exit(1 if failed else 0)
    from quantlint.report.inspect import write_inspect

    write_inspect(models, sys.stdout, {"color": _color_choice(color), "width": width})
    if failed:
        raise typer.Exit(1)


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


