"""Transfer functions of the chat-template data flow (quantlint.templates.flow): the bits a
value may carry, and how each kind of expression combines its operands' bits.

Each value is a set of bits (what it may hold). A test whose bits include CMATCH depends on a
match of user text against a string the template chose; DGATE, on a comparison of the date.
Nothing is evaluated: only bits move.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quantlint.facts import template_patterns as P
from quantlint.templates.ast_tools import FlatAST, kind
from quantlint.templates.folding import Folder

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
