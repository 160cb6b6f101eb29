"""Model identities: parse names and repo ids, and compare what a file is with what was promised.

Names come from many places (a file name, a repo id, the model card's base_model, --expect,
GGUF general.* keys, config.json _name_or_path) and are spelled many ways: "Meta Llama 3.1 8B",
"meta-llama/Llama-3.1-8B-Instruct", "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf". They are parsed
with the grammar of gguf-py's model-id parser (`Metadata.get_model_id_components`, the one
convert_hf_to_gguf uses to write general.basename/finetune/size_label), re-implemented in
quantlint.naming so that no name ever imports gguf (and numpy), after working around its known
quirks (../shared/reference/gguf-facts.md §6.2): a trailing -GGUF lands in the finetune, quant
suffixes like IQ2_XXS land there too, names with spaces are not parsed at all, and a bare name
("X") gives no basename. Words that promise nothing about the model (quantlint.naming
PACKAGING_WORDS: vocab, header, GGUF, imatrix, i1, shard and part markers) are dropped first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from quantlint import naming

# Tokens that name a quant, a file format or a packaging of weights, never the model itself.
# The quant labels follow llama.cpp's QUANT_OPTIONS (gguf-facts.md §9.1) and the suffixes the
# quantizer repos use (hf-hub.md §8): bartowski -GGUF/-exl2, LoneStriker -5.0bpw-h6-exl2,
# TheBloke -GPTQ/-AWQ, unsloth -UD-Q4_K_XL and -bnb-4bit, mlx-community -4bit.
_FALLBACK_QUANT_TAG = re.compile(
    r"""^(?:
        i?q\d(?:_[a-z0-9]+)*        # Q4_K_M, IQ2_XXS, Q8_0, Q4_K_XL, IQ4_NL
      | tq\d_\d | mxfp4(?:_moe)? | nvfp4 | fp[48] | f(?:16|32) | bf16 | fp16 | fp32
      | \d+(?:\.\d+)?bpw | h\d | \d+bits? | int[48] | w\d+a\d+ | a\d+w\d+
      | gguf | ggml | exl2 | exl3 | awq | gptq | mlx | bnb | hqq | imatrix | imat | i1 | ud
      | safetensors | fp8dynamic | dynamic
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_PART_WORD = re.compile(r"^part\d+(?:of\d+)?$", re.IGNORECASE)
_HEX_HASH = re.compile(r"^[0-9a-f]{32,64}$", re.IGNORECASE)

# Fine-tune markers that mean "tuned to follow instructions / chat": one class, so that
# Gemma's "it", Llama 2's "chat" and Llama 3's "Instruct" compare equal.
CHAT_MARKERS = frozenset({"instruct", "inst", "it", "chat", "instruction", "instruct-tuned", "sft-chat"})
CHAT_CLASS = "instruct"
# Words in a fine-tune slot that do not make a fine-tune: packaging, and the spellings of "base".
NOT_FINETUNE = frozenset({"hf", "base", "pt", "pretrained", "pretrain", "original", "model", "merged",
                          "gguf", "ggml", "exl2", "exl3", "awq", "gptq", "mlx", "quantized", "quant", "quants",
                          # quantization-aware training: how the weights were made low-bit, not what
                          # they were tuned for (google/gemma-3-*-it-qat-q4_0-gguf is the "it" model)
                          "qat"})
# Publishers that prefix model names ("Meta-Llama-3.1", bartowski's "google_gemma-3"): not a fine-tune.
VENDOR_WORDS = frozenset({"meta", "google", "mistralai", "microsoft", "qwen", "alibaba", "deepseek", "ai",
                          "nvidia", "ibm", "tiiuae", "openai", "apple", "meta-llama", "metallama", "hf",
                          "huggingfacetb", "allenai", "stabilityai", "01", "thudm", "zai", "org"})
# Tokens too generic to say anything about identity (unsloth.Q4_K_M.gguf, ggml-model-f16.gguf).
GENERIC_NAMES = frozenset({"model", "ggml", "unsloth", "output", "merged", "checkpoint", "final", "hf"})


def _quant_tag(token: str) -> bool:
    """True for a token that names a quant, a format or a packaging (local table above, and
    quantlint.naming's packaging words: vocab, header, split and part markers)."""
    lower = token.lower()
    return bool(_FALLBACK_QUANT_TAG.match(token)) or lower in naming.PACKAGING_WORDS or bool(_PART_WORD.match(lower))


def _strip_shared(name: str) -> str:
    """The shared quant-tag stripper (quantlint.facts.quant_labels) when present: it knows
    every llama-quantize type name and the custom mixes (UD-Q4_K_XL, Q4_K_L)."""
    try:
        from quantlint.facts.quant_labels import strip_quant_tags
    except ImportError:  # pragma: no cover - the local table is the fallback
        return name
    return strip_quant_tags(name)


def strip_quant(name: str) -> str:
    """"Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf" -> "Meta-Llama-3.1-8B-Instruct"; also repo suffixes
    (-GGUF, -EXL2, -AWQ, -GPTQ, -4bit), split-shard suffixes and TheBloke's ".Q4_K_M" spelling."""
    text, _shard, _dropped = naming.peel_suffixes(name.strip())
    text = _strip_shared(text)
    kept: list[str] = []
    for token in re.split(r"[-\s]+", text):
        if not token or _quant_tag(token):
            continue
        if "." in token:  # llama-2-7b-chat.Q4_K_M
            head, _, tail = token.rpartition(".")
            if head and _quant_tag(tail):
                token = head
        if "_" in token and not _quant_tag(token):  # Cydonia-22B-v1.3_EXL2_5.5bpw_H8
            parts = [p for p in token.split("_") if p and not _quant_tag(p)]
            token = "_".join(parts)
        if token:
            kept.append(token)
    return "-".join(kept)


def tokens(text: str | None) -> list[str]:
    """Lower-case word tokens, split at punctuation and at letter/digit boundaries:
    "Meta-Llama-3.1" -> [meta, llama, 3, 1]; "Qwen2.5" -> [qwen, 2, 5]; "270m" -> [270, m]."""
    if not text:
        return []
    out: list[str] = []
    for word in re.split(r"[^0-9a-zA-Z]+", text.lower()):
        out.extend(p for p in re.findall(r"[a-z]+|\d+", word) if p)
    return out


def _markers_of(finetune: str | None) -> frozenset[str]:
    """Fine-tune markers from a finetune field: the chat class plus named fine-tunes."""
    if not finetune:
        return frozenset()
    out: set[str] = set()
    for part in re.split(r"[-_\s]+", finetune.lower()):
        if not part or part in NOT_FINETUNE or _quant_tag(part):
            continue
        if re.fullmatch(r"v?\d+(\.\d+)*|\d+[km]", part):  # versions and context lengths (128k, 1m)
            continue
        out.add(CHAT_CLASS if part in CHAT_MARKERS else part)
    return frozenset(out)


@dataclass(frozen=True)
class ParsedId:
    """One identity as parsed from a name or id, with where it came from."""

    raw: str
    source: str
    org: str | None = None
    basename: str | None = None
    finetune: str | None = None
    version: str | None = None
    size_label: str | None = None
    confident: bool = True  # False for guesses: a name parsed from free text, a local path
    markers: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_finetune(self) -> bool:
        return bool(self.markers)

    @property
    def is_chat(self) -> bool:
        return CHAT_CLASS in self.markers

    def describe(self) -> str:
        parts = [p for p in (self.basename, self.size_label, self.finetune, self.version) if p]
        return " ".join(parts) if parts else self.raw

    def as_dict(self) -> dict[str, object]:
        return {"value": self.raw, "source": self.source, "basename": self.basename,
                "finetune": self.finetune, "version": self.version, "size_label": self.size_label,
                "markers": sorted(self.markers), "confident": self.confident}


def clean_name(name: str) -> str:
    """A name ready for gguf's parser: no quant tags, no spaces (gguf gives up on spaces)."""
    text = name.strip().replace("\\", "/")
    org = ""
    if "/" in text:
        org, _, text = text.rpartition("/")
        org = org.rsplit("/", 1)[-1]
    elif m := re.match(r"^([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z][A-Za-z]+)?)_([A-Za-z].*)$", text):
        # bartowski's "{org}_{model}" file names: NousResearch_Hermes-3-..., google_gemma-3-...
        org, text = m.group(1), m.group(2)
    text = strip_quant(text)
    text = re.sub(r"\s+", "-", text.strip())
    return f"{org}/{text}" if org and text else text


def parse(name: str, source: str, *, confident: bool = True, finetune: str | None = None,
          basename: str | None = None, size_label: str | None = None, version: str | None = None) -> ParsedId | None:
    """Parse a name or repo id. Explicit fields (GGUF general.basename etc.) win over parsing."""
    if basename or finetune or size_label:
        return ParsedId(raw=name or basename or "", source=source, basename=basename, finetune=finetune,
                        version=version, size_label=size_label, confident=confident,
                        markers=_markers_of(finetune))
    cleaned = clean_name(name or "")
    if not cleaned or _HEX_HASH.match(cleaned) or set(tokens(cleaned)) <= GENERIC_NAMES:
        return None
    _full, org, base, ft, ver, size = naming.model_id_components(cleaned)
    if base is None:  # gguf calls a bare name "too ambiguous"; for a comparison it is the basename
        base = cleaned.rpartition("/")[2] or None
    if ft:
        ft = "-".join(p for p in ft.split("-") if p.lower() not in NOT_FINETUNE and not _quant_tag(p)) or None
    return ParsedId(raw=name, source=source, org=org, basename=base, finetune=ft, version=ver,
                    size_label=size, confident=confident, markers=_markers_of(ft))


# -- comparison ---------------------------------------------------------------------------------
def covered_by(promise: str, actual_texts: list[str | None]) -> bool:
    """True when every word of the promise (quant tags and org aside) also appears in what the file
    says it is: then no comparison can find a conflict, and no name need be parsed."""
    words = set(tokens(clean_name(promise).rpartition("/")[2]))
    have: set[str] = set()
    for text in actual_texts:
        have.update(tokens(text))
    if "it" in have or "chat" in have or "instruct" in have:
        have.update({"it", "chat", "instruct", "inst"})
    return words <= have


_SIZE_WORD = re.compile(r"(?i)(?<![a-z0-9])(?:\d+x)?\d+(?:[._]\d+)?[bm](?![a-z])")


def informative(promise: str) -> bool:
    """Can this name be compared at all? It needs a fine-tune word, a size ("8B", "270m", "8x7B")
    or two words of its own: "fuzz.gguf" or "model.gguf" cannot promise a fine-tune."""
    leaf = clean_name(promise).rpartition("/")[2]
    words = [w for w in tokens(leaf) if w not in GENERIC_NAMES]
    if CHAT_MARKERS & set(words) or _SIZE_WORD.search(leaf):
        return True
    return len([w for w in words if not w.isdigit()]) >= 2


def size_in_params(label: str | None) -> float | None:
    """"8B" -> 8e9, "8x7B" -> 5.6e10, "30B-A3B" -> 3e10, "270M" -> 2.7e8; None for "4K" or words."""
    if not label:
        return None
    m = re.match(r"^(?:(\d+)x)?(\d+(?:\.\d+)?)([KMBT])", label.strip(), re.IGNORECASE)
    if not m:
        return None
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[m.group(3).upper()]
    value = float(m.group(2)) * scale * (int(m.group(1)) if m.group(1) else 1)
    return value if value >= 1e7 else None  # "4K" is a context length (Phi-3-mini-4k), not a size


def _sublist(short: list[str], long: list[str]) -> int | None:
    for i in range(len(long) - len(short) + 1):
        if long[i:i + len(short)] == short:
            return i
    return None


def basename_relation(promise: ParsedId, actual: ParsedId) -> tuple[str, frozenset[str]]:
    """("same" | "related" | "derived" | "different" | "unknown", named words only the promise has).

    Related means one basename contains the other ("Meta-Llama-3.1" and "Llama-3.1",
    "Hermes-3-Llama-3.1" and "Llama-3.1"); the promise's extra words that are no publisher
    name are a named fine-tune (Hermes) or specialisation (Coder)."""
    p, a = tokens(promise.basename), tokens(actual.basename)
    if not p or not a:
        return "unknown", frozenset()
    if p == a:
        return "same", frozenset()
    vendors = VENDOR_WORDS | set(tokens(promise.org)) | set(tokens(actual.org))
    if (at := _sublist(a, p)) is not None:
        extra = p[:at] + p[at + len(a):]
        named = frozenset(w for w in extra if not w.isdigit() and w not in vendors and w not in a)
        return ("related" if named else "same"), named
    if (at := _sublist(p, a)) is not None:
        extra = a[:at] + a[at + len(p):]
        if any(not w.isdigit() and w not in vendors and w not in p for w in extra):
            # The file is a named tune of the promised model (Hermes-3-Llama-3.1 over a copied
            # card whose base_model is Llama-3.1-8B-Instruct): the promise names its origin.
            return "derived", frozenset()
        return "same", frozenset()  # only a publisher prefix ("Meta-Llama-3.1" for "Llama-3.1")
    return "different", frozenset()


@dataclass
class Comparison:
    verdict: str  # match | base-instead-of-finetune | other-finetune | other-model | unknown
    reasons: list[str] = field(default_factory=list)
    missing_markers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"verdict": self.verdict, "reasons": self.reasons, "missing_markers": self.missing_markers}


