"""Nothing records what the model was made from.

## What it does
Reports (as info) a model for which no source records its origin: no model card `base_model`
(no README.md next to the file, or one without it), no GGUF `general.base_model.*` or
`general.source.*` keys, no config.json `_name_or_path` naming a Hugging Face repo.

## Why is this bad?
Without a recorded base, nobody can check that a quant is of the model it claims to be (QL401
has nothing to compare with) or look up the original's chat format, license and evaluations.
The Hub's own guidance asks quant repos to declare `base_model` and `base_model_relation:
quantized` (hub-docs model-cards.md and model-release-checklist.md, quoted in
../shared/reference/hf-hub.md §8). Missing provenance is not itself a quality problem, hence
info.

## Example
`model-Q4_K_M.gguf` copied out of its repo, without the README.md, from a converter that wrote
no `general.base_model.*` keys.

## How to fix
Keep the repo's README.md next to the file (the Hugging Face snapshot layout does), point to it
with `--card README.md`, or say what you expect with `--expect ORG/NAME`. Publishers: add
`base_model:` and `base_model_relation: quantized` to the card.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext

CODE = "QL403"
NAME = "provenance-unknown"
SEVERITY = "info"


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    prov = model.provenance
    if prov is None or prov.get("recorded_bases"):
        return
    looked = ["model card base_model" + (" (no card found)" if model.card is None else "")]
    if model.format == "gguf":
        looked.append("general.base_model.* / general.source.* keys")
    else:
        looked.append("config.json _name_or_path")
    yield Finding(
        message=f"nothing records what this model was made from: looked at {', '.join(looked)}",
        hint="Keep the repo's README.md next to the model or pass --card PATH; --expect ORG/NAME states what you expect it to be.",
        location=None,
    )
