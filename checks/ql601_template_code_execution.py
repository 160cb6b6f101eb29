"""A chat template that reaches Python internals: the CVE-2024-34359 class of payload.

## What it does
Parses every chat template the model carries (`tokenizer.chat_template`, each
`tokenizer.chat_template.NAME`, or tokenizer_config.json's for directories) with jinja2's
parser and walks the AST. The template is **never rendered**: nothing in it runs, and
nothing it names is imported. Reported, each with its line in the template, when a chain of
reads can reach Python's internals:
- dunder attributes and items that lead to code, globals or other classes
  (`''.__class__.__mro__[1].__subclasses__()`, `__globals__`, `__builtins__`, `__base__`,
  `__import__`...);
- a name that is hidden: a dunder built from pieces or resolved from a variable and read with
  `|attr` or a subscript (`''[k]`, `(0)[x]`, `()[d % 'class']`, keys built with `~`, `+`, `*`,
  `|join`, `|format`, `%`, `.format()`, `.replace()`, slices, dict literals, loop variables,
  macros and `caller()`), a name computed at render time, characters picked out of
  `(x|string|list)[n]`;
- gadget chains through jinja2's and Flask's globals (`cycler`, `joiner`, `namespace`,
  `lipsum`, `self`, `config`, `request`...), and shell or module sinks called as methods
  (`x.popen('id')`, `os.system(...)`);
- `str.format` with attribute lookups in the format string (the jinja2 < 3.1.5 sandbox escape).
Not reported here: a lone read of a harmless dunder written out (`x.__class__.__name__ ==
'str'`) and `{% include %}`/`{% import %}`/`{% extends %}` are QL602 warnings (they fail in
sandboxed or loader-less renderers, they escape nothing); a dictionary key (`role_indicators['system']`)
or a dunder word inside a string (`'__NAME__'.lower()`) is nothing. The patterns and the reason
for each are one table: quantlint.facts.template_patterns; the chain analysis is
quantlint.templates.internals. If the template does not parse (QL604), a text scan still
reports dunder names and shell sinks.

## Why is this bad?
Runtimes render the template on every chat request. llama-cpp-python 0.2.30-0.2.71 rendered
it in an unsandboxed jinja2.Environment, so a GGUF whose template walked
`().__class__.__base__.__subclasses__()` to `__builtins__['__import__']('os').popen(...)` ran
commands on the machine that loaded it (CVE-2024-34359, CVSS 9.6-9.7, fixed in 0.2.72; a
published sample exists). SGLang had the same bug in 2026 (CVE-2026-5760), and jinja2's
sandbox itself had a str.format escape before 3.1.5 (CVE-2024-56326). No chat format needs
any of these constructs, so each is treated as hostile (../shared/reference/quality-evidence.md
§7).

## Example
`{{ cycler.__init__.__globals__.os.popen('id').read() }}` at line 2 of tokenizer.chat_template.

## How to fix
Do not load the file. If you must, replace the template (`--chat-template` in llama.cpp,
`chat_template` in tokenizer_config.json) with the original model's, and run a runtime that
renders in an immutable sandbox with jinja2 >= 3.1.5.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext
from quantlint.templates import has_templates, template_sources

CODE = "QL601"
NAME = "template-code-execution"
SEVERITY = "error"

HINT = ("Treat this file as hostile: do not load it with a runtime that renders templates unsandboxed "
        "(llama-cpp-python < 0.2.72) and replace the template with the original model's.")


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    if not has_templates(model):
        return
    from quantlint.templates.analysis import analyse_template  # jinja2 only when there is a template

    for location, text in template_sources(model):
        analysis = analyse_template(text)
        for issue in analysis.code_execution:
            where = f"{location}:{issue.line}" if issue.line else location
            if issue.kind == "template-loading":
                message = f"line {issue.line}: {issue.construct}: {'; '.join(issue.reasons)}"
            else:
                message = f"line {issue.line}: `{issue.construct}` reaches Python internals: {'; '.join(issue.reasons)}"
            yield Finding(message=message, hint=HINT, location=where,
                          data={"template": location, "line": issue.line, "construct": issue.construct,
                                "kind": issue.kind, "reasons": list(issue.reasons)})
