"""A chat template that does not parse.

## What it does
Parses every chat template the model carries with jinja2's parser (the environment
transformers renders with: loop controls and the `{% generation %}` tag enabled) and reports
the first syntax error with its line. The template is never rendered. A template that is too
deeply nested for the parser is reported the same way, never as a crash.

## Why is this bad?
A runtime that renders the template fails on the first chat request (transformers,
llama-cpp-python, vLLM raise TemplateSyntaxError); llama.cpp's own Jinja engine may reject it
too and fall back to a built-in format guessed from the model, which is often not the one the
model was trained on. Either way the chat format is not the model's. A template that does not
parse also cannot be checked for hostile constructs by the parser: QL601 falls back to a text
scan for it.

## Example
`{% for m in messages %}{{ m['content'] }` ... `{% endfor`: "unexpected '}'" at line 1.

## How to fix
Replace the template with the original model's (tokenizer_config.json of the base repo), or
fix the reported line; check it with `python -c "import jinja2; jinja2.Environment().parse(open('t.jinja').read())"`.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext
from quantlint.templates import has_templates, template_sources

CODE = "QL604"
NAME = "template-syntax"
SEVERITY = "warning"


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    if not has_templates(model):
        return
    from quantlint.templates.analysis import analyse_template  # jinja2 only when there is a template

    for location, text in template_sources(model):
        problem = analyse_template(text).syntax
        if problem is None:
            continue
        where = f"{location}:{problem.line}" if problem.line else location
        at = f"line {problem.line}: " if problem.line else ""
        yield Finding(
            message=f"{location} does not parse: {at}{problem.message}",
            hint="Replace the template with the original model's, or fix the reported line.",
            location=where, data={"template": location, "line": problem.line, "error": problem.message})
