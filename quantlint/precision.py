"""Is a low-bit file stored at its model's own released precision? (for QL101 and QL102)

The facts (which families, which types, the sources) are in quantlint.facts.native_precision;
this module only gathers, from the Model, the names and types those facts are matched against.
"""

from __future__ import annotations

from collections.abc import Iterable

from quantlint.facts.native_precision import NativeReason, native_format, qat_release
from quantlint.model import Model


def release_names(model: Model) -> list[tuple[str, str]]:
    """(where, text) for every name the file, its repo or its card gives the model, and its tags."""
    i = model.identity
    out = [(where, value) for where, value in (
        ("the file name", i.file_name), ("the repo name", i.repo), ("general.name", i.name),
        ("general.basename", i.basename), ("general.finetune", i.finetune)) if value]
    out.extend(("general.tags", t) for t in i.tags)
    card = model.card
    if card is not None:
        if card.model_name:
            out.append((f"model card model_name ({card.source})", card.model_name))
        out.extend((f"model card base_model ({card.source})", b) for b in card.base_model)
        out.extend((f"model card tags ({card.source})", t) for t in card.tags)
    return out


def native_precision(model: Model, types: Iterable[str], bit_class: int | None = None) -> NativeReason | None:
    """The reason `types` are this model's released precision (a ternary model in TQ1_0/TQ2_0,
    gpt-oss experts in MXFP4, a QAT release at its trained bit width), or None."""
    names = release_names(model)
    return native_format(model.architecture, names, types) or qat_release(names, bit_class)
