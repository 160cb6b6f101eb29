"""You were promised a fine-tune, but the file's own identity is the base model (or another model).

## What it does
Compares what the model was promised to be with what the file says it is, and names both
sides and where each was read:
- the promise: `--expect ORG/NAME`, the model card's `base_model` (for a quant repo, the model
  that was quantized; skipped when `base_model_relation` is finetune/adapter/merge), the repo
  name, the file name;
- the file: GGUF `general.basename`/`general.finetune`/`general.size_label` (else
  `general.name`), or config.json `_name_or_path` for a Hugging Face folder.

Names are parsed with the grammar of gguf-py's model-id parser (the one convert_hf_to_gguf
writes those keys with; re-implemented in quantlint.naming), after dropping the words that
promise nothing about the model: quant tags, -GGUF/-EXL2/-AWQ/-GPTQ, vocab, header, imat,
imatrix, i1, split and shard markers (-00001-of-00003, .part1of2). It fires when the promise
names a fine-tune (Instruct, Chat, it, or a named tune such as Hermes or Coder) that the file
lacks, or when the promise is a fine-tune (or an explicit `--expect`) and the file is a
different model (another size, version or family). For remote targets the base_model's own
card is read too: "quantized from X, a fine-tune of Y" fires when the file is Y. With nothing
promised, it says nothing.

The verdict weighs evidence. Evidence that the file is the base model: `general.finetune`
spelled base/pretrained, or a converter-written identity (`general.basename`/`size_label`,
`general.name`, `_name_or_path`) naming no fine-tune. Evidence against: a `general.finetune`
that is not base (even an opaque training-run name like `8k-lc100k-mix1-ep2`, which
convert_hf_to_gguf takes from `_name_or_path`), a chat template with roles or turn markers,
instruction-tuning tags (general.tags, card tags, pipeline_tag conversational), a card whose
model_name is the chat model.
- **error**: the file positively says base and nothing says otherwise (whoever promised the
  fine-tune: --expect, the card, the repo or the file name).
- **warning**: the evidence is mixed (a base identity with a chat template, or instruction
  tags), nothing positively says base, or the file names another fine-tune than promised.
- **nothing**: an Instruct/Chat promise over a file that names its own fine-tune (a training
  run) and carries chat evidence: that file is the instruct model.

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

import re
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


CHAT_EVIDENCE = ("chat-template", "chat-tag", "card")


def _explained_away(promise: dict[str, Any], against: list[dict[str, str]]) -> bool:
    """An Instruct/Chat promise the file keeps under another name: it names a fine-tune of its
    own (a training run such as "8k-lc100k-mix1-ep2") and carries chat evidence (a template
    with turn markers, instruction tags, a card naming the chat model)."""
    missing = set(promise.get("missing_markers") or [])
    kinds = {e["kind"] for e in against}
    return bool(missing) and missing <= {"instruct"} and "finetune" in kinds and bool(kinds & set(CHAT_EVIDENCE))


def _opaque(finetune: str) -> bool:
    """A run name rather than a tuning word: some part of it mixes letters and digits."""
    return any(re.search(r"[a-z]", p) and re.search(r"\d", p) for p in re.split(r"[-_\s]+", finetune.lower()))


def _severity(promise: dict[str, Any], prov: dict[str, Any]) -> tuple[str | None, str]:
    """(severity override or None for error, a note on the evidence) for a fine-tune verdict.

    An error needs the file to say positively that it is the base model, with nothing saying
    otherwise; a promise the file's own evidence contradicts is a warning."""
    against = prov.get("not_base_evidence") or []
    base = prov.get("base_evidence") or []
    if promise.get("verdict") == "other-finetune":  # it names a fine-tune: nothing says it is the base
        named = next((e["evidence"] for e in against if e["kind"] == "finetune"), None)
        if not named:
            return "warning", ""
        if _opaque(named):  # a training run's name ("8k-lc100k-mix1-ep2") says nothing either way
            return "warning", (f". The file names a fine-tune of its own ({named}), so it is not the base model; "
                               "whether it is the one promised, its name does not say")
        return "warning", f". The file is a fine-tune too ({named}), but another one than promised"
    if base and not against:
        return None, ""
    if any(e["kind"] == "chat-template" for e in against):
        return "warning", ". The file does carry a chat template, so its metadata may just be incomplete"
    if against:
        shown = "; ".join(f"{e['source']} {e['evidence']!r}" for e in against[:3])
        return "warning", f". Other evidence says it is not the base model: {shown}"
    return "warning", ". Nothing in the file says positively that it is the base model"


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    prov = model.provenance or {}
    against = prov.get("not_base_evidence") or []
    firing = [p for p in prov.get("promises", []) if _fires(p)
              and not (p.get("verdict") in FINETUNE_VERDICTS and _explained_away(p, against))]
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
    if first.get("verdict") in FINETUNE_VERDICTS:
        severity, note = _severity(first, prov)
        message += note
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
              "file": file_side, "base_evidence": prov.get("base_evidence") or [], "not_base_evidence": against},
    )
