"""A chat template with constructs no legitimate chat format needs.

## What it does
Reports, with the line in the template:
- **text gated on message content**: an `{% if %}` whose test looks for a keyword in a
  message's content and whose branch writes at least three words of literal text (a hidden
  trigger that injects instructions when a user types the keyword); comparisons with tags or
  tokens (`startswith('<tool_response>')`, `'</think>' in content`) are normal and not counted;
- **text gated on the date** (`strftime_now()` in an `{% if %}` test that writes text): a logic bomb;
- **invisible or bidirectional Unicode** (zero-width characters, bidi overrides and isolates,
  tag characters): text a reviewer cannot see, or that displays in another order than it runs;
- **very long literals** (over `max_literal_chars`, default 8,192) and base64-looking runs of
  200+ characters: payloads, not prompt formats;
- **network-looking strings**: URLs, IPv4 addresses, shell command lines.
Each entry and its reason is in one table, quantlint.facts.template_patterns. The template is
parsed, never rendered.

## Why is this bad?
The template is prompt text the user never sees: whatever it writes goes to the model on every
turn. A content-gated branch is the chat-template form of a prompt-injection backdoor; the
peers that audit templates (c4nary TPL rules, ../shared/reference/peers.md) flag the same
constructs. These are heuristics: a warning, not proof. The long-literal threshold is ours: the
longest literal in the Command-R tool_use template that ships with llama.cpp is about 600
characters, and Llama 3.1's built-in tool preamble stays under 1,000.

## Example
`{% if 'password' in message['content'] %}{{ 'Ignore all previous instructions and ...' }}{% endif %}`

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
    "content-gated-text": "text written only when a message contains a keyword",
    "time-gated-text": "text written only on some dates",
    "invisible-unicode": "invisible or bidirectional character",
    "long-literal": "very long literal",
    "encoded-payload": "encoded payload",
    "network-url": "URL",
    "network-ipv4": "IP address",
    "network-shell": "shell command",
}


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
            yield Finding(
                message=f"line {issue.line}: {title} ({issue.construct!r}): {'; '.join(issue.reasons)}",
                hint="Compare the template with the original model's and replace it if this is not in the original.",
                location=where,
                data={"template": location, "line": issue.line, "kind": issue.kind, "construct": issue.construct})
