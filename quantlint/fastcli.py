"""The fast path for the default command: `quantlint [OPTIONS] PATH...` without importing typer.

typer (with its vendored click and the stdlib modules it pulls) costs about 36 ms to import,
a third of a whole lint of a 253 MB GGUF. Most runs are plain `quantlint model.gguf` with a
few common options, so this module parses exactly those, into the same CliValues the typer
`check` command builds, and hands them to the same run_check().

It never has to be complete: any argument it does not recognise (a subcommand, --help, an
unknown option, a bad value, `--`) returns None and typer parses the whole command line as
usual, with its own messages. tests/test_fastcli.py checks that both paths give the same
values for the options handled here, and that those options exist on the typer command.
"""

from __future__ import annotations

import os

from quantlint.config import CliValues

COMMANDS = frozenset({"check", "inspect", "rules", "explain", "launch", "pick", "scan"})
CHOICES = {
    "output_format": ("full", "concise", "json", "json-lines", "sarif", "github"),
    "fail_on": ("error", "warning", "info"),
    "color": ("auto", "always", "never"),
    "flash_attn": ("on", "off", "auto"),
}
# flag -> (CliValues field, kind): kind is "str", "int", "list" (repeatable), or "flag"
OPTIONS: dict[str, tuple[str, str]] = {
    "--output-format": ("output_format", "str"),
    "-o": ("output_file", "str"), "--output-file": ("output_file", "str"),
    "--fail-on": ("fail_on", "str"),
    "--exit-zero": ("exit_zero", "flag"),
    "--floor": ("floor", "str"),
    "--profile": ("profile", "str"),
    "--select": ("select", "list"),
    "--extend-select": ("extend_select", "list"),
    "--ignore": ("ignore", "list"),
    "--statistics": ("statistics", "flag"),
    "--color": ("color", "str"),
    "--width": ("width", "int"),
    "--sarif-root": ("sarif_root", "str"),
    "--config": ("config", "str"),
    "--isolated": ("isolated", "flag"),
    "--baseline": ("baseline", "str"),
    "-c": ("ctx_size", "int"), "--ctx-size": ("ctx_size", "int"),
    "-ctk": ("cache_type_k", "str"), "--cache-type-k": ("cache_type_k", "str"),
    "-ctv": ("cache_type_v", "str"), "--cache-type-v": ("cache_type_v", "str"),
    "--memory": ("memory", "str"),
    "-fa": ("flash_attn", "str"), "--flash-attn": ("flash_attn", "str"),
    "-b": ("batch", "int"), "--batch-size": ("batch", "int"),
    "-ub": ("ubatch", "int"), "--ubatch-size": ("ubatch", "int"),
    "-np": ("parallel", "int"), "--parallel": ("parallel", "int"),
    "-ngl": ("gpu_layers", "int"), "--gpu-layers": ("gpu_layers", "int"), "--n-gpu-layers": ("gpu_layers", "int"),
    "--no-mmap": ("no_mmap", "flag"),
    "--runtime": ("runtime", "str"),
    "--expect": ("expect", "str"),
    "--card": ("card", "str"),
    "--offline": ("offline", "flag"),
    "--lfs-remote": ("lfs_remote", "str"),
}
_TRUE = ("1", "true", "t", "yes", "y", "on")


def parse(argv: list[str]) -> CliValues | None:
    """CliValues for a plain lint command line, or None to let typer handle it."""
    if not argv or argv[0] in COMMANDS or argv[0].startswith("-") and argv[0] in ("-h", "--help", "--version"):
        return None
    fields: dict[str, object] = {}
    paths: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            paths.append(arg)
            i += 1
            continue
        name, eq, inline = arg.partition("=")
        spec = OPTIONS.get(name)
        if spec is None:
            return None  # --help, --show-settings, --write-baseline, `--`, typos: typer's job
        field, kind = spec
        if kind == "flag":
            if eq:
                return None
            fields[field] = True
            i += 1
            continue
        if eq:
            value = inline
            i += 1
        elif i + 1 < len(argv):
            value = argv[i + 1]
            i += 2
        else:
            return None
        if kind == "int":
            try:
                fields[field] = int(value)
            except ValueError:
                return None
        elif kind == "list":
            fields.setdefault(field, [])
            fields[field].append(value)  # type: ignore[union-attr]
        else:
            if field in CHOICES and value not in CHOICES[field]:
                return None
            fields[field] = value
    if not paths:
        return None
    if "output_format" not in fields:
        env_format = os.environ.get("QUANTLINT_OUTPUT_FORMAT")
        if env_format:
            if env_format not in CHOICES["output_format"]:
                return None
            fields["output_format"] = env_format
    if "offline" not in fields and os.environ.get("HF_HUB_OFFLINE", "").lower() in _TRUE:
        fields["offline"] = True
    from quantlint.check_run import color_choice

    fields["color"] = color_choice(str(fields.get("color", "auto")))
    return CliValues(paths=paths, **fields)  # type: ignore[arg-type]
