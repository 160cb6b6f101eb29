"""Config files: find the nearest one, read it, and reject what quantlint does not know.

Discovery follows ruff: from the directory of the first path (or the working directory for
remote targets) upward, the first directory holding `.quantlint.toml`, `quantlint.toml` or a
`pyproject.toml` with a `[tool.quantlint]` table wins, in that order of precedence inside one
directory. Settings are never merged across files. A search costs a few stat() calls; tomllib
is imported only when a file is found, so `quantlint model.gguf` stays fast (paths are plain
strings and os.path here: pathlib, with the urllib.parse it imports, costs a lint ~2 ms).

Every fault is a ConfigError naming the file and the key (exit 2), in yamllint's spirit: a
typo in a rule code must not silently turn a rule off.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

CONFIG_NAMES = (".quantlint.toml", "quantlint.toml", "pyproject.toml")
_TOOL_TABLE = re.compile(r"^\s*\[\s*tool\s*\.\s*quantlint\s*[\].]", re.MULTILINE)

SELECTOR_KEYS = ("select", "extend-select", "ignore")
STRING_KEYS = ("fail-on", "floor", "profile", "output-format", "runtime", "cache-type-k", "cache-type-v", "memory",
               "flash-attn")
TABLE_KEYS = ("per-file-ignores", "severity", "rules")
POSITIVE_INT_KEYS = ("ctx-size", "batch-size", "ubatch-size", "parallel")  # the planned llama.cpp settings
KNOWN_KEYS = SELECTOR_KEYS + STRING_KEYS + TABLE_KEYS + POSITIVE_INT_KEYS + ("gpu-layers", "no-mmap")
RULE_TABLE_RESERVED = ("severity",)  # [tool.quantlint.rules.QL101] severity = "error"


class ConfigFileError(ValueError):
    """A fault in a config file; quantlint.config turns it into a ConfigError (exit 2)."""


@dataclass
class FileConfig:
    """The config file in force (None: defaults) and its quantlint table."""

    path: str | None = None  # None: no file (defaults, or --isolated)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> str:
        """Where relative per-file-ignores globs start: the config file's folder."""
        return (os.path.dirname(self.path) or ".") if self.path else os.getcwd()


def _has_tool_table(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return False
    return "quantlint" in text and _TOOL_TABLE.search(text) is not None


def find_config(start: str) -> str | None:
    """The nearest config file at or above `start` (a directory)."""
    try:
        folder = os.path.realpath(start)
    except OSError:
        folder = os.getcwd()
    while True:
        for name in CONFIG_NAMES:
            candidate = os.path.join(folder, name)
            if not os.path.isfile(candidate):
                continue
            if name == "pyproject.toml" and not _has_tool_table(candidate):
                continue  # ruff's rule: a pyproject.toml without our table is not a config
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:  # the root
            return None
        folder = parent


def search_start(paths: list[str]) -> str:
    """The directory the search starts from: the first local path's folder, else the CWD."""
    for raw in paths:
        if os.path.isdir(raw):
            return raw
        if os.path.exists(raw):
            return os.path.dirname(raw) or "."
    return os.getcwd()


def _toml():
    try:
        import tomllib  # Python 3.11+
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib


def read_config_file(path: str) -> dict[str, Any]:
    """The quantlint table of a file: [tool.quantlint] in pyproject.toml, the whole file otherwise."""
    tomllib = _toml()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigFileError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path}: invalid TOML: {exc}") from exc
    if os.path.basename(path) == "pyproject.toml":
        tool = data.get("tool", {})
        if not isinstance(tool, dict) or "quantlint" not in tool:
            raise ConfigFileError(f"{path} has no [tool.quantlint] table")
        data = tool["quantlint"]
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: [tool.quantlint] must be a table")
    return data


def parse_inline(text: str) -> dict[str, Any]:
    """`--config "fail-on = 'warning'"`: one TOML key = value, ruff's inline override."""
    tomllib = _toml()
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"--config {text!r} is neither a file nor a TOML `key = value`: {exc}") from exc


def load(paths: list[str], config: str | None, isolated: bool) -> FileConfig:
    """The config in force: --config PATH, else (unless --isolated) the nearest file."""
    if config is not None:
        if os.path.isfile(config):
            return FileConfig(config, read_config_file(config))
        if "=" in config:
            return FileConfig(None, parse_inline(config))
        raise ConfigFileError(f"--config {config}: no such file")
    if isolated:
        return FileConfig()
    found = find_config(search_start(paths))
    if found is None:
        return FileConfig()
    return FileConfig(found, read_config_file(found))


# -- validation ------------------------------------------------------------------------------
def _suggest(word: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _string_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigFileError(f"{where} must be a list of rule codes, prefixes or names, like [\"QL101\", \"QL9\"]")
    return list(value)


def check_keys(values: dict[str, Any], source: str) -> None:
    for key in values:
        if key not in KNOWN_KEYS:
            raise ConfigFileError(f"{source}: unknown key {key!r}{_suggest(key, list(KNOWN_KEYS))}; "
                                  f"known keys: {', '.join(KNOWN_KEYS)}")
    for key in SELECTOR_KEYS:
        if key in values:
            values[key] = _string_list(values[key], f"{source}: {key}")
    for key in STRING_KEYS:
        if key in values and not isinstance(values[key], str):
            raise ConfigFileError(f"{source}: {key} must be a string, not {values[key]!r}")
    for key in POSITIVE_INT_KEYS:
        if key in values and (not isinstance(values[key], int) or isinstance(values[key], bool) or values[key] <= 0):
            raise ConfigFileError(f"{source}: {key} must be a positive integer, not {values[key]!r}")
    if "gpu-layers" in values and (not isinstance(values["gpu-layers"], int) or values["gpu-layers"] < 0):
        raise ConfigFileError(f"{source}: gpu-layers must be a whole number of layers, not {values['gpu-layers']!r}")
    if "no-mmap" in values and not isinstance(values["no-mmap"], bool):
        raise ConfigFileError(f"{source}: no-mmap must be true or false, not {values['no-mmap']!r}")
    for key in TABLE_KEYS:
        if key in values and not isinstance(values[key], dict):
            raise ConfigFileError(f"{source}: {key} must be a table ([tool.quantlint.{key}])")
    for pattern, selectors in values.get("per-file-ignores", {}).items():
        values["per-file-ignores"][pattern] = _string_list(selectors, f"{source}: per-file-ignores[{pattern!r}]")
