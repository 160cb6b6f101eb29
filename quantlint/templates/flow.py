"""Data flow through a chat template's AST: which values come from the user, which branches
depend on a test of them.

A chat template receives user-controlled data (`messages` and their content, `tools`,
`documents`) next to values the runtime controls (`add_generation_prompt`, `bos_token`...).
A backdoor hides an instruction behind a test of the user's text: the instruction is written
only when a message contains a trigger. This module finds those tests however the value
travels before it is tested: `{% set %}`, `{% with %}`, namespace() attributes, macro
arguments and `caller()`, `{% call %}` bodies, loop variables, filters and string methods,
subscripts and slices, and flags set inside a branch that is itself gated (implicit flow).

The analysis is flow-insensitive (a variable holds the union of everything ever assigned to
it) and runs to a fixed point over the flat AST (quantlint.templates.ast_tools.FlatAST):
every pass is a loop over the node list, never a recursion, so a deeply nested template
cannot overflow the stack, and the number of passes is capped. Nothing is evaluated.

Each value is a set of bits (what it may hold); a guard is a test whose bits include CGATE
(it depends on a match of user text against something the template chose) or DGATE (it
compares a date). quantlint.templates.gated decides whether what such a branch writes is an
injected instruction.
"""

from __future__ import annotations

from typing import Any

from quantlint.facts import template_patterns as P
from quantlint.templates.ast_tools import FlatAST, kind
from quantlint.templates.folding import Folder
from quantlint.templates.values import (
    CARRIED, CGATE, CMATCH, GUARDS, META, MSGS, TOOL, Flow, Region, _iter_bits, _needle, _value, gated,
)

__all__ = ["CGATE", "CMATCH", "Flow", "Region", "analyse_flow"]
MAX_PASSES = 8


# -- the fixed point -----------------------------------------------------------------------------
def _keys(flow: Flow, target: Any, i: int) -> list[str]:
    """The environment keys a target binds: a name, `ns.attr`, or each name of a tuple."""
    k = kind(target)
    if k == "Name":
        return [flow.key(target.name, i)]
    if k == "NSRef":
        return [f"{flow.key(target.name, i)}.{target.attr}"]
    if k in ("Tuple", "List"):
        return [key for item in target.items for key in _keys(flow, item, i)]
    return []


def _bind(flow: Flow, keys: list[str], bits: int, changed: list[bool], trigger: str | None = None) -> None:
    for key in keys:
        old = flow.env.get(key, 0)
        if old | bits != old:
            flow.env[key] = old | bits
            changed[0] = True
        if trigger is not None and bits & CMATCH:
            flow.var_triggers.setdefault(key, trigger)


def _gate_bits(guard: int) -> int:
    return guard & GUARDS


def _outputs(flow: Flow, i: int) -> int:
    """Union of what the statements under node i write out (for macros, {% set %} blocks, call bodies)."""
    out = 0
    nodes = flow.flat.nodes
    for j in range(i + 1, flow.flat.end[i]):
        if flow.flat.field[j] == "nodes" and kind(nodes[flow.flat.parent[j]]) == "Output":
            out |= gated(flow.val[j], flow.ctx[j])
    return out


def _statement(flow: Flow, i: int, node: Any, changed: list[bool]) -> None:  # noqa: C901 - one case per tag
    k = kind(node)
    gate = _gate_bits(flow.ctx[i])
    trig = flow.ctx_trigger.get(i)
    at = flow.at

    def bind(keys: list[str], bits: int) -> None:
        _bind(flow, keys, gated(bits, gate), changed, trig)

    if k == "Assign":
        value, target = node.node, node.target
        if kind(target) in ("Tuple", "List") and kind(value) in ("Tuple", "List") and len(value.items) == len(target.items):
            for t, v in zip(target.items, value.items):
                bind(_keys(flow, t, i), at(v))
        else:
            bind(_keys(flow, target, i), at(value))
        if kind(target) == "Name" and kind(value) == "Call" and kind(value.node) == "Name" and value.node.name == "namespace":
            for kw in value.kwargs:
                bind([f"{flow.key(target.name, i)}.{kw.key}"], at(kw.value))
            for a in value.args:  # namespace(some_dict): every attribute may hold it
                bind(_keys(flow, target, i), at(a))
    elif k == "AssignBlock":
        bind(_keys(flow, node.target, i), _outputs(flow, i))
    elif k == "With":
        for t, v in zip(node.targets, node.values):
            bind(_keys(flow, t, i), at(v))
    elif k == "For":
        bind(_keys(flow, node.target, i), _iter_bits(at(node.iter)))
        bind(["loop"], META | (at(node.iter) & CARRIED))
    elif k == "Call" and kind(node.node) == "Name":
        name = node.node.name
        if name in flow.macros:
            m = flow.macros[name]
            macro = flow.flat.nodes[m]
            for param, arg in zip(macro.args, node.args):
                arg_trigger = _trigger_in(flow, flow.flat.span(arg)) if at(arg) & CMATCH else None
                _bind(flow, _keys(flow, param, m + 1), gated(at(arg), gate), changed, arg_trigger or trig)
            for kw in node.kwargs:
                bind([flow.key(kw.key, m + 1)], at(kw.value))
        elif name == "caller":
            macro = _enclosing(flow, i, "Macro")
            if macro is not None:
                bind([f"caller-args:{macro.name}"], _union(flow, node.args))
    elif k == "Macro":
        for param, default in zip(node.args[len(node.args) - len(node.defaults):], node.defaults):
            _bind(flow, _keys(flow, param, i + 1), at(default), changed)
        _bind(flow, ["()" + node.name], _outputs(flow, i), changed)
    elif k == "CallBlock" and kind(node.call.node) == "Name":
        bind(["caller()"], _outputs(flow, i))
        args = flow.env.get(f"caller-args:{node.call.node.name}", 0)
        for param in node.args:
            bind(_keys(flow, param, i), args)


