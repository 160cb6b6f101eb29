"""Resolve what the user asked for (CLI values and the config file) into one Resolved record.

Precedence (ruff's): dedicated CLI flags > `--config KEY=VALUE` or the nearest config file >
defaults. Rule selection is layered as in ruff: a CLI `--select` starts the set afresh (the
file's select and ignore no longer apply); otherwise the file's select is the base and CLI
`--extend-select`/`--ignore` adjust it. Every fault here is a ConfigError: the CLI prints it
and exits 2. File discovery and reading live in quantlint.config_file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from quantlint.engine import Registry, Selection, unknown_selectors
from quantlint.facts.runtimes import RUNTIMES
from quantlint.findings import SEVERITIES
from quantlint.settings import PROFILES, LintSettings, RuntimePlan

# llama.cpp common/arg.cpp kv_cache_types (identical @c392e50 and @0c1e57098)
KV_CACHE_TYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")
OUTPUT_FORMATS = ("full", "concise", "json", "json-lines", "sarif", "github")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*$", re.IGNORECASE)


class ConfigError(ValueError):
    pass


@dataclass
class CliValues:
    """The check command's options as parsed, by typer or by the fast path (quantlint.fastcli)."""

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
    width: int | None = None
    sarif_root: str | None = None
    config: str | None = None
    isolated: bool = False
    baseline: str | None = None
    write_baseline: str | None = None
    ctx_size: int | None = None
    cache_type_k: str | None = None
    cache_type_v: str | None = None
    memory: str | None = None
    flash_attn: str | None = None  # on | off | auto (llama.cpp's -fa)
    batch: int | None = None  # -b
    ubatch: int | None = None  # -ub
    parallel: int | None = None  # -np
    gpu_layers: int | None = None  # -ngl
    no_mmap: bool = False
    runtime: str | None = None
    expect: str | None = None
    card: str | None = None
    offline: bool = False
    lfs_remote: str | None = None


