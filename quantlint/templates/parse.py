"""Parse a chat template with jinja2's parser. Never render it, never execute it.

jinja2 is imported here, lazily: a GGUF without a chat template never pays for it. The
environment is the one transformers renders chat templates with (an immutable sandbox with
the loopcontrols extension and the {% generation %} tag), so a template that transformers
accepts parses here too; only `Environment.parse` is called, which lexes and builds the AST
and runs no template code.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class SyntaxProblem:
    message: str
    line: int | None


@dataclass(frozen=True)
class ParseResult:
    ast: Any  # jinja2.nodes.Template, or None when the template does not parse
    problem: SyntaxProblem | None


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import nodes
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationTag(Extension):
        """transformers' {% generation %}...{% endgeneration %} (it marks assistant text for
        training masks); for analysis its body is simply part of the template."""

        tags = {"generation"}

        def parse(self, parser: Any) -> list[Any]:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return [nodes.Scope(body, lineno=lineno)]

    return ImmutableSandboxedEnvironment(extensions=[GenerationTag, loopcontrols])


# Long stretches of plain text cost jinja2's lexer ~150 ns a character (its data regex tries
# every tag opener at every position: ~150 ms for 1 MB of prose). A run of at least LONG_RUN
# characters with no brace and no backslash cannot hold a tag boundary or an escape, so its
# middle is swapped for a short marker (same number of newlines, so line numbers hold) before
# parsing and put back into the template-data and string nodes afterwards.
LONG_RUN = 8192
MARGIN = 64
_RUN = re.compile(r"[^{}\\]+")


def _long_runs(source: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each maximal run of _RUN at least LONG_RUN long, left to right.

    Such a run covers an offset that is LONG_RUN - 1 modulo LONG_RUN, so only those offsets are
    looked at (a hundred per MB) instead of matching every short run between the tags of a
    large template (3 ms per MB of template code)."""
    last_end = 0
    next_break = dict.fromkeys("{}\\", -1)
    for at in range(LONG_RUN - 1, len(source), LONG_RUN):
        if at < last_end or source[at] in "{}\\":
            continue
        # The run starts after the last brace or backslash in the window before `at`; with none
        # there, at the window's edge (the offset one step back is a break, or was in the run
        # found last, which last_end bounds).
        low = max(last_end, at - LONG_RUN + 1)
        last_break = max(source.rfind(c, low, at) for c in "{}\\")
        start = last_break + 1 if last_break >= 0 else low
        # The run ends at the next break: str.find of one character runs at memchr speed (the
        # class regex at a few ns a character). Each break's next offset is kept while it lies
        # ahead, so a character absent from the rest of the text is not searched for again.
        for c in "{}\\":
            if next_break[c] < at:
                found = source.find(c, at)
                next_break[c] = found if found >= 0 else len(source)
        end = min(next_break.values())
        last_end = end
        if end - start >= LONG_RUN:
            yield start, end


def _condense(source: str) -> tuple[str, dict[str, str]]:
    if len(source) < LONG_RUN:
        return source, {}
    nonce = secrets.token_hex(6)
    pieces: dict[str, str] = {}
    out: list[str] = []
    last = 0
    for start, end in _long_runs(source):
        middle = source[start + MARGIN:end - MARGIN]
        marker = f"\ue000{nonce}{len(pieces)}" + "\n" * middle.count("\n") + "\ue001"
        pieces[marker] = middle
        out += [source[last:start + MARGIN], marker]
        last = end - MARGIN
    if not pieces:
        return source, {}
    out.append(source[last:])
    return "".join(out), pieces


def _restore(ast: Any, pieces: dict[str, str]) -> None:
    from jinja2 import nodes

    from quantlint.templates.ast_tools import nodes_of

    for node in nodes_of(ast, (nodes.TemplateData, nodes.Const)):
        attr = "data" if isinstance(node, nodes.TemplateData) else "value"
        value = getattr(node, attr)
        if isinstance(value, str) and "\ue000" in value:
            for marker, text in pieces.items():
                if marker in value:
                    value = value.replace(marker, text)
            setattr(node, attr, value)


def _parse(env: Any, source: str) -> ParseResult:
    from jinja2 import TemplateSyntaxError

    try:
        return ParseResult(env.parse(source), None)
    except TemplateSyntaxError as exc:
        return ParseResult(None, SyntaxProblem(str(exc.message or exc), exc.lineno))
    except RecursionError:
        return ParseResult(None, SyntaxProblem("nested too deeply for the parser", None))
    except Exception as exc:  # the lexer and parser raise little else, but a template is hostile input
        return ParseResult(None, SyntaxProblem(f"{type(exc).__name__}: {exc}", None))


def parse_template(source: str) -> ParseResult:
    """The AST of `source`, or the reason it does not parse (never an exception)."""
    try:
        env = _environment()
    except Exception as exc:  # jinja2 missing or broken: say so instead of crashing
        return ParseResult(None, SyntaxProblem(f"jinja2 is not usable here ({type(exc).__name__}: {exc})", None))
    skeleton, pieces = _condense(source)
    if pieces:
        result = _parse(env, skeleton)
        if result.ast is not None:
            try:
                _restore(result.ast, pieces)
                return result
            except RecursionError:
                pass
        # A marker landed where only code may stand (a huge run inside an expression): parse as is.
    return _parse(env, source)
