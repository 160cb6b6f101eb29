"""Provenance enricher: what the model was promised to be vs what the file says it is.

Three sources (issue 5; ../shared/reference/formats.md §0.4 and §7, gguf-facts.md §5.1):
- the file's own identity: GGUF general.basename/finetune/size_label/version (written by
  convert_hf_to_gguf, copied unchanged by llama-quantize), else general.name (free text in
  older files: "LLaMA v2", a path, a commit hash); for a Hugging Face folder, config.json
  _name_or_path (gone from configs saved by transformers >= 4.50, sometimes a local path);
- what the user was promised: --expect, the model card's base_model (for a quant repo the model
  that was quantized; not when base_model_relation says finetune/adapter/merge, where it names
  what the model was made from), the repo name, the file name;
- what the Hub knows: the base_model's own card (model.provenance["chain"], read by
  quantlint.readers.card.walk_base_chain for remote targets), so that "quantized from X, a
  fine-tune of Y" is caught when the file turns out to be Y.

The result lands in model.provenance for QL401/QL402/QL403 to read. Pure: no I/O, and no gguf
import: names are parsed by quantlint.naming (gguf-py's grammar, re-implemented), and only when a
promise is not already covered word for word by the file's identity.
"""

from __future__ import annotations

import re
from typing import Any

from quantlint import identity as ident
from quantlint.model import Model
from quantlint.settings import LintSettings

IDENTITY_RELATIONS = (None, "", "quantized")  # base_model names what this model *is*
# general.finetune spellings of "no fine-tune" (convert_hf_to_gguf leaves the key out for a base
# model; some model cards set finetune: base / pretrained by hand).
BASE_FINETUNES = frozenset({"base", "pretrained", "pretrain", "pt"})
# A chat template shaped for conversation: it writes roles or turn markers (ChatML <|im_start|>,
# Llama 3 <|start_header_id|>, Gemma <start_of_turn>, Mistral [INST], DeepSeek <｜User｜>...).
CHAT_FORMAT = re.compile(r"\brole\b|<\|im_start\|>|<\|start_header_id\|>|<start_of_turn>|\[INST\]|<\uff5cUser\uff5c>|<\|user\|>")
CHAT_TAGS = frozenset({"conversational", "chat", "instruct", "instruction-tuned", "chatbot"})
CHAT_WORDS = frozenset({"instruct", "chat", "inst"})


