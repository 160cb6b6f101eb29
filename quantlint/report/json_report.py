"""The JSON contract (DESIGN.md): one document, or one target object per line."""

from __future__ import annotations

import json
from typing import Any, TextIO

from quantlint import __version__
from quantlint.model import model_to_json
from quantlint.report import summary_counts


def target_object(result: Any) -> dict[str, Any]:
    model = result.model
    obj: dict[str, Any] = {
        "target": result.target,
        "format": model.format if model is not None else None,
        "model": model_to_json(model) if model is not None else None,
        "findings": [f.to_json() for f in result.findings],
    }
    if result.error:
        obj["error"] = result.error
    return obj


def write_json(results: list[Any], stream: TextIO, options: dict[str, Any]) -> None:
    document = {
        "version": __version__,
        "targets": [target_object(r) for r in results],
        "summary": summary_counts(results),
    }
    json.dump(document, stream, indent=2, ensure_ascii=False, default=str)
    stream.write("\n")


def write_json_lines(results: list[Any], stream: TextIO, options: dict[str, Any]) -> None:
    for result in results:
        stream.write(json.dumps(target_object(result), ensure_ascii=False, default=str))
        stream.write("\n")