def _union(flow: Flow, nodes: list[Any]) -> int:
    out = 0
    for n in nodes:
        out |= flow.at(n)
    return out


def _enclosing(flow: Flow, i: int, kind_: str) -> Any:
    p = flow.flat.parent[i]
    while p >= 0:
        if kind(flow.flat.nodes[p]) == kind_:
            return flow.flat.nodes[p]
        p = flow.flat.parent[p]
    return None


def _region_bits(flow: Flow, parent: Any, field_name: str) -> int:
    """Guard bits a child in `field_name` of `parent` runs under."""
    k = kind(parent)
    if k == "If" and field_name in ("body", "elif_", "else_"):
        return flow.at(parent.test) & GUARDS
    if k == "For" and field_name in ("body", "else_"):
        return (flow.at(parent.test) if parent.test is not None else 0) & GUARDS | flow.at(parent.iter) & GUARDS
    if k == "CondExpr" and field_name in ("expr1", "expr2"):
        return flow.at(parent.test) & GUARDS
    return 0


_VALUED = frozenset({"Name", "Getattr", "Getitem", "Slice", "Filter", "Test", "Call", "Compare", "Concat", "Add",
                     "Sub", "Mul", "Div", "FloorDiv", "Mod", "Pow", "And", "Or", "Not", "Neg", "Pos", "CondExpr",
                     "List", "Tuple", "Dict", "Keyword", "Pair"})
_BINDING = frozenset({"Assign", "AssignBlock", "With", "For", "Call", "Macro", "CallBlock"})


def _read_spans(flat: FlatAST, node: Any) -> list[range]:
    """The flat-AST ranges of the expressions a binding statement reads."""
    k = kind(node)
    if k == "Assign":
        parts = [node.node]
    elif k == "With":
        parts = list(node.values)
    elif k == "For":
        parts = [node.iter]
    elif k == "Call":
        parts = list(node.args) + list(node.kwargs)
    elif k == "Macro":
        parts = list(node.defaults)
    else:
        parts = []
    return [flat.span(p) for p in parts]


def analyse_flow(flat: FlatAST, folder: Folder) -> Flow:
    flow = Flow(flat, folder)
    n = len(flat)
    flow.val = [0] * n
    flow.ctx = [0] * n
    for name, what in P.USER_SOURCES.items():
        flow.env[name] = MSGS if what == "records" else TOOL
    _scopes(flow)
    nodes, parent, fields = flat.nodes, flat.parent, flat.field
    # Only expressions have values, only some statements bind names, only the children of
    # if/for/inline-if open a guarded region: each pass visits just those.
    kinds = flat.kinds
    valued = [(i, nodes[i], kinds[i]) for i in range(n - 1, -1, -1) if kinds[i] in _VALUED]  # children before parents
    binding = [i for i in range(n) if kinds[i] in _BINDING]
    # Before a statement binds a name, the expressions it reads are re-evaluated, so a chain
    # of {% set b = a %}{% set c = b %}... settles in one pass, not one pass per link.
    refresh = {i: [(j, nodes[j], kinds[j]) for r in _read_spans(flat, nodes[i]) for j in reversed(r) if kinds[j] in _VALUED]
               for i in binding}
    guarded = [p >= 0 and kinds[p] in ("If", "For", "CondExpr") for p in parent]
    for _ in range(MAX_PASSES):
        trigger_cache: dict[int, str | None] = {}
        val, ctx, ctx_trigger = flow.val, flow.ctx, flow.ctx_trigger
        for i, node, k in valued:
            val[i] = _value(flow, i, node, k)
        for i in range(1, n):  # parents before children
            p = parent[i]
            if guarded[i]:
                own = _region_bits(flow, nodes[p], fields[i])
                ctx[i] = ctx[p] | own
                trigger = _guard_trigger(flow, p, trigger_cache) if own else ctx_trigger.get(p)
            else:
                ctx[i] = ctx[p]
                trigger = ctx_trigger.get(p)
            if trigger is not None:
                ctx_trigger[i] = trigger
        changed = [False]
        for i in binding:
            for j, node, k in refresh[i]:
                val[j] = _value(flow, j, node, k)
            _statement(flow, i, nodes[i], changed)
        if not changed[0]:
            break
    _collect_regions(flow)
    return flow


