"""Analyse a chat template's AST: code-execution constructs, suspicious content, emitted tokens.

One pass over the parsed template (quantlint.templates.parse) feeds all four template rules;
the result is cached per template text, so QL601-QL604 parse each template once. The
patterns and the reason for each come from quantlint.facts.template_patterns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from quantlint.facts import template_patterns as P
from quantlint.templates.ast_tools import FlatAST, const_str, kind
from quantlint.templates.folding import Folder, LoopItem
from quantlint.templates.internals import python_internals
from quantlint.templates.parse import SyntaxProblem, parse_template
from quantlint.templates.scans import MAX_ISSUES, raw_code_scan, text_scans



@dataclass(frozen=True)
class TemplateIssue:
    kind: str  # "python-internals", "template-loading", "invisible-unicode", ...
    line: int | None
    construct: str  # the expression or text, rendered short
    reasons: tuple[str, ...]
    trigger: str | None = None  # gated text: the string the user's message is matched against


@dataclass(frozen=True)
class EmittedToken:
    text: str
    line: int | None


@dataclass(frozen=True)
class TemplateAnalysis:
    syntax: SyntaxProblem | None
    code_execution: tuple[TemplateIssue, ...] = ()
    suspicious: tuple[TemplateIssue, ...] = ()
    emitted_tokens: tuple[EmittedToken, ...] = ()
    parsed: bool = True  # False: too large to parse, or a syntax error (text scans only)


@dataclass
class _Collector:
    """Issues keyed by (kind, line, construct) so one construct gives one issue, with every reason."""

    items: dict[tuple[str, int | None, str], list[str]] = field(default_factory=dict)
    triggers: dict[tuple[str, int | None, str], str | None] = field(default_factory=dict)

    def add(self, kind_: str, line: int | None, construct: str, *reasons: str) -> None:
        key = (kind_, line, construct)
        if key not in self.items and len(self.items) >= MAX_ISSUES:
            return
        bucket = self.items.setdefault(key, [])
        bucket.extend(r for r in reasons if r not in bucket)

    def result(self) -> tuple[TemplateIssue, ...]:
        return tuple(TemplateIssue(k, line, c, tuple(r), self.triggers.get((k, line, c)))
                     for (k, line, c), r in self.items.items())


# -- the flat AST and where strings are written out -------------------------------------------
@dataclass
class _Tree:
    flat: FlatAST
    excluded: list[bool]  # node i sits where strings are compared or searched, not written out
    assigned: set[str]  # names the template binds itself
    folder: Folder

    def literal(self, i: int) -> tuple[str, int | None] | None:
        node = self.flat.nodes[i]
        if self.excluded[i]:
            return None
        if self.flat.kinds[i] == "TemplateData":
            return node.data, node.lineno
        value = const_str(node)
        return (value, node.lineno) if value is not None else None


def _excluded_child(parent: Any, k: str, field_name: str) -> bool:
    """Is a child in this field of `parent` (of kind `k`) compared or searched for rather than written out?"""
    if k in ("Compare", "Test") or (k in ("If", "CondExpr") and field_name == "test"):
        return True
    if (k == "Getitem" and field_name == "arg") or (k == "For" and field_name == "iter"):
        return True
    if k == "Call" and field_name in ("args", "kwargs"):
        callee = parent.node
        if kind(callee) == "Getattr" and callee.attr in P.SEARCH_METHODS:
            return True
        return kind(callee) == "Name" and callee.name == "raise_exception"  # the message goes to the caller
    return k == "Filter" and field_name == "args" and parent.name not in ("replace", "join", "default", "d", "format")


def _record_assignment(node: Any, k: str, values: dict[str, list[Any]]) -> None:
    """Constant folding sees through {% set %}, {% with %} and namespace attributes (`node` is of kind `k`)."""
    pairs: list[tuple[Any, Any]] = []
    if k == "Assign":
        pairs = [(node.target, node.node)]
        value = node.node
        if kind(node.target) == "Name" and kind(value) == "Call" and kind(value.node) == "Name" and value.node.name == "namespace":
            for kw in value.kwargs:
                values.setdefault(f"{node.target.name}.{kw.key}", []).append(kw.value)
    elif k == "With":
        pairs = list(zip(node.targets, node.values))
    elif k == "For" and kind(node.target) == "Name":
        pairs = [(node.target, LoopItem(node.iter))]
    for target, value in pairs:
        if kind(target) == "Name":
            values.setdefault(target.name, []).append(value)
        elif kind(target) == "NSRef":
            values.setdefault(f"{target.name}.{target.attr}", []).append(value)


def _tree(ast: Any) -> _Tree:
    flat = FlatAST(ast)
    excluded = [False] * len(flat)
    assigned: set[str] = set()
    values: dict[str, list[Any]] = {}
    macros: dict[str, Any] = {}
    caller_bodies: list[list[Any]] = []
    for i, node in enumerate(flat.nodes):
        p = flat.parent[i]
        if p >= 0:
            excluded[i] = excluded[p] or _excluded_child(flat.nodes[p], flat.kinds[p], flat.field[i])
        k = flat.kinds[i]
        if (k == "Name" and node.ctx in ("store", "param")) or k == "Macro":
            assigned.add(node.name)
        if k in ("Assign", "With", "For"):
            _record_assignment(node, k, values)
        if k == "Macro":
            macros.setdefault(node.name, node)
        elif k == "CallBlock":
            caller_bodies.append(node.body)
    return _Tree(flat, excluded, assigned, Folder(values, macros, caller_bodies))


# -- QL602 -------------------------------------------------------------------------------------
def _gated_text(tree: _Tree, found: _Collector) -> None:
    """Branches that write an instruction only when a message matches a trigger, or on some dates."""
    from quantlint.templates.flow import analyse_flow
    from quantlint.templates.gated import gated_texts

    flow = analyse_flow(tree.flat, tree.folder)
    for gated in gated_texts(flow, tree.excluded):
        trigger = f"{gated.trigger[:40]!r}" if gated.trigger is not None else "a value derived from it"
        if gated.gate == "content":
            found.add("content-gated-text", gated.line, gated.text,
                      f"written only when a message's content matches {trigger}: a hidden trigger for injected instructions")
        else:
            found.add("time-gated-text", gated.line, gated.text,
                      "written only on some dates (the template compares the current date): a logic bomb no chat format needs")
        found.triggers[(gated.gate + "-gated-text", gated.line, gated.text)] = gated.trigger


def _long_literals(tree: _Tree, max_chars: int, found: _Collector) -> None:
    for node, k in zip(tree.flat.nodes, tree.flat.kinds):
        text = node.data if k == "TemplateData" else const_str(node)
        if text is not None and len(text) > max_chars:
            found.add("long-literal", node.lineno, text[:40].replace("\n", " ") + "\u2026",
                      f"a {len(text):,}-character literal (over {max_chars:,}): a payload, not a prompt format")


# -- QL603 -------------------------------------------------------------------------------------
def _emitted_tokens(tree: _Tree) -> tuple[EmittedToken, ...]:
    seen: dict[str, EmittedToken] = {}
    for i, node in enumerate(tree.flat.nodes):
        lit = tree.literal(i)
        if lit is None:
            continue
        text, line = lit
        if not any(c in text for c in P.ROLE_TOKEN_FIRST_CHARS):
            continue
        for pattern in (P.CONTROL_TOKEN_SHAPES, P.KNOWN_ROLE_PATTERN):
            for match in pattern.finditer(text):
                token = match.group(0)
                if token not in seen:
                    at = line + text.count("\n", 0, match.start()) if line is not None and tree.flat.kinds[i] == "TemplateData" else line
                    seen[token] = EmittedToken(token, at)
    return tuple(seen.values())


# -- entry point -------------------------------------------------------------------------------
def _raw(source: str, why: str) -> tuple[TemplateIssue, ...]:
    found = _Collector()
    raw_code_scan(source, why, found)
    return found.result()


def _over_budget(source: str) -> str | None:
    tags = source.count("{{") + source.count("{%")
    if len(source) > P.MAX_PARSE_CHARS:
        return f"{len(source):,} characters, over the {P.MAX_PARSE_CHARS:,} quantlint parses"
    if tags > P.MAX_PARSE_TAGS:
        return f"{tags:,} tags, over the {P.MAX_PARSE_TAGS:,} quantlint parses"
    return None


@lru_cache(maxsize=32)
def analyse_template(source: str, max_literal_chars: int = P.MAX_LITERAL_CHARS) -> TemplateAnalysis:
    """Parse once and run every analysis. Never renders the template."""
    suspicious = _Collector()
    text_scans(source, suspicious)
    too_big = _over_budget(source)
    if too_big is not None:
        suspicious.add("over-budget", None, too_big,
                       f"a chat template of {too_big} (real chat formats are a few thousand characters and a few hundred tags): "
                       "only a text scan was run on it, so hidden constructs may be missed")
        return TemplateAnalysis(syntax=None, code_execution=_raw(source, "named in a template too large to parse (found by a text scan)"),
                                suspicious=suspicious.result(), parsed=False)
    parsed = parse_template(source)
    if parsed.ast is None:
        return TemplateAnalysis(syntax=parsed.problem, suspicious=suspicious.result(), parsed=False,
                                code_execution=_raw(source, "named in a template that does not parse (found by a text scan, not the parser)"))
    tree = _tree(parsed.ast)
    _gated_text(tree, suspicious)
    _long_literals(tree, max_literal_chars, suspicious)
    code_execution = _Collector()
    python_internals(tree, code_execution, suspicious)
    return TemplateAnalysis(
        syntax=None,
        code_execution=code_execution.result(),
        suspicious=suspicious.result(),
        emitted_tokens=_emitted_tokens(tree),
    )
