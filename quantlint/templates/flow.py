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

from dataclasses import dataclass, field
from typing import Any

from quantlint.facts import template_patterns as P
from quantlint.templates.ast_tools import FlatAST, Folder, kind

# What a value may be.
MSGS = 1  # a list of user records (messages, tools, documents)
REC = 2  # one user record (a message, a tool, a content part)
TEXT = 4  # user text (content, arguments, names...)
META = 8  # structure derived from user data: a role, a type, a length, a loop index
DATE = 16  # the current date or time (strftime_now)
CMATCH = 32  # a flag that tells whether user text matched a chosen string (a match result, or a constant set under one)
DGATE = 64  # depends on a comparison of the date
CGATE = 128  # user text that was assigned under a match: testing it for presence is not a match
TOOL = 256  # tool definitions and tool calls: structured data (schemas, names); tests on it render schemas
CUT = 512  # user text split, partitioned or stripped on a chosen string: its size or equality tells a match
USER = MSGS | REC | TEXT | TOOL
GUARDS = CMATCH | DGATE  # the bits that make a test a guard
CARRIED = CMATCH | DGATE | CGATE | CUT  # the bits every derived value keeps
MAX_PASSES = 8


@dataclass
class Region:
    """A branch that runs only when a guard holds: an {% if %} (with its elif/else), a loop
    with a filter or over a filtered list, or an inline `a if test else b`."""

    node: int  # index of the If / For / CondExpr in the flat AST
    line: int | None
    bits: int  # CMATCH / DGATE
    spans: list[range]  # flat-AST index ranges of the guarded parts
    trigger: str | None  # the string the user's text is matched against, when known


@dataclass
class Flow:
    flat: FlatAST
    folder: Folder
    env: dict[str, int] = field(default_factory=dict)
    val: list[int] = field(default_factory=list)
    ctx: list[int] = field(default_factory=list)  # guard bits of the enclosing branches
    triggers: dict[int, str] = field(default_factory=dict)  # node index -> matched string
    var_triggers: dict[str, str] = field(default_factory=dict)  # variable -> trigger of the branch that set it
    ctx_trigger: dict[int, str] = field(default_factory=dict)  # node index -> trigger of its enclosing guard
    macros: dict[str, int] = field(default_factory=dict)  # macro name -> node index
    regions: list[Region] = field(default_factory=list)
    lookups: dict[int, Any] = field(default_factory=dict)  # node index -> constant table indexed by user text
    macro_texts: dict[str, list[str]] = field(default_factory=dict)  # filled by quantlint.templates.gated
    call_blocks: dict[str, list[int]] = field(default_factory=dict)  # macro name -> {% call %} blocks
    scope: list[str] = field(default_factory=list)  # node index -> enclosing macro name ("" at top level)
    locals: dict[str, set[str]] = field(default_factory=dict)  # macro name -> names it binds

    def key(self, name: str, i: int) -> str:
        """Macros have their own scope in jinja2: a name a macro binds is another variable."""
        macro = self.scope[i] if i < len(self.scope) else ""
        return f"{macro}:{name}" if macro and name in self.locals.get(macro, ()) else name

    def at(self, node: Any) -> int:
        return self.val[self.flat.index[id(node)]] if node is not None else 0  # a node outside the tree: 0


def _field_bits(bits: int, key: Any) -> int:
    """The bits of `value[key]` / `value.key` for a value with `bits`."""
    out = bits & (CARRIED | META | DATE | TOOL)
    if bits & MSGS:
        out |= MSGS if kind(key) == "Slice" else REC
        if isinstance(key, str):  # a string key: the "list" was a record after all
            bits |= REC
    if bits & (REC | TEXT):
        name = key if isinstance(key, str) else None
        if name in P.STRUCTURAL_FIELDS:
            out |= META
        elif name in P.TOOL_FIELDS:
            out |= TOOL
        elif name in P.TEXT_FIELDS or bits & TEXT and (isinstance(key, int) or kind(key) == "Slice"):
            out |= TEXT
        else:
            out |= TEXT | REC
    if bits & TOOL and isinstance(key, str) and key in P.TEXT_FIELDS:
        out |= TEXT  # a tool's description is free text
    return out


