"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF consumer).

Shape (validated against the OASIS 2.1.0 schema; see tests/test_outputs.py):
- tool.driver.rules: every rule that ran, with its docs from the rule docstring
  (shortDescription = first line, fullDescription = "What it does", help = the whole doc as
  text and Markdown), a helpUri, its default level, and tags. `name` is the rule name in
  PascalCase, the one-identifier "friendly name" SARIF tools share (Microsoft's multitool,
  SARIF2012 ProvideRuleProperties); the kebab-case name users type stays in `properties.name`.
- results: ruleId/ruleIndex/level, the message (and the fix), one location whose physical part
  names the file and whose logical part names the tensor or metadata key.
- artifact URIs are relative to `--sarif-root` (default: the working directory, the repository
  root in CI) with uriBaseId %SRCROOT%, when the file lies under it or was named by a relative
  path; only a file named by an absolute path outside it gets an absolute file:// URI.

Model files are binary. The spec (3.30.1) asks for byteOffset regions there, but GitHub shows
no result without `region.startLine` (codeql-action#754, ossf/scorecard#1458), so the region
is `startLine: 1` and the byte offset goes to `properties.byteOffset`. We always send our own
`partialFingerprints` (code + file + tensor/key) so alerts stay stable across runs.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from quantlint import __version__
from quantlint.baseline import fingerprint

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
HOMEPAGE = "https://github.com/quantlint/quantlint"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "info": "recommendation"}
FINGERPRINT_KEY = "quantlintFingerprint/v1"
# Rule families by code (DESIGN.md's table): the tag GitHub lets users filter alerts by.
FAMILY_TAGS = {"1": "quality", "2": "runtime", "3": "calibration", "4": "identity", "5": "tokenizer",
               "6": "security", "9": "file-integrity"}
_SECTION = re.compile(r"^## (.+)$", re.MULTILINE)


def doc_sections(doc: str) -> dict[str, str]:
    """'## Heading' -> body text, for the rule docstring's sections."""
    parts = _SECTION.split(doc)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def help_uri(rule: Any) -> str | None:
    import sys

    module = sys.modules.get(rule.module)
    declared = getattr(module, "HELP_URI", None)
    if isinstance(declared, str):
        return declared
    if rule.package == "quantlint" and rule.module.startswith("quantlint.checks."):
        return f"{HOMEPAGE}/blob/main/checks/{rule.module.rsplit('.', 1)[1]}.py"
    return None


