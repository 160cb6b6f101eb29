"""Reports: one function per output format, each writing a list of TargetResults to a stream.

Machine formats (json, json-lines, sarif, github) write pure data on stdout; logs and progress
go to stderr. The text formats import rich lazily so the JSON path stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TextIO

from quantlint.findings import SEVERITIES

# format name -> "module:function"; each function is (results, stream, options) -> None
FORMATS: dict[str, str] = {
    "full": "quantlint.report.text:write_full",
    "concise": "quantlint.report.text:write_concise",
    "json": "quantlint.report.json_report:write_json",
    "json-lines": "quantlint.report.json_report:write_json_lines",
    "sarif": "quantlint.report.sarif:write_sarif",
    "github": "quantlint.report.github:write_github",
    "statistics": "quantlint.report.statistics:write_statistics",  # --statistics, not an --output-format
}


def writer(name: str) -> Callable[..., None]:
    module, func = FORMATS[name].split(":")
    return getattr(importlib.import_module(module), func)


def summary_counts(results: list[Any]) -> dict[str, int]:
    counts = {"targets": len(results), **{s: 0 for s in reversed(SEVERITIES)}}
    for result in results:
        for f in result.findings:
            counts[f.severity] += 1
    counts["failed_targets"] = sum(1 for r in results if r.error)
    return counts


def write(name: str, results: list[Any], stream: TextIO, options: dict[str, Any]) -> None:
    writer(name)(results, stream, options)