def _scopes(flow: Flow) -> None:
    flat = flow.flat
    flow.scope = [""] * len(flat)
    kinds = flat.kinds
    for i, node in enumerate(flat.nodes):
        p = flat.parent[i]
        if p >= 0:
            parent = flat.nodes[p]
            flow.scope[i] = parent.name if kinds[p] == "Macro" else flow.scope[p]
        k = kinds[i]
        if k == "Macro":
            flow.macros.setdefault(node.name, i)
        elif k == "CallBlock" and kind(node.call.node) == "Name":
            flow.call_blocks.setdefault(node.call.node.name, []).append(i)
        macro = flow.scope[i]
        if macro and k == "Name" and node.ctx in ("store", "param"):
            flow.locals.setdefault(macro, set()).add(node.name)


def _trigger_in(flow: Flow, span: range) -> str | None:
    for j in span:
        if j in flow.triggers:
            return flow.triggers[j]
    return None


def _collect_regions(flow: Flow) -> None:
    flat = flow.flat
    for i, node in enumerate(flat.nodes):
        k = flat.kinds[i]
        if k not in ("If", "For", "CondExpr"):
            continue
        if k == "If":
            guard, parts, test = flow.at(node.test), list(node.body) + list(node.elif_) + list(node.else_), node.test
        elif k == "For":
            guard = ((flow.at(node.test) if node.test is not None else 0) | flow.at(node.iter)) & GUARDS
            parts, test = list(node.body) + list(node.else_), node.test if node.test is not None else node.iter
        else:
            guard, parts, test = flow.at(node.test), [node.expr1, node.expr2], node.test
        if not guard & GUARDS:
            continue
        spans = [flat.span(p) for p in parts if p is not None]
        trigger = _trigger_in(flow, flat.span(test)) or _flag_trigger(flow, test)
        flow.regions.append(Region(i, getattr(node, "lineno", None), guard & GUARDS, spans, trigger))
    for i, table in flow.lookups.items():
        resolved = _table(flow, table)
        if resolved is not None:
            flow.regions.append(Region(i, getattr(flat.nodes[i], "lineno", None), CMATCH, [flat.span(resolved)],
                                       _needle(flow, resolved.items[0].key) if kind(resolved) == "Dict" and resolved.items else None))


def _guard_test(node: Any) -> Any:
    k = kind(node)
    if k == "For":
        return node.test if node.test is not None else node.iter
    return node.test


def _guard_trigger(flow: Flow, p: int, cache: dict[int, str | None]) -> str | None:
    if p not in cache:
        test = _guard_test(flow.flat.nodes[p])
        cache[p] = _trigger_in(flow, flow.flat.span(test)) or _flag_trigger(flow, test)
    return cache[p]


def _table(flow: Flow, node: Any) -> Any:
    """The dict literal a lookup reads, directly or through a variable bound to it, in the tree."""
    for _ in range(4):
        if kind(node) == "Dict":
            return node if id(node) in flow.flat.index else None
        if kind(node) != "Name" or not flow.folder.assignments.get(node.name):
            return None
        node = flow.folder.assignments[node.name][-1]
    return None


def _flag_trigger(flow: Flow, test: Any) -> str | None:
    """For `{% if ns.hit %}`: the trigger of the branch that set the flag, when one is known."""
    for j in flow.flat.span(test):
        node = flow.flat.nodes[j]
        if kind(node) == "Getattr" and kind(node.node) == "Name":
            name = f"{flow.key(node.node.name, j)}.{node.attr}"
        elif kind(node) == "Name":
            name = flow.key(node.name, j)
        else:
            continue
        if name in flow.var_triggers:
            return flow.var_triggers[name]
    return None