def gated(bits: int, guard: int) -> int:
    """What a value assigned (or chosen) under a guard carries: a constant becomes a flag that
    tells the match (`{% set ns.hit = true %}`), user text only remembers it (`{% set content =
    content.split('</think>')[-1] %}`): testing that text for presence is not a match."""
    if guard & CMATCH:
        bits |= CGATE if bits & USER else CMATCH
    return bits | (guard & DGATE)


def _iter_bits(bits: int) -> int:
    out = bits & (CARRIED | META | DATE | TOOL)
    if bits & MSGS:
        out |= REC
    if bits & TEXT:
        out |= TEXT | REC  # a string's characters, or a content list's parts
    if bits & REC:
        out |= TEXT  # a dict's keys
    return out


def _stringify(bits: int) -> int:
    out = bits
    if bits & (MSGS | REC):
        out |= TEXT
    return out


def _needle(flow: Flow, node: Any) -> str | None:
    value = flow.folder.fold(node)
    if isinstance(value, str):
        return value
    if kind(node) in ("List", "Tuple"):
        items = [flow.folder.fold(n) for n in node.items]
        strings = [i for i in items if isinstance(i, str)]
        return " | ".join(strings) if strings else None
    return None


def _is_pattern(flow: Flow, node: Any) -> bool:
    """Something the template chose to compare against: not user data, not a None/number
    literal, not an empty or blank string (`content != ''` tests presence, not a trigger)."""
    if flow.at(node) & USER:
        return False
    if kind(node) == "Const" and not isinstance(node.value, str):
        return False
    value = flow.folder.fold(node)
    return not (isinstance(value, str) and not value.strip())


def _is_key(flow: Flow, node: Any) -> bool:
    """`'role' in message` asks whether a record has a key; a record-or-text value is given the
    benefit of the doubt when the needle looks like a key name."""
    value = flow.folder.fold(node)
    return isinstance(value, str) and value.isidentifier()


def _match(flow: Flow, i: int, text: Any, pattern: Any) -> int:
    """CGATE when user text (`text`) is matched against a chosen `pattern`."""
    if flow.at(text) & (TEXT | REC) and _is_pattern(flow, pattern):
        needle = _needle(flow, pattern)
        if needle is not None:
            flow.triggers.setdefault(i, needle)
        return CMATCH
    return 0


def _compare(flow: Flow, i: int, node: Any) -> int:
    out = flow.at(node.expr) & CARRIED
    left = node.expr
    for op in node.ops:
        right = op.expr
        out |= flow.at(right) & CARRIED
        lb, rb = flow.at(left), flow.at(right)
        if (lb | rb) & DATE:
            out |= DGATE
        if (lb | rb) & CUT and op.op in ("eq", "ne", "lt", "gt", "lteq", "gteq"):
            out |= CMATCH  # content.replace('deploy', '') != content
        if op.op in ("in", "notin"):
            if rb & TEXT and not (rb & REC and _is_key(flow, left)):  # 'trigger' in content
                out |= _match(flow, i, right, left)
            elif lb & TEXT and not rb & USER:  # content in ['a', 'b'] / content in 'a long string'
                out |= _match(flow, i, left, right)
        else:  # ==, !=, <, >...: content == 'x', content[:4] >= 'depl'
            out |= _match(flow, i, left, right) | _match(flow, i, right, left)
        left = right
    return out


def _test(flow: Flow, i: int, node: Any) -> int:
    base = flow.at(node.node)
    out = base & CARRIED
    if base & DATE and node.name in P.COMPARE_TESTS:
        out |= DGATE
    if node.name in P.COMPARE_TESTS and node.args:
        out |= _match(flow, i, node.node, node.args[0])
    for a in list(node.args) + [kw.value for kw in node.kwargs]:
        out |= flow.at(a) & CARRIED
    return out


