"""Known calibration data sets, their domain, and what each quant tool uses when nothing is recorded.

One table (CALIBRATION_SETS). To add a set, append one CalibrationSet: give it a key, a
label, its domain, the names and URL fragments it goes by, and where the fact comes from.
`lookup(text)` matches a recorded value - a name ("c4", "wikitext2"), a Hub id
("mit-han-lab/pile-val-backup"), an absolute file path ("/training_dir/calibration_datav3.txt"),
a URL (a TheBloke table link, bartowski's gist) or a markdown link - by normalised name,
basename, Hub id and URL.

Domains:
- "general-english": English prose only (wikitext, c4, the Pile, ultrachat...). These are the
  sets QL302 compares with a code, multilingual or math model.
- "mixed": deliberately broad mixes (ExLlamaV2/V3 built-ins, bartowski's calibration_datav3,
  kalomaze's groups_merged, unsloth's curated sets). Not English-only.
- "code", "multilingual", "math": sets of that domain.

Sources (../shared/reference/): formats.md §0.1, §1.1 (EXL2 "(default)"), §2.1 (EXL3 built-in),
§3.1 (AutoAWQ pileval), §4.3-4.4 (GPTQ dataset field, TheBloke tables, GPTQ-for-LLaMa command
lines), §5.3 (auto-round pile-10k), §6 (GGUF imatrix values seen); quality-evidence.md §4;
hf-hub.md §8 (bartowski, kalomaze, unsloth, TheBloke "Evol Instruct Code").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GENERAL_ENGLISH = "general-english"
MIXED = "mixed"
CODE = "code"
MULTILINGUAL = "multilingual"
MATH = "math"

DOMAIN_LABELS = {
    GENERAL_ENGLISH: "general English text",
    MIXED: "a broad mix (prose, code, multilingual)",
    CODE: "code",
    MULTILINGUAL: "multilingual text",
    MATH: "math",
}


@dataclass(frozen=True)
class CalibrationSet:
    key: str
    label: str
    domain: str
    names: tuple[str, ...] = ()  # exact names, Hub ids or file basenames (normalised on load)
    prefixes: tuple[str, ...] = ()  # name families: "wikitext" covers wikitext-103-raw-v1-test
    urls: tuple[str, ...] = ()  # URL fragments (gist ids, discussion anchors)
    source: str = ""
    note: str = ""


CALIBRATION_SETS: tuple[CalibrationSet, ...] = (
    # -- general English ----------------------------------------------------------------------
    CalibrationSet(
        "wikitext", "WikiText", GENERAL_ENGLISH,
        names=("wikitext", "wikitext2", "wikitext-2", "wikitext-2-raw", "wikitext-2-raw-v1", "wikitext-2-v1",
               "wikitext-103", "wikitext-103-raw-v1", "salesforce/wikitext", "wiki.train.raw", "wiki.test.raw",
               "wiki.valid.raw"),
        prefixes=("wikitext",),
        source="formats.md §4.3 (transformers GPTQConfig 'wikitext2'), §4.4 (TheBloke tables); llama.cpp perplexity README",
        note="English Wikipedia articles"),
    CalibrationSet(
        "c4", "C4", GENERAL_ENGLISH,
        names=("c4", "c4-new", "c4-en", "allenai/c4", "c4/en", "c4.json"),
        prefixes=("c4-en", "c4-new", "c4-train", "c4-validation"),
        source="formats.md §4.3 (GPTQConfig 'c4', 'c4-new'), §4.4 (GPTQ-for-LLaMa `llama.py MODEL c4`)",
        note="English web crawl (the 'en' split)"),
    CalibrationSet(
        "pileval", "pile-val-backup (pileval)", GENERAL_ENGLISH,
        names=("pileval", "pile-val", "pile-val-backup", "mit-han-lab/pile-val-backup", "pile-val.jsonl"),
        source="formats.md §3.1: AutoAWQ calib_data='pileval' -> mit-han-lab/pile-val-backup (awq/utils/calib_data.py)",
        note="the Pile validation split; mostly English"),
    CalibrationSet(
        "pile-10k", "NeelNanda/pile-10k", GENERAL_ENGLISH,
        names=("neelnanda/pile-10k", "pile-10k"),
        source="formats.md §5.3: auto-round's default dataset",
        note="first 10k documents of the Pile; mostly English"),
    CalibrationSet(
        "pile", "The Pile", GENERAL_ENGLISH,
        names=("pile", "the-pile", "eleutherai/pile", "monology/pile-uncopyrighted"),
        source="DESIGN.md rule table (wikitext, c4, pile)", note="mostly English"),
    CalibrationSet(
        "ultrachat", "UltraChat", GENERAL_ENGLISH,
        names=("ultrachat", "ultrachat-200k", "huggingfaceh4/ultrachat-200k", "stingning/ultrachat"),
        source="llm-compressor examples calibrate on HuggingFaceH4/ultrachat_200k",
        note="English chat dialogues"),
    CalibrationSet(
        "ptb", "Penn Treebank", GENERAL_ENGLISH,
        names=("ptb", "ptb-new", "ptb-text-only", "penn-treebank"),
        source="GPTQ-for-LLaMa datautils.py (wikitext2, ptb, c4)", note="English newswire"),
    CalibrationSet(
        "fineweb", "FineWeb", GENERAL_ENGLISH,
        names=("fineweb", "fineweb-edu", "huggingfacefw/fineweb", "huggingfacefw/fineweb-edu"),
        source="HuggingFaceFW/fineweb dataset card (English web)", note="English web crawl"),
    CalibrationSet(
        "openwebtext", "OpenWebText", GENERAL_ENGLISH,
        names=("openwebtext", "skylion007/openwebtext", "redpajama", "togethercomputer/redpajama-data-1t-sample"),
        source="dataset cards (English web text)", note="English web text"),
    CalibrationSet(
        "alpaca", "Alpaca", GENERAL_ENGLISH,
        names=("alpaca", "tatsu-lab/alpaca", "yahma/alpaca-cleaned"),
        source="tatsu-lab/alpaca dataset card (English instructions)", note="English instructions"),
    # -- broad mixes --------------------------------------------------------------------------
    CalibrationSet(
        "exllamav2-default", "ExLlamaV2 built-in mix", MIXED,
        names=("(default)",),
        source="formats.md §1.1: exllamav2 conversion/standard_cal_data (c4, wiki, code, multilingual, technical, tiny)",
        note="115 rows: 10 c4, 48 wiki, 15 code, 10 tinystories, 20 multilingual, 10 technical, 2 random"),
    CalibrationSet(
        "exllamav3-default", "ExLlamaV3 built-in mix", MIXED,
        names=("(built-in)", "exllamav3-built-in"),
        source="formats.md §2.1: exllamav3 calibration_data.py get_default_calibration (no custom-dataset option)",
        note="c4, code, multilingual, technical, wiki, tiny and random tokens"),
    CalibrationSet(
        "calibration_datav3", "bartowski calibration_datav3", MIXED,
        names=("calibration-datav3", "calibration-data-v3"),
        prefixes=("calibration-datav3",),
        urls=("eb213dccb3571f863da82e99418f81e8",),
        source="hf-hub.md §8: bartowski gist bartowski1182/eb213dccb3571f863da82e99418f81e8, 'multi-purpose dataset'",
        note="a multi-purpose mix (prose, code, several languages)"),
    CalibrationSet(
        "calibration_data_v5", "calibration_data_v5_rc", MIXED,
        names=("calibration-data-v5-rc", "calibration-datav5", "calibration-data-v5"),
        prefixes=("calibration-data-v5", "calibration-datav5"),
        source="formats.md §6 (a value seen in real GGUF files)",
        note="successor of calibration_datav3; its content was not checked, so it is not treated as English-only"),
    CalibrationSet(
        "groups_merged", "kalomaze groups_merged", MIXED,
        names=("groups-merged", "groups-merged-enhancedv3"),
        prefixes=("groups-merged",),
        urls=("discussioncomment-8395384", "llama.cpp/discussions/5263"),
        source="quality-evidence.md §4: llama.cpp discussion #5263 (kalomaze), used by bartowski/LM Studio",
        note="semi-random mixed text"),
    CalibrationSet(
        "random-data", "kalomaze 20k_random_data", MIXED,
        names=("20k-random-data",),
        urls=("llama.cpp/discussions/5006",),
        source="quality-evidence.md §4: llama.cpp discussion #5006 (near-random data)"),
    CalibrationSet(
        "unsloth", "unsloth calibration set", MIXED,
        names=("imatrix-unsloth", "unsloth-calibration"),
        prefixes=("unsloth-calibration", "imatrix-unsloth"),
        source="hf-hub.md §8 / quality-evidence.md §4: unsloth Dynamic 2.0 (hand-curated, 300K-1.5M tokens)",
        note="hand-curated per model; the text is unpublished"),
    # -- code ---------------------------------------------------------------------------------
    CalibrationSet(
        "evol-instruct-code", "Evol Instruct Code", CODE,
        names=("evol-instruct-code", "evol-instruct-code-80k-v1", "nickrosh/evol-instruct-code-80k-v1",
               "evol-codealpaca-v1", "theblackcat102/evol-codealpaca-v1"),
        prefixes=("evol-instruct-code",),
        source="hf-hub.md §8: TheBloke's code models (CodeLlama-13B-AWQ) used 'Evol Instruct Code'"),
    CalibrationSet(
        "the-stack", "The Stack", CODE,
        names=("the-stack", "bigcode/the-stack", "the-stack-smol", "bigcode/the-stack-smol", "the-stack-v2",
               "bigcode/the-stack-v2", "bigcode/starcoderdata", "starcoderdata"),
        prefixes=("the-stack",),
        source="bigcode dataset cards (source code)"),
    CalibrationSet(
        "codeparrot", "CodeParrot", CODE,
        names=("codeparrot", "codeparrot/github-code", "codeparrot/codeparrot-clean", "codeparrot-clean",
               "github-code", "code-alpaca", "sahil2801/codealpaca-20k", "ise-uiuc/magicoder-evol-instruct-110k",
               "m-a-p/codefeedback-filtered-instruction"),
        source="dataset cards (source code / code instructions)"),
    # -- multilingual -------------------------------------------------------------------------
    CalibrationSet(
        "mc4", "mC4", MULTILINGUAL,
        names=("mc4", "allenai/mc4", "c4/multilingual", "oscar", "oscar-corpus/oscar", "uonlp/culturax", "culturax",
               "fineweb-2", "huggingfacefw/fineweb-2", "wikipedia-multilingual"),
        source="dataset cards (multilingual web text)"),
    CalibrationSet(
        "aya", "Aya", MULTILINGUAL,
        names=("aya", "aya-dataset", "cohereforai/aya-dataset", "coherelabs/aya-dataset", "flores", "flores200",
               "facebook/flores", "openlanguagedata/flores-plus"),
        source="dataset cards (multilingual instructions / parallel text)"),
    # -- math ---------------------------------------------------------------------------------
    CalibrationSet(
        "math", "math sets", MATH,
        names=("gsm8k", "openai/gsm8k", "competition-math", "hendrycks/competition-math", "metamathqa",
               "meta-math/metamathqa", "open-web-math", "open-web-math/open-web-math", "numinamath-cot",
               "ai-mo/numinamath-cot"),
        source="dataset cards (math problems and solutions)"),
)

# What a quant tool calibrates on when its output records nothing (formats.md).
# format -> (set key or None, what to say, confidence)
@dataclass(frozen=True)
class FormatDefault:
    dataset: str | None  # what to record as the probable dataset
    set_key: str | None  # a CALIBRATION_SETS key, when one set is likely
    tool: str
    why: str
    confidence: str  # high | medium | low
    basis: str = ""  # how the message names it: "AutoAWQ's default"
    kind: str = "default-assumed"  # or "built-in" when the tool has no other choice


FORMAT_DEFAULTS: dict[str, FormatDefault] = {
    "awq": FormatDefault(
        "pileval", "pileval", "AutoAWQ",
        "AutoAWQ's quantize() defaults to calib_data='pileval' (mit-han-lab/pile-val-backup) and saves no record "
        "(formats.md §3.1); uploaders often passed other data (TheBloke used wikitext)", "medium",
        basis="AutoAWQ's default"),
    "gptq": FormatDefault(
        "c4 or wikitext", None, "AutoGPTQ / GPTQModel / GPTQ-for-LLaMa",
        "AutoGPTQ, GPTQModel and GPTQ-for-LLaMa save no record and have no built-in default; c4 and wikitext "
        "were the usual choices (formats.md §4.1, §4.4)", "low",
        basis="the usual choice; AutoGPTQ, GPTQModel and GPTQ-for-LLaMa have no default"),
    "auto-round": FormatDefault(
        "NeelNanda/pile-10k", "pile-10k", "auto-round",
        "auto-round strips its default dataset NeelNanda/pile-10k from the config (v0.6-v0.9) and records none "
        "since v0.10 (formats.md §5.3)", "medium",
        basis="auto-round's default"),
    "exl2": FormatDefault(
        "(default)", "exllamav2-default", "ExLlamaV2",
        "EXL2 quants made without -cf (or before v0.0.16) carry no quantization_config; quants since late 2023 "
        "nearly all use the built-in mix (formats.md §1.1, hf-hub.md §8)", "medium",
        basis="ExLlamaV2's built-in mix"),
    "exl3": FormatDefault(
        "(built-in)", "exllamav3-default", "ExLlamaV3",
        "ExLlamaV3's converter has no custom-dataset option: always its built-in mix (formats.md §2.1)", "high",
        basis="ExLlamaV3's only choice", kind="built-in"),
    "gguf": FormatDefault(
        None, None, "llama.cpp imatrix",
        "llama-quantize records the imatrix file, but the dataset only when the imatrix has one (gguf-facts.md §5.4)",
        "low"),
}

# Formats whose quality depends on calibration data (a GGUF only when an imatrix was used).
CALIBRATED_FORMATS = frozenset({"awq", "gptq", "exl2", "exl3", "auto-round"})

_EXTENSIONS = re.compile(r"\.(txt|parquet|jsonl?|json|dat|gguf|imatrix|csv|arrow|raw)$")
_HF_DATASET_URL = re.compile(r"huggingface\.co/datasets/([^/?#\s)]+(?:/[^/?#\s)]+)?)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")


def normalise(text: str) -> str:
    """Lower case, `_` and spaces as `-`, no surrounding quotes or punctuation."""
    out = text.strip().strip("`'\"").lower()
    out = re.sub(r"[\s_]+", "-", out)
    return out.strip("-")


def _build_index() -> tuple[dict[str, CalibrationSet], list[tuple[str, CalibrationSet]], list[tuple[str, CalibrationSet]]]:
    names: dict[str, CalibrationSet] = {}
    prefixes: list[tuple[str, CalibrationSet]] = []
    urls: list[tuple[str, CalibrationSet]] = []
    for entry in CALIBRATION_SETS:
        for name in (entry.key, entry.label, *entry.names):
            names.setdefault(normalise(name), entry)
        prefixes.extend((normalise(p), entry) for p in entry.prefixes)
        urls.extend((u.lower(), entry) for u in entry.urls)
    prefixes.sort(key=lambda item: -len(item[0]))  # the longest prefix wins
    return names, prefixes, urls


_NAMES, _PREFIXES, _URLS = _build_index()
BY_KEY: dict[str, CalibrationSet] = {entry.key: entry for entry in CALIBRATION_SETS}


def candidates(text: str) -> list[str]:
    """The normalised forms a recorded value may match: whole, Hub id, name, basename, no extension."""
    raw = text.strip()
    forms: list[str] = []
    link = _MD_LINK.search(raw)
    if link:
        forms.extend(candidates(link.group(1)))
        raw = link.group(2)
    forms.append(raw)
    hub = _HF_DATASET_URL.search(raw)
    if hub:
        hub_id = hub.group(1)
        forms.append(hub_id)
        forms.append(hub_id.split("/")[-1])
        forms.append(hub_id.split("/")[0])  # ".../datasets/wikitext/viewer/..." -> "wikitext"
    base = re.split(r"[\\/]", raw.rstrip("/\\"))[-1] if not hub else ""
    if base:
        forms.append(base)
    if "/" in raw and not raw.startswith(("http", "/", ".")):
        forms.append(raw.split("/")[-1])  # org/name -> name
    out: list[str] = []
    for form in forms:
        for variant in (form, _EXTENSIONS.sub("", form.lower())):
            norm = normalise(variant)
            if norm and norm not in out:
                out.append(norm)
    return out


def lookup(text: object) -> CalibrationSet | None:
    """The known calibration set a recorded value names, or None."""
    if not isinstance(text, str) or not text.strip() or len(text) > 2048:
        return None
    lowered = text.lower()
    for fragment, entry in _URLS:
        if fragment in lowered:
            return entry
    forms = candidates(text)
    for form in forms:
        if form in _NAMES:
            return _NAMES[form]
    for form in forms:
        for prefix, entry in _PREFIXES:
            if form.startswith(prefix):
                return entry
    return None


def find_in_text(text: str) -> CalibrationSet | None:
    """A known set named anywhere in a sentence (card notes): URLs first, then file names, then words."""
    entry = lookup(text) if len(text) < 200 else None
    if entry is not None:
        return entry
    lowered = text.lower()
    for fragment, entry in _URLS:
        if fragment in lowered:
            return entry
    for url in re.findall(r"https?://\S+", text):
        entry = lookup(url.rstrip(").,"))
        if entry is not None:
            return entry
    for word in re.findall(r"[A-Za-z0-9][\w.\-/]*[\w]", text):
        if len(word) >= 2 and not word.isdigit():
            entry = lookup(word)
            if entry is not None and normalise(word) not in _AMBIGUOUS_WORDS:
                return entry
    return None


# Words that name a set only when they stand alone as a recorded value, not inside prose.
_AMBIGUOUS_WORDS = frozenset({"pile", "alpaca", "math", "aya", "oscar", "flores", "ptb", "github-code",
                              "random-data", "the-pile", "ultrachat"})
