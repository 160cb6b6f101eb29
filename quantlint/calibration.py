"""Enricher: what each quant was calibrated on, where that was read, and how sure it is.

Runs after the readers (and after the model card is attached). It works in three steps:

1. Tidy what a reader recorded: a GGUF imatrix path becomes its basename (the full build path
   stays in details), INT32 or UINT32 counts become plain ints, a GPTQ `dataset` that is a whole
   list of texts becomes a count (never printed), EXL2 "(default)" becomes the built-in mix.
2. When nothing names the data, read the model card: TheBloke's "GPTQ Dataset" / "AWQ Dataset"
   tables, GPTQ-for-LLaMa command lines (`python llama.py MODEL c4 --wbits 4 ...`), and notes
   such as bartowski's "imatrix option with dataset from [here](gist...)". The card's
   `datasets:` front matter is training data and is never taken for calibration data.
3. When still nothing is known, record the tool's known default (AutoAWQ -> pileval, auto-round
   -> pile-10k, EXL2 -> built-in mix; GPTQ tools have none, c4/wikitext in practice) as
   kind="default-assumed" with a confidence; EXL3 is always its built-in mix. A GGUF without an
   imatrix is calibration-free, which is a note, not a fact to assume.

The matched set (facts/datasets.py) and its domain go into calibration.details.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from quantlint.model import CalibrationFacts, Model
from quantlint.settings import LintSettings

if TYPE_CHECKING:
    from quantlint.facts.datasets import CalibrationSet

# quantlint.facts.datasets is imported inside the functions that match names: a plain GGUF
# without imatrix or card never needs it, and `quantlint model.gguf` must stay fast.

MAX_DATASET_CHARS = 120  # longer "names" are calibration text pasted into the config
MAX_NOTE_CHARS = 1000  # card lines are read up to this length
COUNT_KEYS = ("entries_count", "chunks_count", "rows", "length", "cols", "nsamples", "seqlen", "samples")
CALIBRATION_FREE_NOTE = "calibration-free (no importance matrix)"
# GPTQ-for-LLaMa and its siblings: `python llama.py MODEL DATASET --wbits 4 ...`
GPTQ_COMMAND = re.compile(
    r"\b(?:llama|opt|bloom|falcon|mpt|gptj|neox|gpt_neox|mixtral|mistral)\.py\s+(\S+)\s+([A-Za-z0-9_.\-/]+)([^\n`]*)")
TABLE_DATASET_HEADER = re.compile(r"^(gptq|awq|exl2|quantisation|quantization|calibration)?\s*dataset$", re.I)


# -- step 1: tidy a recorded value ---------------------------------------------------------------
def _basename(value: str) -> str:
    return re.split(r"[\\/]", value.rstrip("/\\"))[-1] or value


def _as_count(value: Any) -> Any:
    """INT32 or UINT32 (or a digit string): a plain non-negative int; anything else unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return abs(value)
    if isinstance(value, float) and value.is_integer():
        return abs(int(value))
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def summarise_texts(texts: list[Any]) -> tuple[str, dict[str, Any]]:
    """A list of calibration texts as one line and a few figures: never the texts themselves."""
    strings = [t for t in texts if isinstance(t, str)]
    chars = sum(len(t) for t in strings)
    label = f"{len(texts):,} custom calibration text{'s' if len(texts) != 1 else ''}"
    return label, {"samples": len(texts), "total_chars": chars, "listed_in_config": True}


