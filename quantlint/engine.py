"""The check engine: one registry for built-in and third-party checks, and the run loop.

A check is a module (yamllint's shape) that declares:

    CODE = "QL101"                 # stable: prefix of 1-3 capitals + 3 digits, never reused
    NAME = "tier-below-floor"      # kebab-case
    SEVERITY = "warning"           # default: info | warning | error
    OPTIONS = {"floor": "Q4_K_M"}  # optional per-rule options and their defaults
    ALWAYS_RUN = False             # optional: True for checks that read broken files (QL9xx)
    def check(model, ctx): yield Finding(...)

and documents itself in its module docstring with the sections What it does / Why is this
bad? / Example / How to fix (ruff's shape). Built-in checks live in quantlint.checks (the
top-level checks/ folder); others join through the entry-point group "quantlint.checks",
whose value is a module or a package of modules (flake8's shape). The engine, not the check,
stamps code, name and severity on each finding.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType
from typing import Any

from quantlint.findings import SEVERITIES, SEVERITY_RANK, Finding
from quantlint.model import Model
from quantlint.settings import CheckContext, LintSettings

ENTRY_POINT_GROUP = "quantlint.checks"
CODE_PATTERN = re.compile(r"^[A-Z]{1,3}[0-9]{3}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
DOC_SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## How to fix")
BUILTIN_PACKAGE = "quantlint"


@dataclass(frozen=True)
class Rule:
    """A registered check: its code, name, default severity, docs and check function."""

    code: str
    name: str
    severity: str
    doc: str
    check: Callable[[Model, CheckContext], Iterable[Finding]]
    package: str = BUILTIN_PACKAGE
    module: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    always_run: bool = False

    @property
    def summary(self) -> str:
        for line in self.doc.strip().splitlines():
            if line.strip():
                return line.strip().rstrip(".")
        return self.name


@dataclass(frozen=True)
class PluginFailure:
    """A third-party check that could not be loaded, and why."""

    display_name: str  # package[entry]
    error: str


@dataclass
class Registry:
    """Every rule by code, built-in and third-party, and the plugins that failed to load."""

    rules: dict[str, Rule] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)

    def by_code_or_name(self, key: str) -> Rule | None:
        key_upper = key.upper()
        if key_upper in self.rules:
            return self.rules[key_upper]
        for rule in self.rules.values():
            if rule.name == key.lower():
                return rule
        return None

    def sorted(self) -> list[Rule]:
        return [self.rules[c] for c in sorted(self.rules)]


class RuleDeclarationError(ValueError):
    pass


def rule_from_module(module: ModuleType, package: str = BUILTIN_PACKAGE) -> Rule:
    code = getattr(module, "CODE", None)
    name = getattr(module, "NAME", None)
    severity = getattr(module, "SEVERITY", "warning")
    check = getattr(module, "check", None)
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        raise RuleDeclarationError(f"{module.__name__}: CODE {code!r} must be 1-3 capitals and 3 digits, like QL101")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise RuleDeclarationError(f"{module.__name__}: NAME {name!r} must be kebab-case")
    if severity not in SEVERITIES:
        raise RuleDeclarationError(f"{module.__name__}: SEVERITY {severity!r} must be one of {', '.join(SEVERITIES)}")
    if not callable(check):
        raise RuleDeclarationError(f"{module.__name__}: no check(model, ctx) function")
    return Rule(
        code=code, name=name, severity=severity, doc=(module.__doc__ or "").strip(), check=check,
        package=package, module=module.__name__, options=dict(getattr(module, "OPTIONS", {}) or {}),
        always_run=bool(getattr(module, "ALWAYS_RUN", False)),
    )


def _modules_of(obj: ModuleType) -> Iterator[ModuleType]:
    """A module that declares a rule, or every rule module inside a package."""
    if hasattr(obj, "CODE"):
        yield obj
        return
    path = getattr(obj, "__path__", None)
    if path is None:
        return
    for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        yield importlib.import_module(f"{obj.__name__}.{info.name}")


def _add(registry: Registry, rule: Rule, display: str) -> None:
    existing = registry.rules.get(rule.code)
    if existing is not None:
        registry.failures.append(PluginFailure(display, f"rule code {rule.code} is already registered by {existing.package} ({existing.module})"))
        return
    registry.rules[rule.code] = rule


@lru_cache(maxsize=1)
def load_registry() -> Registry:
    registry = Registry()
    builtin = importlib.import_module("quantlint.checks")
    for module in _modules_of(builtin):
        _add(registry, rule_from_module(module), f"{BUILTIN_PACKAGE}[{module.__name__}]")
    _load_plugins(registry)
    return registry


def _any_plugin_installed() -> bool:
    """True when some installed distribution declares the quantlint.checks group.

    `import importlib.metadata` and a full entry_points() scan cost about 15 ms, a tenth of a
    whole lint. Most installs have no plugin, so look for the group's header in each
    *.dist-info/entry_points.txt first (a few stat() and small reads), and only then ask
    importlib.metadata, which stays the one source of truth for loading.
    """
    import os
    import sys

    header = f"[{ENTRY_POINT_GROUP}]"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(entry or ".", name, "entry_points.txt"), encoding="utf-8") as f:
                    if header in f.read():
                        return True
            except OSError:
                continue
    return False


def _load_plugins(registry: Registry) -> None:
    if not _any_plugin_installed():
        return
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        package = ep.dist.name if ep.dist is not None else "?"
        display = f"{package}[{ep.name}]"
        if package.lower() == BUILTIN_PACKAGE and ep.value.startswith("quantlint.checks"):
            continue  # the built-ins, already loaded above
        try:
            obj = ep.load()
            modules = list(_modules_of(obj))
            if not modules:
                raise RuleDeclarationError(f"{ep.value} declares no CODE and holds no rule modules")
            for module in modules:
                _add(registry, rule_from_module(module, package=package), display)
        except Exception as exc:  # a broken plugin must never take the linter down
            registry.failures.append(PluginFailure(display, f"{type(exc).__name__}: {exc}"))


# -- selection ---------------------------------------------------------------------------------
@dataclass
class Selection:
    """ruff's selection: the highest-priority select, then extend-select, then ignore. Selectors
    are codes, code prefixes ("QL9"), rule names, or ALL. The longest matching prefix wins."""

    select: list[str] = field(default_factory=lambda: ["ALL"])
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)

    def enabled(self, rule: Rule) -> bool:
        best_len, enabled = -1, False
        for selectors, value in ((self.select + self.extend_select, True), (self.ignore, False)):
            for sel in selectors:
                length = _match_length(sel, rule)
                if length is not None and length >= best_len:
                    best_len, enabled = length, value
        return enabled


def _match_length(selector: str, rule: Rule) -> int | None:
    sel = selector.strip()
    if sel.upper() == "ALL":
        return 0
    if sel.lower() == rule.name:
        return 100
    if rule.code.startswith(sel.upper()):
        return len(sel)
    return None


def unknown_selectors(selectors: Iterable[str], registry: Registry) -> list[str]:
    """Selectors that match no rule at all: typos the user should hear about (exit 2)."""
    bad = []
    for sel in selectors:
        if sel.strip().upper() == "ALL":
            continue
        if not any(_match_length(sel, r) is not None for r in registry.rules.values()):
            bad.append(sel)
    return bad


# -- running -----------------------------------------------------------------------------------
class CheckCrash(RuntimeError):
    """A check raised: a bug in that check (or plugin), reported with exit code 2."""

    def __init__(self, rule: Rule, target: str, exc: BaseException) -> None:
        super().__init__(f"internal error in {rule.code} ({rule.name}, from {rule.package}) on {target}: {type(exc).__name__}: {exc}")
        self.rule = rule


def run_checks(
    model: Model,
    registry: Registry,
    selection: Selection,
    settings: LintSettings,
    severity_overrides: dict[str, str] | None = None,
) -> list[Finding]:
    overrides = severity_overrides or {}
    findings: list[Finding] = []
    readable = model.readable
    for rule in registry.sorted():
        if not selection.enabled(rule):
            continue
        if not readable and not rule.always_run:
            continue
        options = {**rule.options, **settings.rule_options.get(rule.code, {})}
        ctx = CheckContext(settings=settings, options=options)
        try:
            produced = list(rule.check(model, ctx))
        except Exception as exc:
            raise CheckCrash(rule, model.target, exc) from exc
        for finding in produced:
            severity = overrides.get(rule.code) or finding.severity or rule.severity
            if severity not in SEVERITY_RANK:
                severity = rule.severity
            findings.append(finding.stamped(rule.code, rule.name, severity))
    findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity or "info"], f.code or "", f.offset or 0))
    return findings
