"""Model and file names, read with the grammar convert_hf_to_gguf uses, without importing gguf.

The GGUF naming convention (ggml docs/gguf.md, "GGUF Naming Convention"; written by gguf-py's
`gguf.utility.naming_convention`) is

    <BaseName><SizeLabel><FineTune><Version><Encoding><Type><Shard>.gguf
    Mixtral-8x7B-Instruct-v0.1-Q4_K_M-00001-of-00003.gguf

and convert_hf_to_gguf fills general.basename / size_label / finetune / version from a repo id
with `gguf.metadata.Metadata.get_model_id_components`. `model_id_components` below is that
function re-implemented line for line (gguf-py 0.19.0, gguf/metadata.py), because importing gguf
costs numpy (about 0.15 s, as much as a whole lint of a local file) and its output is compared
with gguf-py's own on a table of real names in tests/test_naming.py.

`parse_name` is the file-name layer around it: publishers add words the convention has no slot
for, or that promise nothing about the model, and those are peeled off first:
- shard and part markers: llama.cpp gguf-split `-00001-of-00003`, mradermacher `.part1of2`,
  TheBloke `-split-a`;
- the quant tag (quantlint.facts.quant_labels: Q4_K_M, UD-Q4_K_XL, Q4_K_L...), with
  mradermacher's `i1-` imatrix prefix (`Model.i1-Q4_K_M.gguf`);
- packaging words: the Type slot's `vocab`/`LoRA`, `GGUF`, `AWQ`, `GPTQ`, `EXL2`, `imat`,
  `imatrix`, `header`...

gguf-py keeps some of these in the fine-tune (`Qwen2.5-7B-Instruct-GGUF` -> finetune
"Instruct-GGUF"); quantlint needs the fine-tune to mean the tuning, so `parse_name` drops them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from quantlint.facts.quant_labels import QuantTag, find_quant_tags

Components = tuple[str | None, str | None, str | None, str | None, str | None, str | None]

# gguf-py metadata.py get_model_id_components, its regular expressions verbatim.
_VERSION = re.compile(r"(v|iter)?\d+([.]\d+)*", re.IGNORECASE)
_TYPE = re.compile(r"i?q\d(_\w)*|b?fp?(16|32)", re.IGNORECASE)
_SIZE = re.compile(r"(([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?|small|mini|medium|large|x?xl)", re.IGNORECASE)
_EASY_FINETUNE = re.compile(r"chat|instruct|vision|lora", re.IGNORECASE)


def _annotate_size(part: str, total_params: int, types: set[str]) -> str:
    part = part.replace("_", ".")
    if part[-1].isdecimal():  # bloom-7b1 notation -> 7.1B
        part = part[:-2] + "." + part[-1] + part[-2]
    if len(part) > 1 and part[-2].isdecimal() and part[-1] in "kmbt":
        part = part[:-1] + part[-1].upper()
    if total_params != 0:
        try:
            label_params = float(part[:-1]) * pow(1000, " KMBT".find(part[-1]))
            # A label far from the real size is a context length ("4k"): a fine-tune word then.
            if (total_params < 0 and label_params < abs(total_params) // 8) or (
                    total_params > 0 and abs(label_params - total_params) > 7 * total_params // 8):
                types.add("finetune")
                part = part[:-1] + part[-1].lower()
        except ValueError:
            pass
    if not types:
        types.add("size_label")
    return part


@lru_cache(maxsize=512)
def model_id_components(model_id: str | None, total_params: int = 0) -> Components:
    """(full name, org, basename, finetune, version, size_label), as gguf-py computes them.

    "mistralai/Mixtral-8x7B-Instruct-v0.1" -> ("Mixtral-8x7B-Instruct-v0.1", "mistralai",
    "Mixtral", "Instruct", "v0.1", "8x7B"). A name with a space is free text: no components.
    A name with no size, fine-tune or version is "too ambiguous": no basename either."""
    if model_id is None:
        return None, None, None, None, None, None
    if " " in model_id:
        return model_id, None, None, None, None, None
    if "/" in model_id:
        org, full = model_id.split("/", 1)
    else:
        org, full = None, model_id
    if org is not None and org.startswith("."):  # "./model" or "../model": a path, not an org
        org = None

    parts = [p for p in full.split("-") if p]
    types: list[set[str]] = [set() for _ in parts]
    for i, part in enumerate(parts):
        if _VERSION.fullmatch(part):
            types[i].add("version")
        elif _TYPE.fullmatch(part):  # a quant type: annotated, and then left out of every field
            types[i].add("type")
            parts[i] = part.upper()
        elif i > 0 and _SIZE.fullmatch(part):
            parts[i] = _annotate_size(part, total_params, types[i])
        elif i > 0 and _EASY_FINETUNE.fullmatch(part):
            types[i].add("type" if total_params < 0 and part.lower() == "lora" else "finetune")

    # Word sizes ("mini") give way when a numeric size is present.
    if any(c.isdecimal() for n, t in zip(parts, types) if "size_label" in t for c in n):
        for n, t in zip(parts, types):
            if "size_label" in t and all(c.isalpha() for c in n):
                t.remove("size_label")

    at_start = True
    for part, t in zip(parts, types):
        if at_start and ((not t and part[0].isalpha()) or "version" in t):
            t.add("basename")
        else:
            at_start = False
            if not t:
                t.add("finetune")
    for t in reversed(types):  # a trailing version belongs to the version, not the basename
        if "basename" in t and len(t) > 1:
            t.remove("basename")
        else:
            break

    basename = "-".join(n for n, t in zip(parts, types) if "basename" in t) or None
    size_label = "-".join(dict.fromkeys(s for s, t in zip(parts, types) if "size_label" in t)) or None
    finetune = "-".join(f for f, t in zip(parts, types) if "finetune" in t) or None
    version = "-".join(v for v, t in zip(parts, types) if "version" in t and "basename" not in t) or None
    if size_label is None and finetune is None and version is None:
        basename = None
    return full, org, basename, finetune, version, size_label


# -- file names ----------------------------------------------------------------------------------
# Words that say how a model is packaged, never which model it is. The naming convention's Type
# slot ("vocab", "LoRA"); repo suffixes of the quant publishers (bartowski -GGUF, TheBloke
# -GPTQ/-AWQ, LoneStriker -exl2); imatrix markers (bartowski "imat", mradermacher "i1"); dump
# suffixes ("header": a header-only copy); the file formats themselves.
PACKAGING_WORDS = frozenset({
    "gguf", "ggml", "ggjt", "awq", "gptq", "exl2", "exl3", "mlx", "bnb", "hqq", "safetensors",
    "imat", "imatrix", "i1", "ud", "vocab", "header", "headers", "split", "shard", "part", "quant", "quants",
    "quantized",
})
_EXTENSIONS = re.compile(r"\.(?:gguf|ggml|bin|safetensors)$", re.IGNORECASE)
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})$")  # llama.cpp gguf-split (tools/gguf-split)
_PART = re.compile(r"[.-]part(\d+)(?:of(\d+))?$", re.IGNORECASE)  # mradermacher .gguf.part1of2
_SPLIT_LETTER = re.compile(r"-split-([a-z])$", re.IGNORECASE)  # TheBloke .gguf-split-a
_DOT_NOISE = re.compile(r"\.([A-Za-z0-9]+)$")


@dataclass(frozen=True)
class NameParts:
    """A file or repo name taken apart. `name` is what is left for the model itself."""

    raw: str
    name: str  # "Meta-Llama-3.1-8B-Instruct" from "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"
    org: str | None = None
    basename: str | None = None
    size_label: str | None = None
    finetune: str | None = None
    version: str | None = None
    quant: QuantTag | None = None
    imatrix_marker: bool = False  # "i1-", "imat", "imatrix" in the name
    shard: tuple[int, int] | None = None  # (number, count), 1-based
    dropped: tuple[str, ...] = field(default_factory=tuple)  # packaging words removed

    @property
    def quant_label(self) -> str | None:
        return self.quant.label if self.quant else None


def peel_suffixes(leaf: str) -> tuple[str, tuple[int, int] | None, list[str]]:
    """Drop extensions, shard/part markers and dotted packaging suffixes from the end, in any
    order ("x.gguf.part1of2", "x-00001-of-00003.gguf", "x-Q4_K_M.header.gguf")."""
    shard: tuple[int, int] | None = None
    dropped: list[str] = []
    text = leaf
    while True:
        before = text
        text = _EXTENSIONS.sub("", text)
        if m := _SHARD.search(text):
            shard, text = (int(m.group(1)), int(m.group(2))), text[:m.start()]
        elif m := _PART.search(text):
            count = int(m.group(2)) if m.group(2) else 0
            shard, text = (int(m.group(1)), count), text[:m.start()]
        elif m := _SPLIT_LETTER.search(text):
            shard, text = (ord(m.group(1).lower()) - ord("a") + 1, 0), text[:m.start()]
        elif (m := _DOT_NOISE.search(text)) and m.group(1).lower() in PACKAGING_WORDS:
            dropped.append(m.group(1))
            text = text[:m.start()]
        if text == before:
            return text, shard, dropped


def _drop_words(text: str, dropped: list[str]) -> tuple[str, bool]:
    """Remove packaging words standing alone between separators; True when one was an imatrix marker."""
    imatrix = False
    kept: list[str] = []
    for token in re.split(r"([-.\s]+)", text):
        if token.lower() in PACKAGING_WORDS:
            dropped.append(token)
            imatrix = imatrix or token.lower() in ("imat", "imatrix", "i1")
            continue
        kept.append(token)
    out = "".join(kept)
    out = re.sub(r"([-.\s])[-.\s]+", r"\1", out)  # separators left doubled by a removal
    return out.strip("-. _"), imatrix


def _strip_tags(text: str, tags: list[QuantTag]) -> str:
    for tag in reversed(tags):
        start, end = tag.start, tag.end
        while start > 0 and text[start - 1] in "-._ ":
            start -= 1
        if start == 0:
            while end < len(text) and text[end] in "-._ ":
                end += 1
        text = text[:start] + text[end:]
    return text.strip("-._ ")


@lru_cache(maxsize=512)
def parse_name(name: str) -> NameParts:
    """A file name, repo id or path component taken apart (the last path component is read).

    "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF" -> name "Meta-Llama-3.1-8B-Instruct", org
    "bartowski", finetune "Instruct"; "Llama-3.1-8B-Instruct.i1-Q4_K_M.gguf.part1of2" ->
    quant Q4_K_M, imatrix marker, shard (1, 2)."""
    text = name.strip().replace("\\", "/").rstrip("/")
    org = None
    if "/" in text:
        org_part, _, text = text.rpartition("/")
        org = org_part.rsplit("/", 1)[-1] or None
    stem, shard, dropped = peel_suffixes(text)
    tags = find_quant_tags(stem)
    quant = tags[-1] if tags else None
    stem = _strip_tags(stem, tags)
    stem, imatrix = _drop_words(stem, dropped)
    imatrix = imatrix or any(d.lower() in ("imat", "imatrix", "i1") for d in dropped)
    cleaned = re.sub(r"\s+", "-", stem)
    # TheBloke's "llama-2-7b-chat.Q4_K_M": the dot before the tag is gone; one inside a name
    # ("Qwen2.5", "v0.1") stays.
    _full, _org, basename, finetune, version, size_label = model_id_components(cleaned) if cleaned else (None,) * 6
    return NameParts(raw=name, name=cleaned, org=org, basename=basename, size_label=size_label, finetune=finetune,
                     version=version, quant=quant, imatrix_marker=imatrix, shard=shard, dropped=tuple(dropped))
