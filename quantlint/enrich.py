"""Enrichers: pure functions that derive facts from facts already on the Model.

They run after a reader and before the checks: the model card's calibration tables, the
model's use domain, and so on. Like checks they do no I/O; unlike checks they add facts
(shown by `inspect` and in the JSON) instead of findings. Each entry is "module:function";
the function takes (model, settings) and changes the model in place.
"""

from __future__ import annotations

import importlib

from quantlint.model import Model
from quantlint.settings import LintSettings

ENRICHERS: list[str] = [
    "quantlint.calibration:enrich_calibration",  # after the card is attached (it reads card tables)
    "quantlint.domain:enrich_domain",
    "quantlint.provenance:enrich_provenance",  # after the card is attached (reads card base_model)
]


def enrich(model: Model, settings: LintSettings) -> Model:
    for entry in ENRICHERS:
        module, func = entry.split(":")
        getattr(importlib.import_module(module), func)(model, settings)
    return model
