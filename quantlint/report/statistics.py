"""`--statistics`: one line per rule, `count<TAB>code<TAB>name`, most frequent first (ruff's shape).

With `--output-format json` the same counts are a JSON list, so scripts can read them.
"""

from __future__ import annotations

import json
from typing import Any, TextIO


def rule_counts(results: list[Any]) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    for result in results:
        for f in result.findings:
            entry = counts.setdefault(f.code, {"code": f.code, "name": f.name, "count": 0})
            entry["count"] += 1
    return sorted(counts.values(), key=lambda e: (-e["count"], e["code"]))


def write_statistics(results: list[Any], stream: TextIO, options: dict[str, Any]) -> None:
    rows = rule_counts(results)
    if options.get("format") in ("json", "json-lines"):
        json.dump(rows, stream, indent=2)
        stream.write("\n")
        return
    for row in rows:
        stream.write(f"{row['count']}\t{row['code']}\t{row['name']}\n")