def pascal_case(name: str) -> str:
    """'tier-below-floor' -> 'TierBelowFloor'."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def rule_descriptor(rule: Any) -> dict[str, Any]:
    sections = doc_sections(rule.doc)
    what = " ".join(sections.get("What it does", rule.summary).split())
    tags = ["quantlint", FAMILY_TAGS.get(rule.code[2:3], "other") if rule.code.startswith("QL") else rule.package]
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": pascal_case(rule.name),
        "shortDescription": {"text": rule.summary[:1024]},
        "fullDescription": {"text": what or rule.summary},
        "help": {"text": rule.doc or rule.summary, "markdown": f"# {rule.name} ({rule.code})\n\n{rule.doc or rule.summary}"},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"name": rule.name, "tags": tags, "problem.severity": PROBLEM_SEVERITY[rule.severity],
                       "package": rule.package},
    }
    uri = help_uri(rule)
    if uri:
        descriptor["helpUri"] = uri
    return descriptor


def _rules_for(results: list[Any], options: dict[str, Any]) -> list[Any]:
    """The rules that ran, plus any rule a finding names (so every ruleIndex resolves)."""
    from quantlint.engine import load_registry

    rules = {r.code: r for r in options.get("rules") or []}
    codes = {f.code for r in results for f in r.findings}
    if codes - rules.keys():
        registry = load_registry()
        rules.update({c: registry.rules[c] for c in codes - rules.keys() if c in registry.rules})
    return [rules[c] for c in sorted(rules)]


def source_root(options: dict[str, Any]) -> Path:
    """--sarif-root, else the working directory (the repository root in CI)."""
    return Path(options.get("sarif_root") or os.getcwd()).resolve()


def artifact(target_path: str, location: str | None, root: Path | None = None) -> tuple[str, bool]:
    """(URI, relative to root?) for a target. Relative whenever the file lies under the root or
    was named by a relative path, so alerts keep their identity from run to run and machine."""
    path = Path(target_path)
    if path.is_dir():  # an HF folder: point at the file the finding names, else config.json
        for name in (location, "config.json"):
            if name and "/" not in name and (path / name).is_file():
                path = path / name
                break
    if not path.exists():
        return target_path, True  # a remote target (org/repo:file) or a missing path, as given
    base = root or Path(os.getcwd()).resolve()
    absolute = path.resolve()
    try:
        return quote(absolute.relative_to(base).as_posix()), True
    except ValueError:
        pass
    if not path.is_absolute():  # `../models/x.gguf`: stays relative, with its `..` steps
        try:
            return quote(Path(os.path.relpath(absolute, base)).as_posix()), True
        except ValueError:  # another drive on Windows
            pass
    return absolute.as_uri(), False


def _logical_kind(model: Any, location: str) -> str:
    if model is not None:
        if any(t.name == location for t in getattr(model, "tensors", [])):
            return "member"  # a tensor of the model
        if location in getattr(model, "metadata", {}):
            return "property"  # a metadata key
    return "resource"


def result_object(finding: Any, model: Any, target: str, rule_index: dict[str, int], root: Path) -> dict[str, Any]:
    uri, relative = artifact(target, finding.location, root)
    artifact_location: dict[str, Any] = {"uri": uri}
    if relative:
        artifact_location["uriBaseId"] = "%SRCROOT%"
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": artifact_location, "region": {"startLine": 1}}}
    if finding.location:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.location, "kind": _logical_kind(model, finding.location)}]
    text = finding.message if not finding.hint else f"{finding.message}\nHow to fix: {finding.hint}"
    properties: dict[str, Any] = {"severity": finding.severity, "target": target}
    if finding.offset is not None:
        properties["byteOffset"] = finding.offset
    if finding.location:
        properties["location"] = finding.location
    if finding.data:
        properties["data"] = finding.data
    out: dict[str, Any] = {
        "ruleId": finding.code,
        "level": LEVELS.get(finding.severity or "info", "note"),
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding, uri, str(root / "x.sarif"))},
        "properties": properties,
    }
    if finding.code in rule_index:
        out["ruleIndex"] = rule_index[finding.code]
    return out


def _notifications(results: list[Any], options: dict[str, Any]) -> list[dict[str, Any]]:
    notes = [{"level": "error", "message": {"text": f"{r.target}: {r.error}"}} for r in results if r.error]
    notes += [{"level": "error", "message": {"text": f"plugin {p.display_name}: {p.error}"}} for p in options.get("failures") or []]
    return notes


def _folder_uri(folder: Path) -> str:
    """A base URI ends with a slash (SARIF 3.14.14): file:///repo/ (and file:/// for /)."""
    uri = folder.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def sarif_document(results: list[Any], options: dict[str, Any]) -> dict[str, Any]:
    rules = _rules_for(results, options)
    rule_index = {r.code: i for i, r in enumerate(rules)}
    root = source_root(options)
    sarif_results = [result_object(f, r.model, r.target, rule_index, root) for r in results for f in r.findings]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "quantlint", "version": __version__, "semanticVersion": __version__,
                            "informationUri": HOMEPAGE, "rules": [rule_descriptor(r) for r in rules]}},
        "invocations": [{"executionSuccessful": not options.get("crashed"),
                         "toolExecutionNotifications": _notifications(results, options)}],
        "originalUriBaseIds": {"%SRCROOT%": {"uri": _folder_uri(root)}},
        "results": sarif_results,
        "columnKind": "unicodeCodePoints",
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def write_sarif(results: list[Any], stream: TextIO, options: dict[str, Any]) -> None:
    json.dump(sarif_document(results, options), stream, indent=2, ensure_ascii=False, default=str)
    stream.write("\n")
