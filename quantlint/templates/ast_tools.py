"""Small, bounded helpers over jinja2 AST nodes: walking, flattening, rendering.

Nothing here evaluates template code; constant folding is quantlint.templates.folding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_FOLD_CHARS = 4096
MAX_FOLD_DEPTH = 24
MAX_RENDER_CHARS = 160

# Chain links: each has a `.node` that is the object it acts on.
CHAIN_TYPES = ("Getattr", "Getitem", "Call", "Filter", "Test")


def kind(node: Any) -> str:
    return type(node).__name__


def children(node: Any) -> Iterator[tuple[str, Any]]:
    """(field name, child node) for every direct child."""
    return iter(_children(node, _node_type()))


def _node_type() -> type:
    from jinja2.nodes import Node  # jinja2 is imported only when a template is analysed

    return Node


def _children(node: Any, node_type: type) -> list[tuple[str, Any]]:
    # Direct attribute reads over node.fields: jinja2's iter_child_nodes/iter_fields cost
    # several generator frames per node, and every analysis starts from this walk.
    kids: list[tuple[str, Any]] = []
    for name in node.fields:
        value = getattr(node, name, None)
        if isinstance(value, node_type):
            kids.append((name, value))
        elif isinstance(value, list):
            kids.extend((name, item) for item in value if isinstance(item, node_type))
    return kids


def walk(root: Any) -> Iterator[tuple[Any, Any, str]]:
    """Pre-order (node, parent, field) without recursion: a deep AST cannot overflow the stack."""
    node_type = _node_type()
    stack: list[tuple[Any, Any, str]] = [(root, None, "")]
    while stack:
        node, parent, field = stack.pop()
        yield node, parent, field
        for name, child in reversed(_children(node, node_type)):
            stack.append((child, node, name))


def nodes_of(root: Any, types: tuple[type, ...]) -> list[Any]:
    """Every node under `root` (itself included) that is one of `types`, in no set order.

    A plain stack loop: about 30% faster than jinja2's recursive find_all generators, and the
    parse step walks every node of a 1 MB template with it."""
    node_type = _node_type()
    found: list[Any] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, types):
            found.append(node)
        for name in node.fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(item for item in value if isinstance(item, node_type))
    return found


def descendants(root: Any) -> Iterator[Any]:
    for node, _, _ in walk(root):
        yield node


class FlatAST:
    """The AST in pre-order, once: node i's subtree is nodes[i:end[i]], so "everything under
    this node" is a slice, not another walk (the analyses stay linear in the template size)."""

    def __init__(self, root: Any) -> None:
        self.nodes: list[Any] = []
        self.parent: list[int] = []
        self.field: list[str] = []
        self.end: list[int] = []
        self.kinds: list[str] = []  # kind(node) of node i: the analyses test it on every pass
        self.index: dict[int, int] = {}
        node_type = _node_type()
        # One loop with its own stack of (node, parent index, field) rather than walk(): the
        # parent's index travels with the node, so no id() lookup per node. A node's subtree
        # ends where the next node whose parent is outside it begins.
        stack: list[tuple[Any, int, str]] = [(root, -1, "")]
        open_: list[int] = []
        nodes, parents, fields, ends, index = self.nodes, self.parent, self.field, self.end, self.index
        while stack:
            node, p, field = stack.pop()
            i = len(nodes)
            while open_ and open_[-1] != p:  # close finished subtrees
                ends[open_.pop()] = i
            nodes.append(node)
            self.kinds.append(type(node).__name__)
            parents.append(p)
            fields.append(field)
            ends.append(-1)
            index[id(node)] = i
            open_.append(i)
            kids = _children(node, node_type)
            for k in range(len(kids) - 1, -1, -1):
                stack.append((kids[k][1], i, kids[k][0]))
        for i in open_:
            ends[i] = len(nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def subtree(self, node: Any) -> list[Any]:
        i = self.index[id(node)]
        return self.nodes[i:self.end[i]]

    def span(self, node: Any) -> range:
        i = self.index[id(node)]
        return range(i, self.end[i])


def const_str(node: Any) -> str | None:
    if kind(node) == "Const" and isinstance(node.value, str):
        return node.value
    return None


def is_chain_link(node: Any) -> bool:
    return kind(node) in CHAIN_TYPES


def chain_links(top: Any) -> tuple[list[Any], Any]:
    """The links of an attribute/item/call/filter chain, outermost first, and its base."""
    links = []
    node = top
    while node is not None and is_chain_link(node):
        links.append(node)
        node = node.node
    return links, node


def render(node: Any, depth: int = 0) -> str:
    """A compact, bounded Jinja-like rendering of an expression, for messages."""
    text = _render(node, depth)
    return text if len(text) <= MAX_RENDER_CHARS else text[:MAX_RENDER_CHARS - 1] + "\u2026"


def _render(node: Any, depth: int) -> str:
    if node is None:
        return ""
    if depth > 30:
        return "\u2026"
    k = kind(node)
    r = lambda n: _render(n, depth + 1)  # noqa: E731
    if k == "Name":
        return node.name
    if k == "Const":
        value = node.value
        return repr(value[:40] + "\u2026" if isinstance(value, str) and len(value) > 40 else value)
    if k in ("Getattr", "Getitem"):
        base = r(node.node)
        if kind(node.node) in ("Filter", "Test", "Concat", "Add", "Mul", "Mod"):
            base = f"({base})"
        return f"{base}.{node.attr}" if k == "Getattr" else f"{base}[{r(node.arg)}]"
    if k in ("Call", "Filter", "Test"):
        args = [r(a) for a in node.args] + [f"{kw.key}={r(kw.value)}" for kw in node.kwargs]
        inner = "(" + ", ".join(args) + ")"
        if k == "Call":
            return f"{r(node.node)}{inner}"
        sep = "|" if k == "Filter" else " is "
        return f"{r(node.node)}{sep}{node.name}{inner if args else ''}"
    if k == "Concat":
        return " ~ ".join(r(n) for n in node.nodes)
    if k in ("Add", "Mul", "Mod", "Sub", "Div", "FloorDiv", "Pow"):
        op = {"Add": "+", "Mul": "*", "Mod": "%", "Sub": "-", "Div": "/", "FloorDiv": "//", "Pow": "**"}[k]
        return f"{r(node.left)} {op} {r(node.right)}"
    if k in ("List", "Tuple"):
        inner = ", ".join(r(n) for n in node.items)
        return f"[{inner}]" if k == "List" else f"({inner})"
    if k == "Slice":
        return f"{r(node.start)}:{r(node.stop)}"
    return k.lower()
