"""Enricher: what the model is for (code, math, multilingual or general), and how sure that is.

Sets model.domain = {"domain": ..., "confidence": "high"|"medium"|"low", "evidence": [...]}.
It reads only facts already on the Model: the identity (name, basename, finetune, size label,
tags, languages, file name, repo, _name_or_path, base models) and the model card (model_name,
pipeline_tag, language, tags, base_model). The card's `datasets:` are training sets and are not
used here.

How sure:
- high: a marker in the model's own name (general.name, basename, finetune, file or repo name),
  or a language list without English;
- medium: a marker only in tags or in a base model's name, or a language list of several
  languages that includes English (Llama 3.1 lists eight: multilingual, but mostly used in English);
- low: no marker at all (domain "general").
"""

from __future__ import annotations

import re
from typing import Any

from quantlint.model import Model
from quantlint.settings import LintSettings

# Whole name tokens (after splitting on - _ . / space and dropping trailing version digits).
CODE_TOKENS = frozenset({
    "code", "coder", "coding", "codellama", "codestral", "codegemma", "codeqwen", "codegen", "codegeex",
    "starcoder", "starcoderbase", "starchat", "wizardcoder", "deepseekcoder", "opencoder", "santacoder",
    "devstral", "phind", "magicoder", "octocoder", "stablecode", "granitecode", "yicoder", "replit",
})
MATH_TOKENS = frozenset({
    "math", "mathstral", "wizardmath", "metamath", "deepseekmath", "openmath", "numinamath", "llemma",
    "mammoth", "internlm2math", "qwen2math", "mathcoder",
})
MULTILINGUAL_TOKENS = frozenset({
    "multilingual", "aya", "bloom", "bloomz", "mt0", "xglm", "polylm", "sailor", "seallm", "sealion",
    "swallow", "elyza", "jais", "chinese", "japanese", "korean", "german", "french", "spanish", "arabic",
    "hindi", "vietnamese", "thai", "indonesian", "turkish", "russian", "polish", "italian", "portuguese",
    "dutch", "ukrainian", "persian", "hebrew", "greek", "swedish", "norwegian", "danish", "finnish",
})
CODE_TAGS = frozenset({"code", "coding", "code-generation", "text2text-generation-code", "programming"})
MATH_TAGS = frozenset({"math", "mathematics", "math-reasoning"})
MULTILINGUAL_TAGS = frozenset({"multilingual", "translation"})
NOT_CODE = frozenset({"decoder", "encoder", "unicode", "barcode"})

_SPLIT = re.compile(r"[\s\-_./:,]+")


MAX_NAME_CHARS = 256  # real names are short; a corrupt header can make a "name" megabytes long


def tokens(text: str) -> list[str]:
    """Name tokens, lower case, with trailing version digits dropped ("starcoder2" -> "starcoder")."""
    text = text[:MAX_NAME_CHARS]
    out = []
    for part in _SPLIT.split(text.lower()):
        if not part:
            continue
        out.append(part)
        stripped = re.sub(r"\d+[a-z]?$", "", part)
        if stripped and stripped != part:
            out.append(stripped)
    joined = text.lower().replace("_", "-")
    for glued in ("deepseek-coder", "deepseek-math", "granite-code", "yi-coder", "stable-code", "qwen2-math",
                  "internlm2-math", "code-llama"):
        if glued in joined:
            out.append(glued.replace("-", ""))
    return out


def _marker(text: str) -> tuple[str, str] | None:
    """(domain, token) for the first code/math/multilingual marker in a name."""
    for tok in tokens(text):
        if tok in NOT_CODE:
            continue
        if tok in MATH_TOKENS or tok.endswith("math") and len(tok) > 4:
            return "math", tok
        if tok in CODE_TOKENS or tok.endswith("coder") or (tok.startswith("code") and len(tok) <= 10):
            return "code", tok
        if tok in MULTILINGUAL_TOKENS:
            return "multilingual", tok
    return None


