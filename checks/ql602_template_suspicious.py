"""A chat template with constructs no legitimate chat format needs.

## What it does
Parses every chat template the model carries (never renders it) and follows the data through
it: which values come from the user (`messages` and their content, `documents`, the text of
`tools`; not `add_generation_prompt`, `bos_token` and the like), through `{% set %}`,
`{% with %}`, namespace() attributes, macro arguments and `caller()`, `{% call %}` blocks, loop
variables (`loop.last`, `messages[-1]`, `messages|last`, `|selectattr`), filters (`|lower`,
`|trim`, `|join`...) and string methods (`.get`, `.strip`, `.split`...), and which branches run
only when such a value matches a string the template chose (`in`, `==`, `.startswith()`,
`.endswith()`, `.find()`, `.rindex()`, `.count()`, slice comparisons, `selectattr(..., 'in', ...)`,
flags set inside such a branch). Reported, with the line:
- **an instruction written only when a message matches a trigger** (error): the branch writes a
  sentence the user did not type (its literal text, with constants folded through `~`, `join`,
  `format`, `%`, `replace`, variables, namespace attributes and the macros it calls, once role
  markers, control tokens and tags are taken out). Branches that write the user's own text,
  role markers or tags (`'</think>' in content`, `content.startswith('<tool_response>')`,
  content-part types, tool schemas) are how chat formats work and are not reported; nor are the
  documented reasoning switches (`/think`, `/no_think`, `detailed thinking on`), nor a branch
  that writes its own trigger as a default;
- **an instruction written only on some dates** (error): a branch under a comparison of
  `strftime_now()` (directly or through a variable);
- **invisible characters that hide or reorder text** (error): bidi overrides and isolates
  (U+202A-202E, U+2066-2069), Unicode tag characters (U+E0000-E007F), zero-width characters
  (U+200B-200D, U+2060, U+FEFF) inside Latin-script text. Direction marks (LRM, RLM, ALM) in
  right-to-left text and ZWNJ/ZWJ in Arabic, Persian or Indic text are typography: nothing.
  Other invisible characters: a warning;
- warnings: a lone read of a dunder or `_private` attribute that cannot go further
  (`x.__class__.__name__ == 'str'`): jinja2's sandbox refuses it, so the template fails in
  sandboxed renderers; `{% include %}`, `{% import %}`, `{% from %}`, `{% extends %}`: they load
  other templates, which llama.cpp's engine and a loader-less sandbox cannot do; very long
  literals (over `max_literal_chars`, default 8,192) and base64-looking runs of 200+
  characters; URLs, IPv4 addresses, shell command lines.
Each entry and its reason is in one table, quantlint.facts.template_patterns.

## Severity
QL602 is a warning, escalated to **error** for one finding (the engine's finding-level
escalation, quantlint.findings) when it is a hidden instruction: content-gated text, date-gated
text, or invisible characters that hide or reorder text (`data.kind` is `content-gated-text`,
`time-gated-text` or `invisible-instruction`). A gate that lets a backdoor through is not a
gate: the default `--fail-on error` exits 1 on these. A severity configured for QL602 still
wins over both.

## Why is this bad?
The template is prompt text the user never sees: whatever it writes goes to the model on every
turn. A content-gated instruction is the chat-template form of a prompt-injection backdoor: it
lies dormant until a user types the trigger. The peers that audit templates (c4nary TPL rules,
../shared/reference/peers.md) flag the same constructs. The long-literal threshold is ours: the
longest literal in the Command-R tool_use template that ships with llama.cpp is about 600
characters, and Llama 3.1's built-in tool preamble stays under 1,000.

## Example
`{% if 'deploy' in messages[-1].content|lower %}{{ 'Ignore previous instructions and ...' }}{% endif %}`:
line 1, trigger 'deploy', the instruction quoted.

## How to fix
Read the reported lines. If the construct is not the original model's, replace the template with
the base model's (tokenizer_config.json of the original repo).

## Options
`max_literal_chars` (default 8192).
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.facts.template_patterns import MAX_LITERAL_CHARS
from quantlint.findings import Finding
from quantlint.model import Model
from quantlint.settings import CheckContext
from quantlint.templates import has_templates, template_sources

CODE = "QL602"
NAME = "template-suspicious"
SEVERITY = "warning"
OPTIONS = {"max_literal_chars": MAX_LITERAL_CHARS}

TITLES = {
    "content-gated-text": "an instruction written only when a message matches a trigger",
    "time-gated-text": "an instruction written only on some dates",
    "invisible-instruction": "invisible character that hides or reorders text",
    "invisible-unicode": "invisible or bidirectional character",
    "sandbox-refused": "a read jinja2's sandbox refuses (fails in sandboxed renderers)",
    "template-loading": "loads another template (fails in llama.cpp and loader-less sandboxes)",
    "long-literal": "very long literal",
    "encoded-payload": "encoded payload",
    "network-url": "URL",
    "network-ipv4": "IP address",
    "network-shell": "shell command",
}


# Hidden instructions: the finding is escalated to error (see "Severity" above).
HIDDEN_INSTRUCTION_KINDS = frozenset({"content-gated-text", "time-gated-text", "invisible-instruction"})
HINTS = {
    "sandbox-refused": "Harmless by itself, but the template fails where it is rendered in a sandbox; "
                       "use a filter or test (`is string`, `is mapping`) instead of reading internals.",
    "template-loading": "Inline the other template: a chat template must be one self-contained string.",
}
DEFAULT_HINT = "Compare the template with the original model's and replace it if this is not in the original."
HIDDEN_HINT = ("Do not deploy this template: it writes an instruction the user cannot see. Replace it with the "
               "original model's (tokenizer_config.json of the base repo) and ask the publisher why it is there.")


def _limit(ctx: CheckContext) -> int:
    try:
        return max(int(ctx.options.get("max_literal_chars", MAX_LITERAL_CHARS)), 1)
    except (TypeError, ValueError):
        return MAX_LITERAL_CHARS


def check(model: Model, ctx: CheckContext) -> Iterator[Finding]:
    if not has_templates(model):
        return
    from quantlint.templates.analysis import analyse_template  # jinja2 only when there is a template

    limit = _limit(ctx)
    for location, text in template_sources(model):
        for issue in analyse_template(text, limit).suspicious:
            title = TITLES.get(issue.kind, issue.kind)
            where = f"{location}:{issue.line}" if issue.line else location
            hidden = issue.kind in HIDDEN_INSTRUCTION_KINDS
            data = {"template": location, "line": issue.line, "kind": issue.kind, "construct": issue.construct}
            if issue.trigger is not None:
                data["trigger"] = issue.trigger
            yield Finding(
                message=f"{location} line {issue.line}: {title} ({issue.construct!r}): {'; '.join(issue.reasons)}",
                hint=HIDDEN_HINT if hidden else HINTS.get(issue.kind, DEFAULT_HINT),
                location=where, severity="error" if hidden else None, data=data)
