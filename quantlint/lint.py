"""The lint pipeline: target -> reader -> Model -> engine -> findings.

The CLI calls `lint_target` for each target; nothing here knows a rule by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from quantlint.engine import Registry, Selection, run_checks
from quantlint.findings import Finding
from quantlint.model import FileFacts, Model, ReadProblem
from quantlint.settings import LintSettings
from quantlint.targets import Target


@dataclass
class TargetResult:
    """One target's lint: the Model read (None when not read), its findings, or an error."""

    target: str
    model: Model | None
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  # a per-target failure that is not a finding (network, missing)


def read_target(target: Target, settings: LintSettings | None = None) -> Model:
    """The Model for one target, whatever its kind, with its model card. Never raises for bad content."""
    model = _read_model(target, settings)
    attach_card(model, target, settings)
    return model


def attach_card(model: Model, target: Target, settings: LintSettings | None) -> None:
    """After the reader, before the enrichers: the local README.md (or --card) for local targets;
    for remote ones the remote reader attaches the fetched card (readers.card.attach_card_from_text)
    and the base_model chain is followed one step on the Hub."""
    from quantlint.readers.card import attach_local_card, walk_base_chain

    if target.kind != "remote":
        attach_local_card(model, target.kind, target.path, settings)
        return
    if settings is not None and settings.card_path:
        attach_local_card(model, target.kind, target.path, settings)
    walk_base_chain(model, settings)


def _read_model(target: Target, settings: LintSettings | None = None) -> Model:
    if target.kind == "hf-dir":
        try:
            from quantlint.readers.hf_dir import read_local_directory
        except ImportError:  # pragma: no cover - only before the HF reader exists
            model = Model(format="unknown", target=target.display)
            model.problems.append(ReadProblem(kind="unsupported", message="Hugging Face folders are not supported yet"))
            return model
        return read_local_directory(target.path, target.display)
    if target.kind == "gguf-set":
        try:
            from quantlint.readers.gguf_split import read_gguf_set
        except ImportError:  # pragma: no cover
            from quantlint.readers import read_local_file

            return read_local_file(target.path, target.display)
        return read_gguf_set(target)
    if target.kind == "remote":
        from quantlint.remote.read import read_remote_target  # type: ignore[import-not-found]

        return read_remote_target(target, settings)
    from quantlint.readers import read_local_file

    return read_local_file(target.path, target.display)


def missing_model(target: Target) -> Model:
    model = Model(format="unknown", target=target.display)
    model.file = FileFacts(path=target.path)
    model.problems.append(ReadProblem(kind="unreadable", message=f"{target.path}: no such file or directory"))
    return model


def lint_model(model: Model, registry: Registry, selection: Selection, settings: LintSettings,
               severity_overrides: dict[str, str] | None = None) -> list[Finding]:
    return run_checks(model, registry, selection, settings, severity_overrides)