def _filter_test_match(flow: Flow, i: int, node: Any, base: int) -> int:
    """`messages|selectattr('content', 'in', 'x')`, `texts|select('equalto', 'x')`."""
    args = list(node.args)
    if node.name in ("selectattr", "rejectattr") and len(args) >= 3:
        attr = flow.folder.fold_str(args[0])
        test, pattern = flow.folder.fold_str(args[1]), args[2]
        if test in P.COMPARE_TESTS and _field_bits(base, attr) & TEXT and _is_pattern(flow, pattern):
            flow.triggers.setdefault(i, _needle(flow, pattern) or "?")
            return CMATCH
    if node.name in ("select", "reject") and len(args) >= 2 and base & TEXT:
        test, pattern = flow.folder.fold_str(args[0]), args[1]
        if test in P.COMPARE_TESTS and _is_pattern(flow, pattern):
            flow.triggers.setdefault(i, _needle(flow, pattern) or "?")
            return CMATCH
    return 0


def _filter(flow: Flow, i: int, node: Any) -> int:
    base = flow.at(node.node)
    args = 0
    for a in list(node.args) + [kw.value for kw in node.kwargs]:
        args |= flow.at(a)
    name = node.name
    keep = base & (CARRIED | DATE)
    if name in P.NUMBER_FILTERS:  # content.split('deploy')|length > 1 is a match
        return keep | (META if base & (USER | META) else 0) | (args & CARRIED) | (CMATCH if base & CUT else 0)
    if name == "replace" and base & TEXT and node.args and _is_pattern(flow, node.args[0]):
        return _stringify(base | args) | CUT
    if name in ("first", "last", "random", "min", "max"):
        return _field_bits(base, 0) if base & MSGS else base
    if name == "map":
        attribute = next((kw.value for kw in node.kwargs if kw.key == "attribute"), None)
        if attribute is not None:
            got = _field_bits(_iter_bits(base), flow.folder.fold_str(attribute))
            return (got & ~REC) | (MSGS if got & REC else 0) | keep
        return base | (args & CARRIED)
    if name in P.STRING_FILTERS:
        return _stringify(base | args)
    if name in ("default", "d"):
        return base | args
    return base | (args & CARRIED) | _filter_test_match(flow, i, node, base)


def _method(flow: Flow, i: int, node: Any) -> int:
    method = node.node.attr
    base = flow.at(node.node.node)
    args = 0
    for a in list(node.args) + [kw.value for kw in node.kwargs]:
        args |= flow.at(a)
    if method in P.MATCH_METHODS:
        out = (base | args) & CARRIED | (META if base & USER else 0)
        if node.args:
            out |= _match(flow, i, node.node.node, node.args[0])
        return out
    if method == "get" and node.args:
        if not base & USER and flow.at(node.args[0]) & TEXT:  # table.get(content): a lookup keyed by user text
            return _lookup(flow, i, node.node.node, node.args[0]) | (flow.at(node.args[1]) if len(node.args) > 1 else 0)
        key = flow.folder.fold(node.args[0])
        return _field_bits(base, key) | (flow.at(node.args[1]) if len(node.args) > 1 else 0)
    if method in P.CUT_METHODS and base & TEXT and node.args and _is_pattern(flow, node.args[0]):
        needle = _needle(flow, node.args[0])
        if needle is not None:
            flow.triggers.setdefault(i, needle)
        return _stringify(base | args) | CUT
    if method in ("items", "values", "keys"):
        return base | (TEXT if base & REC else 0)
    if method in P.STRING_METHODS:
        return _stringify(base | args) if base & USER else base | args
    return base | args


def _lookup(flow: Flow, i: int, table: Any, key: Any) -> int:
    """`{'deploy': 'Ignore...'}[content]`: a value picked from a table by the user's text is a
    branch on that text; the table's values are judged like a branch's (Flow.lookups)."""
    flow.lookups.setdefault(i, table)
    return flow.at(table) | (flow.at(key) & CARRIED) | CMATCH


def _call(flow: Flow, i: int, node: Any) -> int:
    callee = node.node
    args = 0
    for a in list(node.args) + [kw.value for kw in node.kwargs]:
        args |= flow.at(a)
    if kind(callee) == "Getattr":
        return _method(flow, i, node)
    if kind(callee) == "Name":
        name = callee.name
        if name in P.TIME_FUNCTIONS:
            return DATE | (args & CARRIED)
        if name == "namespace":
            return 0  # its attributes are tracked one by one (NAME.attr in the environment)
        if name in flow.macros:
            return flow.env.get("()" + name, 0)
        if name == "caller":
            return flow.env.get("caller()", 0)
        if name == "raise_exception":
            return 0
    return args | flow.at(callee)


