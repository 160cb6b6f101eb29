"""Content- and date-gated instructions: what a guarded branch writes, judged.

quantlint.templates.flow finds the branches that run only when the user's text matches a
string the template chose (or when the date passes one). Real templates branch on content all
the time (`'</think>' in content` to strip reasoning, `content.startswith('<tool_response>')`
to wrap tool output, content-part types) and what those branches write is the user's own text,
role markers, tags and whitespace. A backdoor's branch writes an instruction: a sentence of
natural language the user did not type. So a guarded branch is reported when the literal text
it writes (its template data and string literals, constant expressions folded: `~`, `join`,
`format`, `replace`, variables and namespace attributes bound to constants, the bodies of the
macros it calls), once role markers, control tokens and tags are taken out, holds a run of
MIN_SENTENCE_WORDS words separated by spaces, or a run of CJK text as long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from quantlint.facts import template_patterns as P
from quantlint.templates.ast_tools import kind
from quantlint.templates.values import CMATCH, Flow, Region

MAX_SAMPLE_CHARS = 80
MAX_MACRO_DEPTH = 16  # macros calling macros: deeper chains are not followed (and the stack stays small)


@dataclass(frozen=True)
class GatedText:
    line: int | None
    gate: str  # "content" or "date"
    trigger: str | None
    text: str  # the instruction, truncated


def _strip_markup(text: str) -> str:
    text = P.KNOWN_ROLE_PATTERN.sub(" ", text)
    text = P.CONTROL_TOKEN_SHAPES.sub(" ", text)
    return P.MARKUP_TAGS.sub(" ", text)


def instruction(text: str) -> str | None:
    """The first sentence-like run in `text` once markup is removed, or None."""
    if not text:
        return None
    match = P.SENTENCE_RUN.search(_strip_markup(text))
    return match.group(0) if match else None


def _foldable_roots(flow: Flow, span: range, excluded: list[bool], depth: int = 0) -> list[tuple[int, str]]:
    """(index, text) of the outermost constant string expressions in a span that are written out
    (index -1: a text a called macro writes)."""
    flat, folder = flow.flat, flow.folder
    out: list[tuple[int, str]] = []
    j = span.start
    while j < span.stop:
        node = flat.nodes[j]
        k = kind(node)
        if excluded[j]:
            j += 1
            continue
        if k == "TemplateData":
            out.append((j, node.data))
        elif k in ("Const", "Concat", "Add", "Mod", "Mul", "Filter", "Call", "Name", "Getattr", "CondExpr"):
            value = folder.fold(node) if k not in ("Name", "Getattr") or _constant_only(flow, node) else None
            if isinstance(value, str):
                out.append((j, value))
                j = flat.end[j]
                continue
            if k == "Call" and kind(node.node) == "Name" and node.node.name in flow.macros:
                out += [(-1, text) for text in _macro_texts(flow, node.node.name, excluded, depth + 1)]
            elif k == "Call" and kind(node.node) == "Name" and node.node.name == "caller" and flow.scope[j]:
                out += [(-1, text) for text in _caller_texts(flow, flow.scope[j], excluded, depth + 1)]
        j += 1
    return out


def _constant_only(flow: Flow, node: Any) -> bool:
    """A name (or namespace attribute) every assignment of which is a constant."""
    if kind(node) == "Name":
        key = node.name
    elif kind(node.node) == "Name":
        key = f"{node.node.name}.{node.attr}"
    else:
        return False
    return key in flow.folder.assignments and key not in P.USER_SOURCES and \
        all(isinstance(flow.folder.fold(v), str) for v in flow.folder.assignments[key])


def _macro_texts(flow: Flow, name: str, excluded: list[bool], depth: int) -> list[str]:
    """The literal texts a macro writes; a macro that calls itself (or another one that does) is
    read once: its nested calls add nothing."""
    memo = flow.macro_texts
    if name in memo or depth > MAX_MACRO_DEPTH:
        return memo.get(name, [])
    memo[name] = []  # in progress: a recursive call sees no text
    texts: list[str] = []
    for stmt in flow.flat.nodes[flow.macros[name]].body:
        texts += _adjacent_texts(flow, _foldable_roots(flow, flow.flat.span(stmt), excluded, depth))
    memo[name] = texts
    return texts


def _caller_texts(flow: Flow, macro: str, excluded: list[bool], depth: int) -> list[str]:
    """What `caller()` writes inside `macro`: the bodies of the {% call macro() %} blocks."""
    key = "caller:" + macro
    memo = flow.macro_texts
    if key in memo or depth > MAX_MACRO_DEPTH:
        return memo.get(key, [])
    memo[key] = []
    texts: list[str] = []
    for i in flow.call_blocks.get(macro, []):
        for stmt in flow.flat.nodes[i].body:
            texts += _adjacent_texts(flow, _foldable_roots(flow, flow.flat.span(stmt), excluded, depth))
    memo[key] = texts
    return texts


def gated_texts(flow: Flow, excluded: list[bool]) -> list[GatedText]:
    found: list[GatedText] = []
    reported: list[range] = []
    for region in flow.regions:
        if any(region.node in r for r in reported):
            continue  # inside a branch already reported
        text = _region_instruction(flow, region, excluded)
        if text is None or _documented_switch(region.trigger, text):
            continue
        gate = "content" if region.bits & CMATCH else "date"
        found.append(GatedText(region.line, gate, region.trigger, text))
        reported.append(flow.flat.span(flow.flat.nodes[region.node]))
    return found


def _documented_switch(trigger: str | None, text: str) -> bool:
    if trigger is None:
        return False
    needle, said = trigger.strip().lower(), text.lower()
    return needle in P.MODE_SWITCHES or (len(needle) > 3 and needle in said)


def _region_instruction(flow: Flow, region: Region, excluded: list[bool]) -> str | None:
    for span in region.spans:
        for text in _adjacent_texts(flow, _foldable_roots(flow, span, excluded)):
            found = instruction(text)
            if found is not None:
                return _short(found)
    return None


def _adjacent_texts(flow: Flow, roots: list[tuple[int, str]]) -> list[str]:
    """Join pieces written one after the other ({{ a }}{{ b }}): an instruction split across
    outputs is still one sentence. A dynamic value between two pieces separates them."""
    flat = flow.flat
    texts: list[str] = []
    prev_end = -1
    for j, text in roots:
        written = j >= 0 and flat.parent[j] >= 0 and kind(flat.nodes[flat.parent[j]]) == "Output"
        gap = range(prev_end, j) if prev_end >= 0 else range(0)
        if texts and written and all(kind(flat.nodes[g]) in ("Output", "Scope") for g in gap):
            texts[-1] += text
        else:
            texts.append(text)
        prev_end = flat.end[j] if written else -1
    return texts


def _short(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= MAX_SAMPLE_CHARS else text[:MAX_SAMPLE_CHARS - 1] + "\u2026"
