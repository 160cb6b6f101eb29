"""The JSON contract (DESIGN.md): one document, or one target object per line."""

from __future__ import annotations

import json
from typing import Any, TextIO

from quantlint import __version__
from quantlint.model import model_to_json
from quantlint.report import summary_counts


def memory_object(model: Any, plan: Any) -> dict[str, Any] | None:
    """model.memory: llama.cpp's buffers for the planned settings (components with their sources),
    whenever a plan is given (options, a config file, a launch command or Modelfile)."""
    if plan is None or plan.is_empty or not model.readable:
        return None
    from quantlint.runtime.memory import estimate_memory

    est = estimate_memory(model, plan)
    return None if est is None else est.to_dict()


def target_object(result: Any, plan: Any = None) -> dict[str, Any]:
    model = result.model
    model_json = model_to_json(model) if model is not None else None
    if model_json is not None:
        memory = memory_object(model, plan)
        if memory is not None:
            model_json["memory"] = memory
    obj: dict[str, Any] = {
        "target": result.target,
        "format": model.format if model is not None else None,
        "model": model_json,
        "findings": [f.to_json() for f in result.findings],
    }
    if result.error:
        obj["error"] = result.error
    return obj


def write_json(results: list[Any], stream: TextIO, options: dict[str, Any]) -> None:
    document = {
        "version": __version__,
        "targets": [target_object(r, options.get("plan")) for r in results],
        "summary": summary_counts(results),
    }
    json.dump(document, stream, indent=2, ensure_ascii=False, default=str)
    stream.write("\n")


def write_json_lines(results: list[Any], stream: TextIO, options: dict[str, Any]) -> None:
    for result in results:
        stream.write(json.dumps(target_object(result, options.get("plan")), ensure_ascii=False, default=str))
        stream.write("\n")