@dataclass
class Resolved:
    """CLI values and the config file merged: everything a lint run needs."""

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
    width: int | None = None  # wrap text output here; None: the terminal's width, never in a pipe
    sarif_root: str | None = None  # SARIF URIs are relative to this folder (default: the working directory)
    baseline: str | None = None
    write_baseline: str | None = None
    lfs_remote: str | None = None
    config_path: str | None = None
    config_root: str | None = None  # where per-file-ignores globs are anchored
    enabled_rules: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """--show-settings: where the settings came from, then every effective setting."""
        s = self.settings
        lines = [
            f"Resolved settings for: {', '.join(self.paths) or '(no paths)'}",
            f"Settings path: {self.config_path or '(none: defaults)'}",
            f"select = {self.selection.select}",
            f"extend-select = {self.selection.extend_select}",
            f"ignore = {self.selection.ignore}",
            f"enabled rules = {self.enabled_rules}",
            f"per-file-ignores = {self.per_file_ignores}",
            f"severity = {self.severity_overrides}",
            f"fail-on = {self.fail_on}",
            f"profile = {s.profile}",
            f"floor = {s.floor}",
            f"output-format = {self.output_format}",
            f"width = {self.width}",
            f"sarif-root = {self.sarif_root}",
            f"runtime = {s.plan.runtime}",
            f"ctx-size = {s.plan.ctx_size}",
            f"cache-type-k = {s.plan.cache_type_k}",
            f"cache-type-v = {s.plan.cache_type_v}",
            f"memory = {s.plan.memory_bytes}",
            f"flash-attn = {'auto' if s.plan.flash_attention is None else ('on' if s.plan.flash_attention else 'off')}",
            f"batch-size = {s.plan.n_batch}, ubatch-size = {s.plan.n_ubatch}, parallel = {s.plan.n_parallel}",
            f"gpu-layers = {s.plan.gpu_layers}, no-mmap = {bool(s.plan.no_mmap)}",
            f"expect = {s.expect}",
            f"rule options = {s.rule_options}",
            f"baseline = {self.baseline}",
            f"lfs-remote = {self.lfs_remote}",
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


def _selection(values: CliValues, cfg: dict[str, Any]) -> Selection:
    """ruff's layering: a CLI --select replaces the file's whole selection."""
    cli_select, cli_extend, cli_ignore = _split(values.select), _split(values.extend_select), _split(values.ignore)
    if cli_select:
        return Selection(select=cli_select, extend_select=cli_extend, ignore=cli_ignore)
    cli_extend_upper = {x.upper() for x in cli_extend}
    # A CLI --extend-select of exactly what the file ignores re-enables it (the CLI comes later).
    file_ignore = [x for x in cfg.get("ignore", []) if x.upper() not in cli_extend_upper]
    return Selection(
        select=list(cfg.get("select", [])) or ["ALL"],
        extend_select=list(cfg.get("extend-select", [])) + cli_extend,
        ignore=file_ignore + cli_ignore,
    )


def _check_selectors(selectors: list[str], registry: Registry, where: str) -> None:
    bad = unknown_selectors(selectors, registry)
    if bad:
        raise ConfigError(f"unknown rule selector(s) {', '.join(repr(b) for b in bad)} in {where} (see `quantlint rules`)")


def _rule_code(key: str, registry: Registry, where: str) -> str:
    rule = registry.by_code_or_name(key)
    if rule is None:
        raise ConfigError(f"unknown rule {key!r} in {where} (see `quantlint rules`)")
    return rule.code


def _severity(level: Any, where: str) -> str:
    if level not in SEVERITIES:
        raise ConfigError(f"{where}: severity must be one of {', '.join(SEVERITIES)}, not {level!r}")
    return str(level)


def _option_value(code: str, name: str, value: Any, default: Any, where: str) -> Any:
    from quantlint.facts.tiers import normalise_label, tier

    if default is not None and not isinstance(value, type(default)):
        numeric = isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool)
        if not numeric:
            raise ConfigError(f"{where}: option {name!r} of {code} must be {type(default).__name__}, not {value!r}")
    if name == "floor":  # a floor anywhere is a llama.cpp quant label, like the top-level floor
        if not isinstance(value, str) or tier(value) is None:
            raise ConfigError(f"{where}: unknown floor {value!r}: give a llama.cpp quant label such as Q4_K_M")
        return normalise_label(value)
    return value


def _rule_settings(cfg: dict[str, Any], registry: Registry, source: str) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """[severity] and [rules.CODE] tables -> (severity overrides, per-rule options)."""
    overrides: dict[str, str] = {}
    for key, level in cfg.get("severity", {}).items():
        code = _rule_code(key, registry, f"{source} [severity]")
        overrides[code] = _severity(level, f"{source} [severity] {key}")
    options: dict[str, dict[str, Any]] = {}
    for key, table in cfg.get("rules", {}).items():
        where = f"{source} [rules.{key}]"
        code = _rule_code(key, registry, where)
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table of options")
        rule = registry.rules[code]
        for name, value in table.items():
            if name == "severity":
                overrides[code] = _severity(value, where)
                continue
            if name not in rule.options:
                takes = f"it takes: {', '.join(sorted(rule.options))}" if rule.options else "it takes no options"
                raise ConfigError(f"{where}: unknown option {name!r} for {code} ({rule.name}); {takes} (and severity)")
            options.setdefault(code, {})[name] = _option_value(code, name, value, rule.options[name], where)
    return overrides, options


def _file_config(values: CliValues) -> Any:
    from quantlint.config_file import ConfigFileError, check_keys, load

    try:
        loaded = load(values.paths, values.config, values.isolated)
        check_keys(loaded.values, loaded.path or "--config")
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from exc
    return loaded


def _flash_attn(value: str | None) -> bool | None:
    if value is None or value == "auto":
        return None
    if value not in ("on", "off"):
        raise ConfigError(f"--flash-attn {value!r}: use on, off or auto")
    return value == "on"


def _given(cli: int | None, file_value: int | None) -> int | None:
    """The command line's value when given (0 included: it must be refused, not ignored), else the file's."""
    return cli if cli is not None else file_value


def _positive(value: int | None, flag: str) -> int | None:
    if value is not None and value <= 0:
        raise ConfigError(f"{flag} {value}: give a positive number")
    return value


