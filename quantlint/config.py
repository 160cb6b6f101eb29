"""Resolve what the user asked for (CLI values, later config files) into one Resolved record.

Precedence (ruff's): dedicated CLI flags > config file > defaults. Every fault here is a
ConfigError: the CLI prints it and exits 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from quantlint.engine import Registry, Selection, unknown_selectors
from quantlint.facts.runtimes import RUNTIMES
from quantlint.settings import PROFILES, LintSettings, RuntimePlan

# llama.cpp common/arg.cpp kv_cache_types (identical @c392e50 and @0c1e57098)
KV_CACHE_TYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")
OUTPUT_FORMATS = ("full", "concise", "json", "json-lines", "sarif", "github")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*$", re.IGNORECASE)


class ConfigError(ValueError):
    pass


@dataclass
class CliValues:
    paths: list[str]
    output_format: str | None = None
    output_file: str | None = None
    fail_on: str | None = None
    exit_zero: bool = False
    floor: str | None = None
    profile: str | None = None
    select: list[str] | None = None
    extend_select: list[str] | None = None
    ignore: list[str] | None = None
    statistics: bool = False
    color: str = "auto"
    config: str | None = None
    isolated: bool = False
    baseline: str | None = None
    write_baseline: str | None = None
    ctx_size: int | None = None
    cache_type_k: str | None = None
    cache_type_v: str | None = None
    memory: str | None = None
    runtime: str | None = None
    expect: str | None = None
    card: str | None = None
    offline: bool = False
    lfs_remote: str | None = None


@dataclass
class Resolved:
    paths: list[str]
    settings: LintSettings
    selection: Selection
    severity_overrides: dict[str, str] = field(default_factory=dict)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    output_format: str = "full"
    output_file: str | None = None
    fail_on: str = "error"
    exit_zero: bool = False
    statistics: bool = False
    color: str = "auto"
    baseline: str | None = None
    write_baseline: str | None = None
    lfs_remote: str | None = None
    config_path: str | None = None

    def describe(self) -> str:
        """--show-settings: every effective setting, one per line."""
        s = self.settings
        lines = [
            f"config file = {self.config_path or '(none)'}",
            f"select = {self.selection.select}",
            f"extend-select = {self.selection.extend_select}",
            f"ignore = {self.selection.ignore}",
            f"per-file-ignores = {self.per_file_ignores}",
            f"severity = {self.severity_overrides}",
            f"fail-on = {self.fail_on}",
            f"profile = {s.profile}",
            f"floor = {s.floor}",
            f"output-format = {self.output_format}",
            f"runtime = {s.plan.runtime}",
            f"ctx-size = {s.plan.ctx_size}",
            f"cache-type-k = {s.plan.cache_type_k}",
            f"cache-type-v = {s.plan.cache_type_v}",
            f"memory = {s.plan.memory_bytes}",
            f"expect = {s.expect}",
            f"rule options = {s.rule_options}",
        ]
        return "\n".join(lines) + "\n"


def parse_size(text: str) -> int:
    """'24GiB' -> bytes. Decimal (GB) and binary (GiB) units; a bare number is bytes."""
    m = _SIZE.match(text)
    if not m:
        raise ConfigError(f"cannot read memory size {text!r}: write it like 24GiB, 16GB or 8192MiB")
    number, unit, binary = float(m.group(1)), m.group(2).upper(), bool(m.group(3))
    power = "KMGT".index(unit) + 1 if unit else 0
    return int(number * ((1024 if binary else 1000) ** power))


def parse_memory(text: str) -> list[int]:
    return [parse_size(part) for part in text.split(",") if part.strip()]


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def check_cache_type(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    if value not in KV_CACHE_TYPES:
        raise ConfigError(f"{flag} {value!r} is not a cache type llama.cpp accepts ({', '.join(KV_CACHE_TYPES)})")
    return value


def resolve(values: CliValues, registry: Registry, file_config: dict[str, Any] | None = None) -> Resolved:
    from quantlint.facts.tiers import normalise_label, tier

    cfg = file_config or {}
    selection = Selection(
        select=_split(values.select) or list(cfg.get("select", [])) or ["ALL"],
        extend_select=_split(values.extend_select) + list(cfg.get("extend-select", [])),
        ignore=_split(values.ignore) + list(cfg.get("ignore", [])),
    )
    bad = unknown_selectors(selection.select + selection.extend_select + selection.ignore, registry)
    if bad:
        raise ConfigError(f"unknown rule selector(s): {', '.join(bad)} (see `quantlint rules`)")

    settings = LintSettings()
    profile = values.profile or cfg.get("profile")
    if profile:
        if profile not in PROFILES:
            raise ConfigError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
        settings.profile, settings.floor = profile, PROFILES[profile]
    floor = values.floor or cfg.get("floor")
    if floor:
        if tier(floor) is None:
            raise ConfigError(f"unknown floor {floor!r}: give a llama.cpp quant label such as Q4_K_M or Q5_K_M")
        settings.floor = normalise_label(floor)

    runtime = values.runtime or cfg.get("runtime")
    if runtime and runtime not in RUNTIMES:
        raise ConfigError(f"unknown runtime {runtime!r}; choose from {', '.join(RUNTIMES)}")
    settings.plan = RuntimePlan(
        runtime=runtime,
        ctx_size=values.ctx_size,
        cache_type_k=check_cache_type(values.cache_type_k, "--cache-type-k"),
        cache_type_v=check_cache_type(values.cache_type_v, "--cache-type-v"),
        memory_bytes=parse_memory(values.memory) if values.memory else [],
        source="command-line options",
    )
    settings.expect = values.expect
    settings.card_path = values.card
    settings.offline = values.offline

    output_format = values.output_format or cfg.get("output-format") or "full"
    if output_format not in OUTPUT_FORMATS:
        raise ConfigError(f"unknown output format {output_format!r}; choose from {', '.join(OUTPUT_FORMATS)}")
    fail_on = values.fail_on or cfg.get("fail-on") or "error"
    if fail_on not in ("error", "warning", "info"):
        raise ConfigError(f"fail-on must be error, warning or info, not {fail_on!r}")
    return Resolved(
        paths=values.paths, settings=settings, selection=selection, output_format=output_format,
        output_file=values.output_file, fail_on=fail_on, exit_zero=values.exit_zero,
        statistics=values.statistics, color=values.color, baseline=values.baseline,
        write_baseline=values.write_baseline, lfs_remote=values.lfs_remote,
    )
