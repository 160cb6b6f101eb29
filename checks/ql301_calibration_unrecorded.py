"""A calibration-based quant with no record of what it was calibrated on.

## What it does
Reports (as info) an AWQ, GPTQ, EXL2, EXL3 or auto-round quant, or a GGUF made with an
importance matrix, when neither the files nor the model card say which data the quantizer
saw. The message names the tool's default, the set that was *probably* used, and how sure that
is: AutoAWQ defaults to pileval (mit-han-lab/pile-val-backup), medium confidence because
uploaders often passed their own data; auto-round to NeelNanda/pile-10k (medium); ExLlamaV2 to
its built-in mix (medium); AutoGPTQ, GPTQModel and GPTQ-for-LLaMa have no default, and c4 or
wikitext were the usual choices (low). ExLlamaV3 has no custom-dataset option, so an EXL3 is
never reported. A GGUF K-quant made without an imatrix is calibration-free: no finding.

Where each format records its calibration (../shared/reference/formats.md §0.1): GGUF
quantize.imatrix.dataset/.file; EXL2 quantization_config.calibration; transformers/optimum
GPTQ quantization_config.dataset; auto-round `dataset` (the default is stripped); AutoAWQ,
AutoGPTQ and GPTQModel record nothing at all, so the model card is the only place.

## Why is this bad?
The seed: AWQ and GPTQ quants calibrated on English text underperform on code, multilingual and
specialised work. Without a record you cannot tell whether this quant fits your use. The
evidence (../shared/reference/quality-evidence.md §4) is real but modest and model-dependent:
up to 3.52 perplexity points from multilingual against English-only GPTQ/AWQ calibration
(Chimoto et al. 2026), "substantial variations" in downstream tasks (Williams & Aletras 2024),
while another benchmark finds matched-domain calibration "not necessarily optimal" (Liu et al.
2024). That is why this rule is info, not a warning.

## Example
`TheBloke/...-AWQ` with `"quantization_config": {"quant_method": "awq", "bits": 4, ...}` and a
card without an "AWQ Dataset" table: probably pileval (AutoAWQ's default), medium confidence.

## How to fix
Find the dataset in the model card or ask the uploader. If you publish quants, state it: a
"GPTQ Dataset" column, the EXL2 -c file, or an imatrix made with llama.cpp (which writes
quantize.imatrix.dataset). For code, multilingual or math work prefer a quant whose calibration
is recorded and relevant, or GGUF Q4_K_M, which needs no calibration.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import CalibrationFacts, Model
from quantlint.settings import CheckContext

CODE = "QL301"
NAME = "calibration-unrecorded"
SEVERITY = "info"

FIX = ("Check the model card or ask the uploader which data was used; for code, multilingual or math work prefer "
       "a quant whose calibration is recorded and relevant, or GGUF Q4_K_M, which needs no calibration.")


def _domain_note(model: Model, set_key: str | None) -> str:
    from quantlint.facts.datasets import BY_KEY, DOMAIN_LABELS, GENERAL_ENGLISH

    domain = (model.domain or {}).get("domain")
    entry = BY_KEY.get(set_key or "")
    if domain in ("code", "multilingual", "math") and (entry is None or entry.domain == GENERAL_ENGLISH):
        return f"; if so, that is {DOMAIN_LABELS[GENERAL_ENGLISH]} for a {domain} model"
    return ""


def _assumed(model: Model, cal: CalibrationFacts | None) -> Iterator[Finding]:
    from quantlint.facts.datasets import FORMAT_DEFAULTS

    fmt = model.format
    default = FORMAT_DEFAULTS.get(fmt)
    if cal is not None and cal.kind == "default-assumed":
        dataset, confidence = cal.dataset, cal.confidence
        tool, why = cal.details.get("tool", fmt), cal.details.get("why", "")
        basis = cal.details.get("basis") or f"{tool}'s default"
        set_key = cal.details.get("known_set")
    elif default is not None:
        dataset, confidence, tool, why = default.dataset, default.confidence, default.tool, default.why
        basis, set_key = default.basis or f"{tool}'s default", default.set_key
    else:
        return
    label = model.quant or fmt.upper()
    message = f"{label}: no record of the calibration data; probably {dataset} ({basis}), {confidence} confidence"
    message += _domain_note(model, set_key)
    yield Finding(message=message, hint=FIX + (f" ({why}.)" if why else ""), location=model.quant_source,
                  data={"probable_dataset": dataset, "confidence": confidence, "tool": tool})


def _imatrix(model: Model, cal: CalibrationFacts | None) -> Iterator[Finding]:
    if cal is not None and cal.dataset:
        return
    details = cal.details if cal is not None else dict(model.imatrix or {})
    file_name = details.get("file")
    where = f" (imatrix file {file_name})" if file_name else ""
    chunks = details.get("chunks_count")
    extra = f", {chunks} chunks" if isinstance(chunks, int) else ""
    yield Finding(
        message=f"{model.quant or 'GGUF'}: made with an importance matrix{where}{extra}, but the file does not record its dataset",
        hint=FIX, location="quantize.imatrix.file" if file_name else "quantize.imatrix.*",
        data={"imatrix_file": file_name, "confidence": "low"})


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    cal = model.calibration
    if model.format == "gguf":
        if model.imatrix:
            yield from _imatrix(model, cal)
        return
    from quantlint.facts.datasets import CALIBRATED_FORMATS  # here, not at import: GGUF lints stay fast

    if model.format not in CALIBRATED_FORMATS:
        return
    if cal is not None and cal.kind in ("recorded", "built-in") and cal.dataset:
        return
    if model.format == "exl3":  # no custom-dataset option: always the built-in mix
        return
    yield from _assumed(model, cal)