def resolve(values: CliValues, registry: Registry, file_config: dict[str, Any] | None = None) -> Resolved:
    """CLI values + the config file (found here unless given) -> Resolved. Raises ConfigError."""
    from quantlint.facts.tiers import normalise_label, tier

    config_path: str | None = None
    config_root: str | None = None
    if file_config is None:
        loaded = _file_config(values)
        cfg, config_path, config_root = loaded.values, loaded.path, loaded.root
    else:
        cfg = file_config
    source = config_path or "--config"
    selection = _selection(values, cfg)
    _check_selectors(_split(values.select) + _split(values.extend_select) + _split(values.ignore), registry, "the command line")
    _check_selectors(list(cfg.get("select", [])) + list(cfg.get("extend-select", [])) + list(cfg.get("ignore", [])), registry, source)
    per_file_ignores: dict[str, list[str]] = {}
    for pattern, selectors in cfg.get("per-file-ignores", {}).items():
        _check_selectors(list(selectors), registry, f"{source} [per-file-ignores] {pattern!r}")
        per_file_ignores[pattern] = list(selectors)
    severity_overrides, rule_options = _rule_settings(cfg, registry, source)

    settings = LintSettings(rule_options=rule_options)
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
    memory = values.memory or cfg.get("memory")
    from_cli = any((values.runtime, values.ctx_size, values.cache_type_k, values.cache_type_v, values.memory,
                    values.flash_attn, values.batch, values.ubatch, values.parallel, values.gpu_layers, values.no_mmap))
    settings.plan = RuntimePlan(
        runtime=runtime,
        ctx_size=values.ctx_size or cfg.get("ctx-size"),
        cache_type_k=check_cache_type(values.cache_type_k or cfg.get("cache-type-k"), "--cache-type-k"),
        cache_type_v=check_cache_type(values.cache_type_v or cfg.get("cache-type-v"), "--cache-type-v"),
        memory_bytes=parse_memory(memory) if memory else [],
        flash_attention=_flash_attn(values.flash_attn or cfg.get("flash-attn")),
        n_batch=_positive(_given(values.batch, cfg.get("batch-size")), "--batch-size"),
        n_ubatch=_positive(_given(values.ubatch, cfg.get("ubatch-size")), "--ubatch-size"),
        n_parallel=_positive(_given(values.parallel, cfg.get("parallel")), "--parallel"),
        gpu_layers=values.gpu_layers if values.gpu_layers is not None else cfg.get("gpu-layers"),
        no_mmap=True if values.no_mmap or cfg.get("no-mmap") else None,
        source="command-line options" if from_cli or not config_path else f"config file {config_path}",
    )
    settings.expect = values.expect
    settings.card_path = values.card
    settings.offline = values.offline

    output_format = values.output_format or cfg.get("output-format") or "full"
    if output_format not in OUTPUT_FORMATS:
        raise ConfigError(f"unknown output format {output_format!r}; choose from {', '.join(OUTPUT_FORMATS)}")
    fail_on = values.fail_on or cfg.get("fail-on") or "error"
    if values.width is not None and values.width < 1:
        raise ConfigError(f"--width must be a positive number of columns, not {values.width}")
    if values.sarif_root is not None and not os.path.isdir(values.sarif_root):
        raise ConfigError(f"--sarif-root {values.sarif_root!r} is not a folder")
    if fail_on not in ("error", "warning", "info"):
        raise ConfigError(f"fail-on must be error, warning or info, not {fail_on!r}")
    return Resolved(
        paths=values.paths, settings=settings, selection=selection, output_format=output_format,
        severity_overrides=severity_overrides, per_file_ignores=per_file_ignores,
        output_file=values.output_file, fail_on=fail_on, exit_zero=values.exit_zero,
        statistics=values.statistics, color=values.color, width=values.width,
        sarif_root=values.sarif_root, baseline=values.baseline,
        write_baseline=values.write_baseline, lfs_remote=values.lfs_remote,
        config_path=config_path, config_root=config_root,
        enabled_rules=[r.code for r in registry.sorted() if selection.enabled(r)],
    )
