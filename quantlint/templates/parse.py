"""Parse a chat template with jinja2's parser. Never render it, never execute it.

jinja2 is imported here, lazily: a GGUF without a chat template never pays for it. The
environment is the one transformers renders chat templates with (an immutable sandbox with
the loopcontrols extension and the {% generation %} tag), so a template that transformers
accepts parses here too; only `Environment.parse` is called, which lexes and builds the AST
and runs no template code.
"""

from __future__ import annotations

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


def parse_template(source: str) -> ParseResult:
    """The AST of `source`, or the reason it does not parse (never an exception)."""
    try:
        env = _environment()
        from jinja2 import TemplateSyntaxError
    except Exception as exc:  # jinja2 missing or broken: say so instead of crashing
        return ParseResult(None, SyntaxProblem(f"jinja2 is not usable here ({type(exc).__name__}: {exc})", None))
    try:
        return ParseResult(env.parse(source), None)
    except TemplateSyntaxError as exc:
        return ParseResult(None, SyntaxProblem(str(exc.message or exc), exc.lineno))
    except RecursionError:
        return ParseResult(None, SyntaxProblem("nested too deeply for the parser", None))
    except Exception as exc:  # the lexer and parser raise little else, but a template is hostile input
        return ParseResult(None, SyntaxProblem(f"{type(exc).__name__}: {exc}", None))