def compare(promise: ParsedId, actual: ParsedId, chat_only: bool = False) -> Comparison:
    """Compare a promised identity with the file's own: basename, size label, version, markers.

    chat_only: for names anyone may have typed (a folder name), only the Instruct/Chat/it class
    counts as a fine-tune marker: their other words are too often noise ("main", "128g")."""
    relation, named = basename_relation(promise, actual)
    if chat_only:
        named = frozenset()
        promise = ParsedId(**{**promise.__dict__, "markers": promise.markers & {CHAT_CLASS}, "confident": False})
    reasons: list[str] = []
    p_size, a_size = size_in_params(promise.size_label), size_in_params(actual.size_label)
    if p_size and a_size and max(p_size, a_size) / min(p_size, a_size) > 1.25:
        reasons.append(f"size {promise.size_label} promised, {actual.size_label} in the file")
    if relation == "different" and promise.confident and actual.confident:
        reasons.append(f"model {promise.basename} promised, {actual.basename} in the file")
    if promise.version and actual.version and promise.version.lower().lstrip("v") != actual.version.lower().lstrip("v"):
        reasons.append(f"version {promise.version} promised, {actual.version} in the file")
    if reasons:
        return Comparison("other-model", reasons)
    if relation == "derived":
        return Comparison("match", [f"the file ({actual.basename}) is a named tune of {promise.basename}"])
    missing = sorted((promise.markers | named) - actual.markers)
    if not missing:
        return Comparison("match" if relation != "unknown" or actual.basename else "unknown")
    what = ", ".join(missing).replace(CHAT_CLASS, "Instruct/Chat")
    if actual.markers:
        return Comparison("other-finetune", [f"fine-tune {what} promised, the file is {actual.finetune}"], missing)
    return Comparison("base-instead-of-finetune", [f"fine-tune {what} promised, the file names no fine-tune"], missing)
