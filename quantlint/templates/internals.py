"""QL601's analysis: constructs that reach Python's internals, and the lone reads that cannot.

A chain of attribute reads, item reads, filters and calls is judged link by link, innermost
first. It *reaches* Python's internals (QL601, error) when a link reads one of the dunders that
lead from an object to code and globals (__globals__, __builtins__, __subclasses__, __mro__,
__base__, __import__, __code__...: template_patterns.REACHING_DUNDERS), calls a shell or module
sink as a method (`x.popen('id')`, `os.system(...)`), goes through a jinja2/Flask global
(`cycler.__init__`, `lipsum.__globals__`, `request.application`), or hides the name it reads:
a dunder built from pieces or resolved from a variable (`''[k]`, `(0)[x]`, `()[d % 'class']`,
`|attr(u ~ 'class' ~ u)`), a name computed at render time, characters picked out of an
object's text, or a format string with lookups. Hiding a name has no use but getting past a
reviewer or a filter.

A lone read of a harmless dunder written out (`x.__class__.__name__ == 'str'`, `x|attr('__doc__')`)
or of a private `_name` cannot continue to anything: jinja2's sandbox refuses it and the render
fails. That is a portability fault (QL602 warning, "sandbox-refused"), not an escape. A
dictionary key is not a call: `role_indicators['system']` (EXAONE) is nothing.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from quantlint.facts import template_patterns as P
from quantlint.templates.ast_tools import chain_links, is_chain_link, kind, render
from quantlint.templates.folding import Folder

_FORMAT_LOOKUP = re.compile(r"\{[^{}]*[.\[][^{}]*\}")

Reason = tuple[str, bool]  # (why, reaches Python's internals)


class Sink(Protocol):
    def add(self, kind_: str, line: int | None, construct: str, *reasons: str) -> None: ...


def _name_reasons(value: str, noun: str, built: bool, called: bool) -> list[Reason]:
    """Why reading `value` as an attribute or item name matters."""
    tail = " built from pieces" if built else ""
    reasons: list[Reason] = []
    if P.DUNDER.match(value):
        reasons.append((f"dunder {noun} {value!r}{tail}", built or value in P.REACHING_DUNDERS))
    elif value.startswith("_"):
        reasons.append((f"private {noun} {value!r}{tail} (the sandbox refuses names starting with '_')", built))
    if value in P.DANGEROUS_ATTRIBUTES and value not in P.MODULE_LIKE_ATTRIBUTES and (called or built):
        reasons.append((f"{noun} {value!r}{tail}: {P.DANGEROUS_ATTRIBUTES[value]}", True))
    return reasons


def _filter_attribute_arg(link: Any) -> Any:
    for kw in link.kwargs:
        if kw.key == "attribute":
            return kw.value
    if link.name in ("attr", "selectattr", "rejectattr", "groupby") and link.args:
        return link.args[0]
    return None


def _is_built(node: Any) -> bool:
    return kind(node) != "Const"


def _link_reasons(link: Any, inner: Any, outer: Any, folder: Folder) -> list[Reason]:
    k = kind(link)
    reasons: list[Reason] = []
    called = outer is not None and kind(outer) == "Call"
    if k == "Getattr":
        reasons += _name_reasons(link.attr, "attribute", False, called)
        if link.attr in P.MODULE_LIKE_ATTRIBUTES and inner is not None and kind(inner) == "Name" and inner.name in P.MODULE_NAMES:
            reasons.append((f"attribute {link.attr!r}: {P.DANGEROUS_ATTRIBUTES[link.attr]}", True))
    elif k == "Getitem":
        key = folder.fold(link.arg)
        if isinstance(key, str):
            built = _is_built(link.arg) and not _written_out(link.arg, key, folder)
            reasons += _name_reasons(key, "item", built, False)
        elif isinstance(key, int) and inner is not None and kind(inner) == "Filter" and inner.name == "list" \
                and inner.node is not None and kind(inner.node) == "Filter" and inner.node.name == "string":
            reasons.append(("picks characters out of an object's text (|string|list)[n], a way to build '_' without writing it", True))
    elif k == "Filter" and link.name in P.ATTRIBUTE_FILTERS:
        arg = _filter_attribute_arg(link)
        if arg is not None:
            value = folder.fold_str(arg)
            if value is None and link.name == "attr":
                reasons.append((f"|attr with a name computed at render time ({render(arg)}): {P.ATTRIBUTE_FILTERS['attr']}", True))
            elif value is not None:
                built = _is_built(arg) and not _written_out(arg, value, folder)
                reasons += _name_reasons(value, f"name read by |{link.name}", built, called and link.name == "attr")
    elif k == "Call" and kind(link.node) == "Getattr" and link.node.attr in ("format", "format_map"):
        fmt = folder.fold_str(link.node.node)
        if fmt is not None and _FORMAT_LOOKUP.search(fmt):
            reasons.append(("str.format with attribute or item lookups in the format string "
                            "(the jinja2 < 3.1.5 sandbox escape, CVE-2024-56326)", True))
    if k in ("Call", "Filter"):
        reasons += [(f"keyword argument named {kw.key!r}", True) for kw in link.kwargs if P.DUNDER.match(kw.key)]
    return reasons


def _written_out(node: Any, value: str, folder: Folder) -> bool:
    """The name is a plain string in the template already (`'__NAME__'|lower`, a `{% set %}`
    of the literal): resolving it hides nothing."""
    wanted = value.lower()
    return any(piece.lower() == wanted for piece in _pieces(node, folder))


def _chain_reasons(top: Any, assigned: set[str], folder: Folder) -> list[Reason]:
    links, base = chain_links(top)
    reasons: list[Reason] = []
    for i in range(len(links) - 1, -1, -1):  # innermost first: the reasons read in the order the chain runs
        inner = links[i + 1] if i + 1 < len(links) else base
        outer = links[i - 1] if i > 0 else None
        reasons += _link_reasons(links[i], inner, outer, folder)
    base_name = base.name if base is not None and kind(base) == "Name" and base.name not in assigned else None
    lead: list[Reason] = []
    if base_name in P.GADGET_NAMES and kind(links[-1]) in ("Getattr", "Getitem"):
        lead.append((f"reaches through {base_name!r}: {P.GADGET_NAMES[base_name]}", True))
    if base_name in P.DANGEROUS_NAMES and (kind(links[-1]) == "Call" or any(r for _, r in reasons)
                                           or kind(links[-1]) == "Getattr" and base_name in P.MODULE_NAMES):
        lead.append((f"names {base_name!r}: {P.DANGEROUS_NAMES[base_name]}", True))
    return lead + reasons


def python_internals(tree: Any, errors: Sink, warnings: Sink) -> None:
    """QL601 issues into `errors`; lone sandbox-refused reads and template loading into `warnings`."""
    flat = tree.flat
    consumed = bytearray(len(flat))

    def consume(i: int) -> None:
        consumed[i:flat.end[i]] = b"\x01" * (flat.end[i] - i)

    for i, node in enumerate(flat.nodes):
        if consumed[i]:
            continue
        k = flat.kinds[i]
        line = getattr(node, "lineno", None)
        p = flat.parent[i]
        if k in P.TEMPLATE_LOADING_TAGS:
            warnings.add("template-loading", line, f"{{% {k.lower()} {render(node.template)} %}}", P.TEMPLATE_LOADING_TAGS[k])
            continue
        if is_chain_link(node) and not (p >= 0 and is_chain_link(flat.nodes[p]) and flat.field[i] == "node"):
            reasons = _chain_reasons(node, tree.assigned, tree.folder)
            if any(reach for _, reach in reasons):
                errors.add("python-internals", line, render(node), *(r for r, _ in reasons))
                consume(i)
                continue
            if reasons:
                warnings.add("sandbox-refused", line, render(node), *(r for r, _ in reasons))
        if k == "Keyword" and P.DUNDER.match(node.key):
            errors.add("python-internals", line, f"{node.key}=\u2026", f"keyword argument named {node.key!r}")
        elif k in ("Concat", "Add", "Mul", "Mod", "Filter", "Call"):
            _string_building(node, i, tree.folder, errors, consume)
        elif k == "Const" and isinstance(node.value, str) and P.DUNDER_INSIDE.search(node.value) \
                and _FORMAT_LOOKUP.search(node.value):
            errors.add("python-internals", line, render(node), "a format string that looks up dunder attributes")


def _string_building(node: Any, i: int, folder: Folder, found: Sink, consume: Any) -> None:
    """A dunder name assembled from pieces ('__cla' ~ 'ss__', ['_','_']|join...): obfuscation,
    unless one literal piece already spells it ('__NAME__'|lower, 'x __init__ y'|replace(...))."""
    value = folder.fold_str(node)
    if value is None:
        return
    match = P.DUNDER_INSIDE.search(value)
    if match and not _spelled(node, match.group(0), folder):
        found.add("python-internals", getattr(node, "lineno", None), render(node),
                  f"builds the dunder name {match.group(0)!r} from pieces")
        consume(i)


def _spelled(node: Any, name: str, folder: Folder) -> bool:
    wanted = name.lower()
    return any(wanted in piece.lower() for piece in _pieces(node, folder))


def _pieces(node: Any, folder: Folder, depth: int = 0) -> list[str]:
    """The string literals an expression is made of, through the variables it names."""
    from quantlint.templates.ast_tools import descendants

    out: list[str] = []
    for n in descendants(node):
        if kind(n) == "Const" and isinstance(n.value, str):
            out.append(n.value)
        elif kind(n) == "Name" and depth < 4:
            values = folder.assignments.get(n.name)
            if values:
                out += _pieces(values[-1], folder, depth + 1)
    return out
