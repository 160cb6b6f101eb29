"""GitHub Actions workflow commands: one `::error|warning|notice ...::message` line per finding.

Syntax: `::error file={name},line={line},title={title}::{message}` (github/docs
workflow-commands.md). Escaping follows actions/toolkit packages/core/src/command.ts: in the
message `%` -> %25, CR -> %0D, LF -> %0A; in property values also `:` -> %3A and `,` -> %2C,
so a tensor name or path holding `,` or `:` cannot break the annotation.

A model file has no meaningful line; `line=1` anchors the annotation to the file and the tensor
or key goes into the title. GitHub shows at most 10 annotations of each level per step, so
findings are written most severe first and a plain log line says how many were left unshown.
"""

from __future__ import annotations

from typing import Any, TextIO

from quantlint.findings import SEVERITY_RANK

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}
PER_LEVEL_LIMIT = 10  # actions/toolkit docs/problem-matchers.md: 10 per level per step


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, properties: dict[str, str], message: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{level} {props}::{escape_data(message)}" if props else f"::{level}::{escape_data(message)}"


def _annotation_file(target: str, location: str | None) -> str:
    from quantlint.report.sarif import artifact

    uri, relative = artifact(target, location)
    if not relative:
        return uri.removeprefix("file://")
    from urllib.parse import unquote

    return unquote(uri)


def annotation(result: Any, finding: Any) -> str:
    title = f"{finding.code} {finding.name}" + (f" @ {finding.location}" if finding.location else "")
    message = f"{result.target}: {finding.message}"
    if finding.hint:
        message += f"\nHow to fix: {finding.hint}"
    props = {"file": _annotation_file(result.target, finding.location), "line": "1", "title": title}
    return command(COMMANDS.get(finding.severity or "info", "notice"), props, message)


def write_github(results: list[Any], stream: TextIO, options: dict[str, Any]) -> None:
    pairs = [(r, f) for r in results for f in r.findings]
    pairs.sort(key=lambda rf: -SEVERITY_RANK.get(rf[1].severity or "info", 0))  # stable: keeps rule order
    for result in results:
        if result.error:
            stream.write(command("error", {"file": result.target, "title": "quantlint"}, f"{result.target}: {result.error}") + "\n")
    counts: dict[str, int] = {}
    for result, finding in pairs:
        level = COMMANDS.get(finding.severity or "info", "notice")
        counts[level] = counts.get(level, 0) + 1
        stream.write(annotation(result, finding) + "\n")
    hidden = {level: n - PER_LEVEL_LIMIT for level, n in counts.items() if n > PER_LEVEL_LIMIT}
    if hidden:
        listed = ", ".join(f"{n} {level}" for level, n in hidden.items())
        stream.write(f"quantlint: GitHub shows 10 annotations per level per step; {listed} annotation(s) are only "
                     "in this log (upload --output-format sarif for the full list)\n")