def _own_names(model: Model) -> list[tuple[str, str]]:
    ident = model.identity
    names: list[tuple[str, str]] = []
    for label, value in (("general.name", ident.name), ("basename", ident.basename), ("finetune", ident.finetune),
                         ("size label", ident.size_label), ("file name", ident.file_name), ("repo", ident.repo),
                         ("_name_or_path", ident.name_or_path)):
        if isinstance(value, str) and value:
            names.append((label, value[:MAX_NAME_CHARS]))
    if model.card is not None and model.card.model_name:
        names.append(("card model_name", model.card.model_name))
    return names


def _base_names(model: Model) -> list[tuple[str, str]]:
    bases = list(model.identity.base_models)
    if model.card is not None:
        bases.extend(b for b in model.card.base_model if b not in bases)
    return [("base model", b[:MAX_NAME_CHARS]) for b in bases[:16] if isinstance(b, str)]


def _tags(model: Model) -> list[str]:
    tags = list(model.identity.tags)
    if model.card is not None:
        tags.extend(model.card.tags)
    return [t[:MAX_NAME_CHARS].lower() for t in tags[:256] if isinstance(t, str)]


def _languages(model: Model) -> list[str]:
    langs = list(model.identity.languages[:256])
    if model.card is not None:
        langs.extend(model.card.language[:256])
    seen: list[str] = []
    for lang in langs:
        if isinstance(lang, str) and lang[:64].strip():
            code = lang[:64].strip().lower()[:32]  # a language code or name; never a paragraph
            if code not in seen:
                seen.append(code)
    return seen


def _short(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def infer_domain(model: Model) -> dict[str, Any]:
    found: dict[str, list[tuple[str, str]]] = {}  # domain -> [(confidence, evidence)]

    def add(domain: str, confidence: str, evidence: str) -> None:
        found.setdefault(domain, []).append((confidence, evidence))

    for label, value in _own_names(model):
        hit = _marker(value)
        if hit:
            add(hit[0], "high", f"{label} {_short(value)!r} has {hit[1]!r}")
    for label, value in _base_names(model):
        hit = _marker(value)
        if hit:
            add(hit[0], "medium", f"{label} {_short(value)!r} has {hit[1]!r}")
    for tag in _tags(model):
        if tag in CODE_TAGS:
            add("code", "medium", f"tag {tag!r}")
        elif tag in MATH_TAGS:
            add("math", "medium", f"tag {tag!r}")
        elif tag in MULTILINGUAL_TAGS:
            add("multilingual", "medium", f"tag {tag!r}")
    langs = [lang for lang in _languages(model) if lang not in ("code", "multilingual")]
    if "code" in _languages(model):
        add("code", "medium", "language 'code'")
    if "multilingual" in _languages(model):
        add("multilingual", "high", "language 'multilingual'")
    if langs and not any(lang in ("en", "eng", "english") for lang in langs):
        add("multilingual", "high", f"languages {', '.join(langs[:6])} (no English)")
    elif len(langs) >= 3:
        add("multilingual", "medium", f"{len(langs)} languages ({', '.join(langs[:6])}{'…' if len(langs) > 6 else ''})")
    if model.card is not None and model.card.pipeline_tag == "translation":
        add("multilingual", "medium", "pipeline_tag 'translation'")

    # Code and math markers are specific; a language list is a weaker hint than either.
    for domain in ("code", "math", "multilingual"):
        hits = found.get(domain)
        if not hits:
            continue
        confidence = "high" if any(c == "high" for c, _ in hits) else "medium"
        evidence = [e for _, e in hits]
        others = [d for d in found if d != domain]
        if others:
            evidence.append("also: " + ", ".join(f"{d} ({found[d][0][1]})" for d in others))
        return {"domain": domain, "confidence": confidence, "evidence": evidence}
    evidence = ["no code, math or multilingual markers in the name, tags or languages"]
    if langs:
        evidence.append(f"languages: {', '.join(langs[:6])}")
    return {"domain": "general", "confidence": "medium" if langs == ["en"] else "low", "evidence": evidence}


def enrich_domain(model: Model, settings: LintSettings) -> None:
    if model.domain is not None:  # a reader or an earlier enricher already knew
        return
    if not (model.identity.name or model.identity.basename or model.identity.file_name or model.identity.repo
            or model.identity.name_or_path or model.card is not None or model.identity.tags):
        return
    model.domain = infer_domain(model)
