"""quantlint's command line.

`quantlint PATH...` lints (the `check` command is the default), `quantlint inspect PATH` shows
what was read, `quantlint rules` lists the rules, `quantlint explain CODE` documents one.
The CLI never names a rule: it builds settings, asks the engine, and hands results to a report.

Exit codes: 0 no finding at or above --fail-on, 1 otherwise, 2 usage/config error or crash.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Any, Optional

import typer
from typer.core import TyperGroup

from quantlint import __version__

HELP = """Lint quantized LLM files before you download or launch them.

quantlint reads GGUF headers, Hugging Face configs and model cards (never the weights) and
reports each risk as a finding with a rule code, a reason and a fix.

\b
  quantlint model.gguf                    lint one file (`quantlint check model.gguf`)
  quantlint models/                       every GGUF and HF model folder below models/
  quantlint org/repo                      a Hugging Face repo, headers only (HTTP Range)
  quantlint --output-format json m.gguf   machine-readable results (also sarif, github)
  quantlint inspect model.gguf            what was read: metadata, tensor mix, bpw, memory
  quantlint scan --author bartowski       many Hub repos at once, resumable
  quantlint pick org/repo --memory 24GiB  the best quant that fits
  quantlint launch -- llama-server -m m.gguf -c 32768 -ctk q4_0
  quantlint rules                         every rule; `quantlint explain QL101` documents one

Exit codes: 0 clean (nothing at or above --fail-on), 1 findings, 2 usage error or crash.
"""


class DefaultCommandGroup(TyperGroup):
    """Runs `check` when the first argument is not a command, so `quantlint model.gguf` works."""

    default_command = "check"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = [self.default_command, *args]
        elif not args:
            args = ["--help"]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=DefaultCommandGroup,
    help=HELP,
    add_completion=False,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


class OutputFormat(str, Enum):
    full = "full"
    concise = "concise"
    json = "json"
    json_lines = "json-lines"
    sarif = "sarif"
    github = "github"


class Severity(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


class FlashAttn(str, Enum):
    on = "on"
    off = "off"
    auto = "auto"


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


WIDTH_HELP = ("Wrap text output at this many columns. Default: the terminal's width (or COLUMNS); "
              "never wrapped when stdout is a pipe or a file.")


def _err(message: str) -> None:
    sys.stderr.write(f"quantlint: error: {message}\n")


def _version_callback(value: bool) -> None:
    if value:
        sys.stdout.write(f"quantlint {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """quantlint: lint quantized LLM files."""


def _split_csv(values: Optional[list[str]]) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _color_choice(color: Color) -> str:
    from quantlint.check_run import color_choice

    return color_choice(color.value)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("quantlint: interrupted\n")
        sys.exit(130)


# Commands live in quantlint/commands/; importing a module registers its commands on `app`.
from quantlint.commands import check as _check  # noqa: E402,F401
from quantlint.commands import info as _info  # noqa: E402,F401
from quantlint.commands import runtime as _runtime  # noqa: E402,F401
from quantlint.commands import scan as _scan  # noqa: E402,F401
