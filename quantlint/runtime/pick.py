"""The best quant of a model for a memory budget: `quantlint pick DIR --memory 24GiB [--ctx N]`.

"Best" is the highest llama.cpp tier (quantlint/facts/tiers.py order) whose estimate fits the
budget and that passes the quality rules: at or above the floor (QL101; Q4_K_M unless
`--floor`/`--profile` say otherwise) and, for a Mixture-of-Experts model, experts at 5 bpw or
more (QL102). When nothing that passes the rules fits, the highest tier that fits is named
with a warning (and a non-zero exit); a sub-floor tier is never chosen while a floor tier
fits. Each candidate gets a line saying why it was or was not chosen.

Ranking is pure (`rank`); reading the candidates (`read_models`) is the only I/O, through the
same targets and readers as `quantlint check`, so remote repos work once quantlint.remote
expands them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

from quantlint.facts.tiers import TIER_RANK, is_below, normalise_label, tier
from quantlint.model import Model
from quantlint.runtime.memory import MemoryEstimate, estimate_memory, fmt_bytes
from quantlint.settings import LintSettings, RuntimePlan

MOE_MIN_BPW = 5.0  # QL102: Mixture-of-Experts experts below Q5 (5 bpw)


@dataclass
class Candidate:
    target: str
    quant: str | None
    estimate: MemoryEstimate | None
    fits: bool = False
    rule_problem: str | None = None  # why it fails the quality rules, or None
    chosen: bool = False
    why: str = ""

    @property
    def rank(self) -> int:
        t = tier(self.quant)
        return TIER_RANK[t.label] if t else len(TIER_RANK) + 1

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "quant": self.quant, "fits": self.fits, "chosen": self.chosen,
                "passes_quality_rules": self.rule_problem is None, "why": self.why,
                "estimate": None if self.estimate is None else self.estimate.to_dict()}


@dataclass
class PickResult:
    budget: int
    floor: str
    candidates: list[Candidate] = field(default_factory=list)
    chosen: Candidate | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chosen is not None and self.chosen.rule_problem is None

    def to_dict(self) -> dict[str, Any]:
        return {"budget_bytes": self.budget, "floor": self.floor, "ok": self.ok,
                "chosen": None if self.chosen is None else self.chosen.target,
                "candidates": [c.to_dict() for c in self.candidates], "notes": self.notes}


def _rule_problem(model: Model, floor: str) -> str | None:
    label = model.quant
    t = tier(label)
    if t is None:
        return f"quant {label or '?'} is not a llama.cpp tier quantlint can rank"
    if is_below(t.label, floor):
        return f"below the floor {floor} (QL101)"
    if model.moe is not None:
        bpw = model.moe.expert_bits_per_weight or t.nominal_bpw
        if bpw is not None and bpw < MOE_MIN_BPW:
            return f"Mixture-of-Experts with experts at {bpw:.2f} bpw, below Q5 (QL102)"
    return None


def rank(models: list[Model], plan: RuntimePlan, floor: str = "Q4_K_M") -> PickResult:
    """Choose among readable models; pure: no I/O."""
    budget = sum(plan.memory_bytes)
    result = PickResult(budget=budget, floor=normalise_label(floor))
    for model in models:
        est = estimate_memory(model, plan) if model.readable else None
        cand = Candidate(target=model.target, quant=model.quant, estimate=est)
        cand.fits = est is not None and est.fit_bytes <= budget
        cand.rule_problem = _rule_problem(model, result.floor) if model.readable else "not readable"
        result.candidates.append(cand)
    result.candidates.sort(key=lambda c: (c.rank, c.target))
    fitting = [c for c in result.candidates if c.fits and c.rank <= len(TIER_RANK)]
    passing = [c for c in fitting if c.rule_problem is None]
    result.chosen = (passing or fitting or [None])[0]
    if result.chosen is not None:
        result.chosen.chosen = True
    for c in result.candidates:
        c.why = _why(c, result)
    if result.chosen is None:
        result.notes.append("nothing fits this budget: lower the context (--ctx), use a q8_0 KV cache "
                            "(-ctk q8_0 -ctv q8_0), or take a smaller model")
    elif result.chosen.rule_problem is not None:
        result.notes.append(f"nothing that passes the quality rules fits: {result.chosen.quant} is the best that does, "
                            f"but a smaller model at {result.floor} is usually the better trade")
    return result


def _why(c: Candidate, result: PickResult) -> str:
    chosen = result.chosen
    if c.estimate is None:
        return "no estimate: " + (c.rule_problem or "the model's size is unknown")
    if not c.fits:
        return f"does not fit: {fmt_bytes(c.estimate.fit_bytes - result.budget)} over the budget"
    if c.chosen:
        if c.rule_problem is None:
            return "chosen: the highest tier that fits and passes the quality rules"
        return f"chosen with a warning: {c.rule_problem}, and nothing better fits"
    if c.rule_problem is not None:
        return f"fits, but {c.rule_problem}"
    return f"fits, but {chosen.quant if chosen else '?'} is a higher tier that also fits"


def read_models(paths: list[str], settings: LintSettings | None = None,
                errors: list[str] | None = None) -> list[Model]:
    """Every model under the given paths: a folder of GGUFs (split sets grouped), or a Hub repo
    (org/repo, hf://...) through quantlint.remote. Headers only. Targets that cannot be read
    (missing, network) go to `errors` instead."""
    from quantlint.lint import read_target
    from quantlint.remote import TargetFailed
    from quantlint.targets import expand

    offline = True if settings is not None and settings.offline else None
    models: list[Model] = []
    for target in expand(paths, offline=offline):
        if target.kind == "missing":
            if errors is not None:
                errors.append(f"{target.display}: no such file, folder or repo")
            continue
        try:
            models.append(read_target(target, settings))
        except TargetFailed as exc:
            if errors is not None:
                errors.append(str(exc))
    return models


def write_table(result: PickResult, stream: TextIO) -> None:
    first = next((c.estimate for c in result.candidates if c.estimate is not None), None)
    head = f"Budget {fmt_bytes(result.budget)}, floor {result.floor}"
    if first is not None:
        head += f", {first.context_source}, KV {first.cache_type_k}/{first.cache_type_v}, {first.settings}"
    stream.write(head + "\n\n")
    name_width = max([len(c.target) for c in result.candidates] + [4])
    stream.write(f"  {'quant':<10} {'file':<{name_width}}  {'estimate':>10}  {'fits':<4}  why\n")
    for c in result.candidates:
        mark = "→" if c.chosen else " "
        size = fmt_bytes(c.estimate.fit_bytes) if c.estimate else "?"
        stream.write(f"{mark} {(c.quant or '?'):<10} {c.target:<{name_width}}  {size:>10}  "
                     f"{'yes' if c.fits else 'no':<4}  {c.why}\n")
    stream.write("\n")
    if result.chosen is not None:
        stream.write(f"Pick: {result.chosen.target} ({result.chosen.quant})\n")
    for note in result.notes:
        stream.write(f"Note: {note}\n")
    if first is not None:
        stream.write("The estimate is llama.cpp's buffers: " + ", ".join(c.name for c in first.components)
                     + " (`quantlint inspect FILE` shows each with its source); it leaves out "
                     + "; ".join(first.leaves_out[:3]) + ".\n")