def _tidy_details(details: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in details.items():
        if isinstance(value, list) and len(value) > 16:
            out[f"{key}_count"] = len(value)  # never carry a whole list into the JSON
            continue
        if isinstance(value, str) and len(value) > 4 * MAX_DATASET_CHARS:
            out[f"{key}_chars"] = len(value)
            continue
        out[key] = _as_count(value) if key in COUNT_KEYS else value
    file_value = out.get("file")
    if isinstance(file_value, str) and ("/" in file_value or "\\" in file_value):
        out["file_path"] = file_value
        out["file"] = _basename(file_value)
    return out


def _tidy(cal: CalibrationFacts) -> None:
    cal.details = _tidy_details(dict(cal.details or {}))
    data = cal.dataset
    if isinstance(data, (list, tuple)):
        cal.dataset, figures = summarise_texts(list(data))
        cal.details.update(figures)
    elif isinstance(data, str) and len(data) > MAX_DATASET_CHARS:
        cal.dataset = f"a custom calibration text ({len(data):,} characters)"
        cal.details["total_chars"] = len(data)
    elif isinstance(data, str) and ("/" in data or "\\" in data) and (data.startswith(("/", "\\", ".", "~")) or re.match(r"^[A-Za-z]:\\", data)):
        cal.details["dataset_path"] = data
        cal.dataset = _basename(data)  # an absolute build path: the basename is the name
    elif data is not None and not isinstance(data, str):
        text = str(data)  # a number or a mapping where a name belongs
        cal.dataset = text if len(text) <= MAX_DATASET_CHARS else f"(a {type(data).__name__} of {len(text):,} characters)"
    if cal.dataset == "(default)" and cal.kind == "recorded":
        cal.kind = "built-in"  # EXL2 writes "(default)" for its built-in mix


def _annotate(cal: CalibrationFacts) -> None:
    from quantlint.facts.datasets import lookup

    entry = lookup(cal.dataset) if cal.dataset else None
    if entry is None and not cal.dataset and isinstance(cal.details.get("file"), str):
        entry = lookup(cal.details["file"])  # imatrix_unsloth.gguf names the set through the file
        if entry is not None:
            cal.details["matched_from"] = "file"
    for key in ("known_set", "set_label", "set_domain"):
        cal.details.pop(key, None)
    if entry is not None:
        cal.details.update(known_set=entry.key, set_label=entry.label, set_domain=entry.domain)
        if not cal.dataset:  # the file name is the only name the data has
            cal.dataset, cal.confidence = entry.label, "medium"


# -- step 2: the model card ------------------------------------------------------------------------
def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    tables: list[tuple[list[str], list[list[str]]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 1:
        if lines[i].lstrip().startswith("|") and re.match(r"^\s*\|?\s*:?-{2,}", lines[i + 1]):
            header = [c.lower() for c in _cells(lines[i])]
            rows = [_cells(lines[i])]  # the header as written, first
            j = i + 2
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                rows.append(_cells(lines[j]))
                j += 1
            tables.append((header, rows))  # rows[0] is the header in its own case
            i = j
        else:
            i += 1
    return tables


def _link_text(cell: str) -> str:
    match = re.match(r"^\[([^\]]+)\]", cell.strip())
    return match.group(1) if match else cell.strip()


def _number(cell: str) -> float | None:
    match = re.search(r"-?\d+(?:\.\d+)?", cell)
    return float(match.group(0)) if match else None


def _row_fits(model: Model, header: list[str], row: list[str]) -> bool:
    """Does a table row describe this quant (bits and group size)?"""
    def cell(name: str) -> str | None:
        return row[header.index(name)] if name in header and header.index(name) < len(row) else None

    bits = cell("bits")
    if bits is not None and model.declared_bits is not None and _number(bits) not in (None, model.declared_bits):
        return False
    gs = cell("gs") or cell("group size")
    if gs is not None and model.group_size is not None:
        value = -1.0 if gs.strip().lower() in ("none", "-1", "") else _number(gs)
        if value is not None and value != float(model.group_size):
            return False
    return True


def card_table_calibration(model: Model, text: str) -> CalibrationFacts | None:
    """TheBloke's branch table: | Branch | Bits | GS | Act Order | Damp % | GPTQ Dataset | ..."""
    for header, rows in _tables(text):
        column = next((i for i, h in enumerate(header) if TABLE_DATASET_HEADER.match(h)), None)
        written, rows = rows[0], rows[1:]
        if column is None or not rows:
            continue
        label = written[column]
        usable = [r for r in rows if column < len(r) and r[column].strip()]
        if not usable:
            continue
        fitting = [r for r in usable if _row_fits(model, header, r)] or usable
        values = {_link_text(r[column]) for r in fitting}
        branch = "branch" in header and header.index("branch")
        if len(values) == 1:
            row = fitting[0]
            confidence = "high" if len({_link_text(r[column]) for r in usable}) == 1 or len(fitting) == 1 else "medium"
        else:
            mains = [r for r in fitting if branch is not False and "main" in r[branch].lower()]
            row, confidence = (mains[0] if mains else fitting[0]), "low"
        where = f"model card: '{label}' table"
        if branch is not False and branch < len(row) and len(usable) > 1:
            where += f" (row {_link_text(row[branch])!s})"
        details = {"card_cell": row[column][:200]}
        return CalibrationFacts(dataset=_link_text(row[column]), source=where, kind="recorded",
                                confidence=confidence, details=details)
    return None


def card_command_calibration(model: Model, text: str) -> CalibrationFacts | None:
    """GPTQ-for-LLaMa era cards show the command: the positional after the model is the set."""
    commands = [(m.group(2), m.group(0)) for m in GPTQ_COMMAND.finditer(text) if "--wbits" in m.group(3)]
    if not commands:
        return None
    datasets = {d for d, _ in commands}
    chosen = commands[0]
    confidence = "high" if len(datasets) == 1 else "medium"
    if len(datasets) > 1 and model.declared_bits is not None:
        for dataset, line in commands:
            if re.search(rf"--wbits\s+{int(model.declared_bits)}\b", line):
                chosen = (dataset, line)
                break
    script = chosen[1].split(".py", 1)[0] + ".py"
    return CalibrationFacts(dataset=chosen[0], source=f"model card: {script} command line", kind="recorded",
                            confidence=confidence, details={"card_command": chosen[1][:200].strip()})


def card_note_calibration(model: Model, text: str) -> CalibrationFacts | None:
    """A sentence naming the calibration or imatrix data (bartowski, EXL2 cards)."""
    from quantlint.facts.datasets import find_in_text, lookup

    for line in text.splitlines():
        line = line[:MAX_NOTE_CHARS]  # a sentence, not a pasted blob
        lowered = line.lower()
        if "imatrix" in lowered and not any(w in lowered for w in ("dataset", "data", "calibration", " -f ")):
            continue
        if "imatrix" not in lowered and "calibration" not in lowered:
            continue
        if model.format == "exl2" and "default calibration" in lowered:
            entry: CalibrationSet | None = lookup("(default)")
        else:
            entry = find_in_text(line)
        if entry is None:
            continue
        what = "imatrix note" if "imatrix" in lowered else "calibration note"
        return CalibrationFacts(dataset=entry.names[0] if entry.key == "exllamav2-default" else entry.label,
                                source=f"model card: {what}", kind="recorded", confidence="medium",
                                details={"card_line": line.strip()[:200]})
    return None


def from_card(model: Model) -> CalibrationFacts | None:
    text = model.card.text if model.card is not None else None
    if not isinstance(text, str) or not text.strip():
        return None
    readers = []
    if model.format in ("gptq", "awq"):
        readers += [card_table_calibration, card_command_calibration]
    if model.format in ("gguf", "exl2", "exl3", "gptq", "awq", "auto-round"):
        readers.append(card_note_calibration)
    for reader in readers:
        found = reader(model, text)
        if found is not None:
            return found
    return None


# -- step 3: known defaults ------------------------------------------------------------------------
def _auto_round_provider(model: Model) -> bool:
    return any(k.endswith("provider") and str(v.value).lower() == "auto-round" for k, v in model.metadata.items())


def assumed_default(model: Model) -> CalibrationFacts | None:
    from quantlint.facts.datasets import FORMAT_DEFAULTS

    fmt = "auto-round" if model.format == "awq" and _auto_round_provider(model) else model.format
    default = FORMAT_DEFAULTS.get(fmt)
    if default is None or default.dataset is None:
        return None
    return CalibrationFacts(dataset=default.dataset, source=f"assumed: {default.basis or default.tool} (nothing recorded)",
                            kind=default.kind, confidence=default.confidence,
                            details={"tool": default.tool, "basis": default.basis, "why": default.why})


def _merge_card(model: Model, card: CalibrationFacts) -> None:
    cal = model.calibration
    if cal is None:
        model.calibration = card
        return
    # A GGUF that recorded its imatrix file but not the dataset: the card names the set.
    cal.details = {**cal.details, **card.details, "recorded_source": cal.source}
    cal.dataset, cal.source, cal.confidence = card.dataset, card.source, card.confidence


def enrich_calibration(model: Model, settings: LintSettings) -> None:
    if not model.readable:
        return
    if model.calibration is not None:
        _tidy(model.calibration)
    cal = model.calibration
    if cal is None or not cal.dataset:
        card = from_card(model)
        if card is not None:
            _tidy(card)
            _merge_card(model, card)
    cal = model.calibration
    if model.format != "gguf" and (cal is None or not cal.dataset):  # a GGUF's data is never assumed
        default = assumed_default(model)
        if default is not None:
            if cal is not None:  # keep what was recorded (EXL3 rows/cols) next to the assumption
                default.details = {**cal.details, **default.details}
                if cal.kind == "built-in":
                    default.kind = "built-in"
            model.calibration = default
    if model.calibration is not None:
        _annotate(model.calibration)
    elif model.format == "gguf" and model.imatrix is None and CALIBRATION_FREE_NOTE not in model.notes:
        model.notes.append(CALIBRATION_FREE_NOTE if not _is_iquant(model.quant)
                           else "no quantize.imatrix.* keys: made without an importance matrix, or by a tool that does not record it")
    if model.card is not None and model.card.datasets and (model.calibration is None or model.calibration.kind == "default-assumed"):
        note = f"the card's datasets: ({len(model.card.datasets)}) are training data, not calibration data"
        if note not in model.notes:
            model.notes.append(note)


def _is_iquant(label: str | None) -> bool:
    return bool(label) and str(label).upper().startswith(("IQ", "TQ"))


def describe(cal: CalibrationFacts) -> str:
    """One line for inspect: name, matched set and domain, kind, source, confidence."""
    text = cal.dataset or "(not named)"
    label, domain = cal.details.get("set_label"), cal.details.get("set_domain")
    if label and label.lower() != text.lower():
        text += f" = {label}"
    if domain:
        text += f" ({domain})"
    text += f"  [{cal.kind}, {cal.confidence} confidence, from {cal.source}]"
    counts = [f"{k.replace('_', ' ')} {cal.details[k]:,}" for k in ("chunks_count", "entries_count", "rows", "samples", "total_chars")
              if isinstance(cal.details.get(k), int) and not isinstance(cal.details.get(k), bool)]
    if counts:
        text += "; " + ", ".join(counts)
    return text
