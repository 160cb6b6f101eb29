"""Run a resolved lint: expand targets, read, enrich, check, report, and pick the exit code."""

from __future__ import annotations

import sys

from quantlint.config import Resolved
from quantlint.engine import CheckCrash, Registry
from quantlint.enrich import enrich
from quantlint.findings import severity_at_least
from quantlint.lint import TargetResult, lint_model, missing_model, read_target
from quantlint.targets import expand


def lint_one(target, resolved: Resolved, registry: Registry) -> TargetResult:
    model = missing_model(target) if target.kind == "missing" else read_target(target, resolved.settings)
    enrich(model, resolved.settings)
    findings = lint_model(model, registry, resolved.selection, resolved.settings, resolved.severity_overrides)
    return TargetResult(target=target.display, model=model, findings=findings)


def run_lint(resolved: Resolved, registry: Registry) -> int:
    from quantlint.report import write

    results: list[TargetResult] = []
    crashed = False
    for target in expand(resolved.paths):
        try:
            results.append(lint_one(target, resolved, registry))
        except CheckCrash as exc:
            sys.stderr.write(f"quantlint: error: {exc}\n")
            crashed = True
    options = {"color": resolved.color, "statistics": resolved.statistics}
    if resolved.output_file:
        with open(resolved.output_file, "w", encoding="utf-8") as stream:
            write(resolved.output_format, results, stream, {**options, "color": "never"})
    else:
        write(resolved.output_format, results, sys.stdout, options)
        sys.stdout.flush()
    if crashed:
        return 2
    if resolved.exit_zero:
        return 0
    failing = any(severity_at_least(f.severity or "info", resolved.fail_on) for r in results for f in r.findings)
    failing = failing or any(r.error for r in results)
    return 1 if failing else 0
