"""You were promised a fine-tune, but the file's own identity is the base model (or another model).

## What it does
Compares what the model was promised to be with what the file says it is, and names both
sides and where each was read:
- the promise: `--expect ORG/NAME`, the model card's `base_model` (for a quant repo, the model
  that was quantized; skipped when `base_model_relation` is finetune/adapter/merge), the repo
  name, the file name;
- the file: GGUF `general.basename`/`general.finetune`/`general.size_label` (else
  `general.name`), or config.json `_name_or_path` for a Hugging Face folder.

Names are parsed with gguf-py's own model-id parser (the one convert_hf_to_gguf writes those
keys with), after stripping quant tags and -GGUF/-EXL2/-AWQ/-GPTQ. It fires when the promise
names a fine-tune (Instruct, Chat, it, or a named tune such as Hermes or Coder) that the file
lacks, or when the promise is a fine-tune (or an explicit `--expect`) and the file is a
different model (another size, version or family). For remote targets the base_model's own
card is read too: "quantized from X, a fine-tune of Y" fires when the file is Y. With nothing
promised, it says nothing.

## Why is this bad?
The seed's fifth diagnosis: "You're using a quantized 'base' model and expecting the fine-tune
behavior... Many GGUF / EXL2 repos quantize the base, not the fine-tune. Check the model card."
A base model given a chat prompt continues the text instead of answering, ignores the
instructions and never stops: it looks like a broken quant but is the wrong model. This is a
fact about the file, not a measured quality loss; the evidence is the metadata itself
(../shared/reference/gguf-facts.md §5.1, §6: llama-quantize copies general.* from the
converted model unchanged, so the keys say what was converted). Older converters wrote only a
free-text general.name ("LLaMA v2") and no fine-tune: such names are not judged. When the file
carries a chat template despite naming no fine-tune, its metadata may simply be incomplete,
and the finding is a warning instead of an error.

## Example
`Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf` whose header says `general.name = "Meta Llama 3.1 8B"`,
no `general.finetune`, no chat template: the file name promises Instruct, the file is the base.

## How to fix
Download the quant of the fine-tune (the repo whose card says `base_model: <org>/<name>-Instruct`
and `base_model_relation: quantized`), or check with `quantlint inspect FILE` what the header
says. If the file really is the fine-tune, ask the publisher to fix its metadata
(`general.finetune`) or the repo card; `--expect` states what you believe you have.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL401"
NAME = "base-vs-finetune"
SEVERITY = "error"

FINETUNE_VERDICTS = ("base-instead-of-finetune", "other-finetune")


def _fires(promise: dict[str, Any]) -> bool:
    verdict = promise.get("verdict")
    if verdict in FINETUNE_VERDICTS:
        return True
    return verdict == "other-model" and (promise.get("source") == "--expect" or bool(promise.get("is_finetune")))


def _location(model: Model) -> str | None:
    if model.format == "gguf":
        return "general.finetune" if model.identity.finetune else ("general.basename" if model.identity.basename else "general.name")
    return "config.json" if model.identity.name_or_path else None


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    prov = model.provenance or {}
    firing = [p for p in prov.get("promises", []) if _fires(p)]
    if not firing:
        return
    first = firing[0]
    actual = prov.get("actual") or {}
    file_side = actual.get("described") or actual.get("value") or "no name"
    reasons = "; ".join(first.get("reasons") or [])
    base_note = f" ({first['value']} is a fine-tune of {first['finetune_of']})" if first.get("finetune_of") else ""
    message = (f"{first['source']} promises {first['value']}{base_note}, but the file says it is "
               f"{file_side}: {reasons}")
    others = [f"{p['source']} ({p['value']})" for p in firing[1:]]
    if others:
        message += f". Also promised by: {', '.join(others)}"
    severity = None
    if first.get("verdict") == "base-instead-of-finetune" and prov.get("has_chat_template"):
        severity = "warning"  # a chat template hints that only the metadata is incomplete
        message += ". The file does carry a chat template, so its metadata may just be incomplete"
    if first.get("verdict") == "other-model":
        hint = ("This is not the model that was promised: check that you downloaded the right file "
                "(`quantlint inspect FILE` shows what its header says), or that --expect names the model you meant.")
    else:
        hint = ("Get the quant of the fine-tune you want (its card names it as base_model with "
                "base_model_relation: quantized), or pass --expect with what you really expect.")
    yield Finding(
        message=message,
        hint=hint,
        location=_location(model),
        severity=severity,
        data={"promise": {k: first.get(k) for k in ("source", "value", "verdict", "missing_markers", "finetune_of")},
              "file": file_side},
    )