def _value(flow: Flow, i: int, node: Any, k: str) -> int:  # noqa: C901 - one case per node type
    at = flow.at
    if k == "Name":
        return flow.env.get(flow.key(node.name, i), 0) if node.ctx == "load" else 0
    if k == "Getattr":
        base = node.node
        if kind(base) == "Name":
            key = f"{flow.key(base.name, i)}.{node.attr}"
            if key in flow.env:
                return flow.env[key] | (at(base) & CARRIED)
        return _field_bits(at(base), node.attr)
    if k == "Getitem":
        if not at(node.node) & USER and at(node.arg) & TEXT and kind(node.arg) != "Slice":
            return _lookup(flow, i, node.node, node.arg)
        key = flow.folder.fold(node.arg)
        arg = node.arg if kind(node.arg) == "Slice" else key
        return _field_bits(at(node.node), arg) | (at(node.arg) & (CARRIED | META)) | (TEXT if at(node.arg) & TEXT else 0)
    if k == "Slice":
        return at(node.start) | at(node.stop) | at(node.step)
    if k == "Filter":
        return _filter(flow, i, node) if node.node is not None else 0
    if k == "Test":
        return _test(flow, i, node)
    if k == "Call":
        return _call(flow, i, node)
    if k == "Compare":
        return _compare(flow, i, node)
    if k in ("Concat",):
        out = 0
        for n in node.nodes:
            out |= at(n)
        return _stringify(out)
    if k in ("Add", "Sub", "Mul", "Div", "FloorDiv", "Mod", "Pow", "And", "Or"):
        return _stringify(at(node.left) | at(node.right)) if k != "And" and k != "Or" else at(node.left) | at(node.right)
    if k in ("Not", "Neg", "Pos"):
        inner = at(node.node)
        return inner & (CARRIED | DATE) | (META if inner & USER else 0)
    if k == "CondExpr":
        test = at(node.test)
        return gated(at(node.expr1) | at(node.expr2), test & GUARDS) | (test & CGATE)
    if k in ("List", "Tuple"):
        out = 0
        for n in node.items:
            out |= at(n)
        return out
    if k == "Dict":
        out = 0
        for pair in node.items:
            out |= at(pair.key) | at(pair.value)
        return out
    if k in ("Keyword", "Pair"):
        return at(node.value)
    return 0


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
    kinds = [kind(node) for node in nodes]
    valued = [(i, nodes[i], kinds[i]) for i in range(n - 1, -1, -1) if kinds[i] in _VALUED]  # children before parents
    binding = [i for i in range(n) if kinds[i] in _BINDING]
    # Before a statement binds a name, the expressions it reads are re-evaluated, so a chain
    # of {% set b = a %}{% set c = b %}... settles in one pass, not one pass per link.
    refresh = {i: [(j, nodes[j], kinds[j]) for r in _read_spans(flat, nodes[i]) for j in reversed(r) if kinds[j] in _VALUED]
               for i in binding}
    guarded = [p >= 0 and kind(nodes[p]) in ("If", "For", "CondExpr") for p in parent]
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
    for i, node in enumerate(flat.nodes):
        p = flat.parent[i]
        if p >= 0:
            parent = flat.nodes[p]
            flow.scope[i] = parent.name if kind(parent) == "Macro" else flow.scope[p]
        if kind(node) == "Macro":
            flow.macros.setdefault(node.name, i)
        elif kind(node) == "CallBlock" and kind(node.call.node) == "Name":
            flow.call_blocks.setdefault(node.call.node.name, []).append(i)
        macro = flow.scope[i]
        if macro and kind(node) == "Name" and node.ctx in ("store", "param"):
            flow.locals.setdefault(macro, set()).add(node.name)


def _trigger_in(flow: Flow, span: range) -> str | None:
    for j in span:
        if j in flow.triggers:
            return flow.triggers[j]
    return None


def _collect_regions(flow: Flow) -> None:
    flat = flow.flat
    for i, node in enumerate(flat.nodes):
        k = kind(node)
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
