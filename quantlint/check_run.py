"""Run the default `check` command from parsed CLI values (shared by typer and the fast path)."""

from __future__ import annotations

import os
import sys

from quantlint.config import CliValues, ConfigError


def color_choice(color: str) -> str:
    """auto -> never under NO_COLOR, always under FORCE_COLOR (no-color.org, force-color.org)."""
    if color != "auto":
        return color
    if os.environ.get("NO_COLOR"):
        return "never"
    if os.environ.get("FORCE_COLOR"):
        return "always"
    return "auto"


def run_check(values: CliValues, show_settings: bool = False) -> int:
    """Resolve settings, lint, report; the exit code (0 clean, 1 findings, 2 usage error)."""
    from quantlint.config import resolve
    from quantlint.engine import load_registry
    from quantlint.runner import run_lint

    registry = load_registry()
    for failure in registry.failures:
        sys.stderr.write(f"quantlint: error: plugin {failure.display_name}: {failure.error}\n")
    try:
        resolved = resolve(values, registry)
    except ConfigError as exc:
        sys.stderr.write(f"quantlint: error: {exc}\n")
        return 2
    if show_settings:
        sys.stdout.write(resolved.describe())
        return 0
    return run_lint(resolved, registry)