def _is_hub_id(value: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?", value)) and ".." not in value


def _name_or_path_identity(value: str) -> ident.ParsedId | None:
    if _is_hub_id(value):
        return ident.parse(value, f"config.json _name_or_path {value!r}")
    # A local path (/workspace/process/wizard-vicuna-30b/HF/): its last telling component.
    for part in reversed([p for p in re.split(r"[\\/]+", value) if p]):
        parsed = ident.parse(part, f"config.json _name_or_path {value!r} (a local path)", confident=False)
        if parsed is not None and (parsed.size_label or parsed.finetune):
            return parsed
    return None


def _actual_texts(model: Model) -> tuple[list[str | None], str]:
    """The words the file uses about itself, and a short description of where they come from."""
    i = model.identity
    if model.format == "gguf":
        texts = [i.name, i.basename, i.finetune, i.size_label, i.version, i.organization]
        keys = [f"general.{k} {v!r}" for k, v in (("name", i.name), ("basename", i.basename),
                ("finetune", i.finetune), ("size_label", i.size_label)) if v]
        if keys and not i.finetune:
            keys.append("no general.finetune")
        return texts, ", ".join(keys)
    if i.name_or_path:
        return [i.name_or_path], f"config.json _name_or_path {i.name_or_path!r}"
    return [i.name], (f"name {i.name!r}" if i.name else "")


def actual_identity(model: Model) -> ident.ParsedId | None:
    i = model.identity
    if model.format == "gguf":
        if i.basename or i.finetune or i.size_label:
            return ident.parse(i.name or "", "GGUF general.basename/finetune/size_label", basename=i.basename,
                               finetune=i.finetune, size_label=i.size_label, version=i.version)
        if i.name and "/" not in i.name and "\\" not in i.name:
            return ident.parse(i.name, "GGUF general.name", confident=False)
        return None
    if i.name_or_path:
        return _name_or_path_identity(i.name_or_path)
    return ident.parse(i.name, "name", confident=False) if i.name else None


def _promises(model: Model, settings: LintSettings) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if settings.expect:
        out.append({"source": "--expect", "value": settings.expect})
    card = model.card
    if card is not None and card.base_model:
        relation = (card.base_model_relation or "").strip().lower() or None
        if relation in IDENTITY_RELATIONS and (relation == "quantized" or len(card.base_model) == 1):
            for base in card.base_model:
                out.append({"source": f"model card base_model ({card.source})", "value": base, "card": True})
    if model.identity.repo:
        out.append({"source": "repo name", "value": model.identity.repo})
    if model.identity.file_name:
        if model.format == "gguf":
            out.append({"source": "file name", "value": model.identity.file_name})
        else:  # a folder: named by whoever downloaded it, so only its Instruct/Chat words count
            out.append({"source": "folder name", "value": model.identity.file_name, "weak": True})
    return out


def _chain_step(model: Model, repo: str) -> dict[str, Any] | None:
    for step in (model.provenance or {}).get("chain", []) or []:
        if step.get("repo") == repo:
            return step
    return None


def _judge(promise: dict[str, Any], model: Model, actual: ident.ParsedId | None, texts: list[str | None]) -> None:
    """Fill promise["verdict"/"reasons"/"parsed"], parsing names only when words differ."""
    value = promise["value"]
    step = _chain_step(model, value) if promise.get("card") else None
    finetune_of = None
    if step and step.get("base_model") and (step.get("relation") or "").lower() != "quantized":
        finetune_of = step["base_model"][0]
        promise["finetune_of"] = finetune_of
    if ident.covered_by(value, texts):
        promise.update(verdict="match", reasons=[])
        return
    if promise["source"] != "--expect" and not finetune_of and not ident.informative(value):
        promise.update(verdict="unknown", reasons=["the name says too little to compare"])
        return
    parsed = ident.parse(value, promise["source"])
    if parsed is None:
        promise.update(verdict="unknown", reasons=["the name says nothing parseable"])
        return
    promise["parsed"] = parsed.as_dict()
    if actual is None:
        promise.update(verdict="unknown", reasons=["the file does not say what it is"])
        return
    result = ident.compare(parsed, actual, chat_only=bool(promise.get("weak")))
    if finetune_of and result.verdict != "match":
        base = ident.parse(finetune_of, f"{value}'s card base_model")
        if base is not None and ident.compare(base, actual).verdict == "match":
            result = ident.Comparison("base-instead-of-finetune",
                                      [f"{value} is a fine-tune of {finetune_of} (its own card), and the file is {finetune_of}"])
    if result.verdict in ("base-instead-of-finetune", "other-finetune") and not actual.confident and not actual.size_label:
        # Free-text names from older converters ("LLaMA v2") leave the fine-tune out: no verdict.
        result = ident.Comparison("unknown", [f"the file's name {actual.raw!r} is too vague to tell base from fine-tune"])
    promise.update(verdict=result.verdict, reasons=result.reasons, missing_markers=result.missing_markers)
    promise["is_finetune"] = (parsed.is_chat if promise.get("weak") else parsed.is_finetune) or bool(finetune_of)


def names_chat(text: str | None) -> bool:
    """True when a name calls the model a chat/instruct tune (Instruct, Chat, Gemma's "-it")."""
    words = ident.tokens(ident.strip_quant(text or ""))
    return bool(CHAT_WORDS & set(words)) or (bool(words) and words[-1] == "it")


def _chat_claims(model: Model, promises: list[dict[str, Any]]) -> list[dict[str, str]]:
    i = model.identity
    claims: list[dict[str, str]] = []
    if i.finetune and names_chat(i.finetune):
        claims.append({"source": "general.finetune", "evidence": i.finetune})
    elif model.format == "gguf" and i.name and names_chat(i.name):
        claims.append({"source": "general.name", "evidence": i.name})
    elif i.name_or_path and names_chat(i.name_or_path.rstrip("/").rsplit("/", 1)[-1]):
        claims.append({"source": "config.json _name_or_path", "evidence": i.name_or_path})
    for tag in i.tags:
        if tag.lower() in CHAT_TAGS:
            claims.append({"source": "general.tags", "evidence": tag})
    if model.card is not None:
        for tag in model.card.tags:
            if tag.lower() in CHAT_TAGS:
                claims.append({"source": f"model card tags ({model.card.source})", "evidence": tag})
        if (model.card.pipeline_tag or "").lower() == "conversational":
            claims.append({"source": f"model card pipeline_tag ({model.card.source})", "evidence": "conversational"})
    for p in promises:
        # A promise the file contradicts is QL401's business; one it confirms or cannot judge counts.
        if p.get("verdict") in ("match", "unknown") and p["source"] != "--expect" and names_chat(p["value"]):
            claims.append({"source": p["source"], "evidence": p["value"]})
    return claims


def _recorded_bases(model: Model) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    if model.card is not None:
        out.extend({"source": f"model card base_model ({model.card.source})", "value": b} for b in model.card.base_model)
    out.extend({"source": "general.base_model.*", "value": b} for b in model.identity.base_models)
    for key in ("general.source.repo_url", "general.source.url", "general.source.huggingface.repository"):
        value = model.meta(key)
        if isinstance(value, str) and value.strip():
            out.append({"source": key, "value": value})
    nop = model.identity.name_or_path
    if nop and _is_hub_id(nop) and "/" in nop:
        out.append({"source": "config.json _name_or_path", "value": nop})
    return out


def _template_texts(model: Model) -> list[str]:
    tok = model.tokenizer
    return [t for t in (tok.chat_template, *tok.named_chat_templates.values()) if t]


def _not_base_evidence(model: Model, chat_claims: list[dict[str, str]]) -> list[dict[str, str]]:
    """What says the file is NOT the base model: a fine-tune named in its metadata (even an
    opaque training-run name such as "8k-lc100k-mix1-ep2", which convert_hf_to_gguf takes from
    _name_or_path), a chat template in a conversation format, instruction-tuning tags, a card
    naming a chat model as what this is."""
    out: list[dict[str, str]] = []
    ft = (model.identity.finetune or "").strip()
    if ft and not set(re.split(r"[-_\s]+", ft.lower())) <= BASE_FINETUNES | ident.NOT_FINETUNE:
        out.append({"kind": "finetune", "source": "general.finetune" if model.format == "gguf" else "finetune",
                    "evidence": ft})
    if any(CHAT_FORMAT.search(t) for t in _template_texts(model)):
        out.append({"kind": "chat-template", "source": model.tokenizer.chat_template_source or "tokenizer.chat_template",
                    "evidence": "a chat template with roles or turn markers"})
    for claim in chat_claims:
        if "tags" in claim["source"] or "pipeline_tag" in claim["source"]:
            out.append({"kind": "chat-tag", **claim})
    card = model.card
    if card is not None and names_chat(card.model_name):
        out.append({"kind": "card", "source": f"model card model_name ({card.source})", "evidence": card.model_name or ""})
    return out


def _base_evidence(model: Model, actual: ident.ParsedId | None) -> list[dict[str, str]]:
    """What positively says the file IS a base model: general.finetune spelled "base", or an
    identity written by a converter (general.basename/size_label, general.name, _name_or_path)
    that names no fine-tune. convert_hf_to_gguf writes general.finetune whenever the model's
    name has one, so its absence next to a basename is a statement, not a gap."""
    i = model.identity
    ft = (i.finetune or "").strip().lower()
    if ft and set(re.split(r"[-_\s]+", ft)) <= BASE_FINETUNES:
        return [{"source": "general.finetune" if model.format == "gguf" else "finetune", "evidence": i.finetune or ""}]
    if ft or actual is None or actual.markers:
        return []
    if model.format == "gguf" and (i.basename or i.size_label):
        return [{"source": "general.basename/size_label", "evidence": "no general.finetune"}]
    if not actual.confident and not actual.size_label:
        return []  # "LLaMA v2": too vague to say anything
    return [{"source": actual.source, "evidence": f"{actual.raw!r} names no fine-tune"}]


def enrich_provenance(model: Model, settings: LintSettings) -> None:
    if not model.readable or model.format in ("unknown", "lfs-pointer"):
        return
    texts, described = _actual_texts(model)
    promises = _promises(model, settings)
    actual: ident.ParsedId | None = None
    actual_done = False
    for promise in promises:
        if not actual_done and not ident.covered_by(promise["value"], texts) and (
                promise["source"] == "--expect" or ident.informative(promise["value"]) or promise.get("card")):
            actual, actual_done = actual_identity(model), True
        _judge(promise, model, actual, texts)
    provenance = dict(model.provenance or {})
    chat_claims = _chat_claims(model, promises)
    provenance.update(
        actual={"described": described or None, **(actual.as_dict() if actual else {})},
        promises=promises,
        chat_claims=chat_claims,
        not_base_evidence=_not_base_evidence(model, chat_claims),
        base_evidence=_base_evidence(model, actual),
        recorded_bases=_recorded_bases(model),
        has_chat_template=model.tokenizer.has_chat_template or bool(model.tokenizer.named_chat_templates),
    )
    model.provenance = provenance
