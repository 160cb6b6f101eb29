"""Constant folding of chat-template string expressions, with our own code.

`Folder` computes the value of string expressions built only from literals ('__cla' ~ 'ss__',
['_','_']|join, '%c'|format(95), 'x__class__x'[1:-1], 'class'.center(9, '_'), a macro that
writes constants), through the variables, namespace attributes, dict literals and loop
variables bound to them. Every result is length-capped and the recursion depth bounded, so a
template cannot make it allocate or loop: Python's % and str.format are never called on
template strings.
"""

from __future__ import annotations

import re
from typing import Any

from quantlint.templates.ast_tools import MAX_FOLD_CHARS, MAX_FOLD_DEPTH, kind

_PERCENT = re.compile(r"%([sdc%])")
_BRACES = re.compile(r"\{(\d*)\}")


class LoopItem:
    """Stands for a loop variable in Folder.assignments: `{% for n in ['class', 'base'] %}`
    binds n to an item of the list (the last is taken)."""

    fields = ("iter",)

    def __init__(self, iter_: Any) -> None:
        self.iter = iter_
        self.lineno = getattr(iter_, "lineno", None)


class Folder:
    """Constant-folds string expressions; names resolve through simple `{% set %}` literals."""

    def __init__(self, assignments: dict[str, list[Any]] | None = None, macros: dict[str, Any] | None = None,
                 caller_bodies: list[list[Any]] | None = None) -> None:
        self.assignments = assignments or {}
        self.macros = macros or {}  # name -> Macro node: `key('class')` folds when the body only writes constants
        self.caller_bodies = caller_bodies or []  # {% call %} bodies: what caller() writes

    def fold(self, node: Any, depth: int = 0) -> str | int | None:
        if node is None or depth > MAX_FOLD_DEPTH:
            return None
        value = self._fold(node, depth + 1)
        if isinstance(value, str) and len(value) > MAX_FOLD_CHARS:
            return None
        return value

    def fold_str(self, node: Any) -> str | None:
        value = self.fold(node)
        return value if isinstance(value, str) else None

    def _fold(self, node: Any, depth: int) -> str | int | None:
        k = kind(node)
        if k == "Const":
            return node.value if isinstance(node.value, (str, int)) and not isinstance(node.value, bool) else None
        if k == "Name":
            values = self.assignments.get(node.name)
            return self.fold(values[-1], depth) if values else None
        if k == "Getattr" and kind(node.node) == "Name":  # a namespace attribute: ns.key
            values = self.assignments.get(f"{node.node.name}.{node.attr}")
            return self.fold(values[-1], depth) if values else self._lookup(node.node, node.attr, depth)
        if k == "Getitem":
            return self._getitem(node, depth)
        if k == "Neg":
            inner = self.fold(node.node, depth)
            return -inner if isinstance(inner, int) else None
        if k == "LoopItem":
            items = self._sequence(node.iter, depth)
            return items[-1] if items else None
        if k == "Call" and kind(node.node) == "Name":
            return self._call(node, depth)
        if k == "Concat":
            parts = [self.fold(n, depth) for n in node.nodes]
            return "".join(str(p) for p in parts) if all(p is not None for p in parts) else None
        if k == "Add":
            left, right = self.fold(node.left, depth), self.fold(node.right, depth)
            return left + right if isinstance(left, str) and isinstance(right, str) else None
        if k == "Mul":
            return self._repeat(self.fold(node.left, depth), self.fold(node.right, depth))
        if k == "Mod":
            return self._percent(self.fold(node.left, depth), self._items(node.right, depth))
        if k == "Filter":
            return self._filter(node, depth)
        if k == "Call" and kind(node.node) == "Getattr":
            return self._method(node, depth)
        return None

    def _lookup(self, node: Any, key: Any, depth: int) -> str | int | None:
        """`names.c` / `names['c']` where `names` is bound to a dict literal."""
        for _ in range(4):
            if kind(node) == "Name" and self.assignments.get(node.name):
                node = self.assignments[node.name][-1]
            else:
                break
        if kind(node) == "Dict":
            for pair in node.items:
                if self.fold(pair.key, depth) == key:
                    return self.fold(pair.value, depth)
        return None

    def _getitem(self, node: Any, depth: int) -> str | int | None:
        arg = node.arg
        if kind(arg) == "Slice":
            base = self.fold(node.node, depth)
            given = (arg.start, arg.stop, arg.step)
            bounds = [self.fold(b, depth) if b is not None else None for b in given]
            ok = all(b is None and g is None or isinstance(b, int) for b, g in zip(bounds, given)) and bounds[2] != 0
            return base[slice(*bounds)] if isinstance(base, str) and ok else None
        key = self.fold(arg, depth)
        if key is None:
            return None
        if isinstance(key, int):
            base = self.fold(node.node, depth)
            if isinstance(base, str) and -len(base) <= key < len(base):
                return base[key]
            items = self._sequence(node.node, depth)
            return items[key] if items and -len(items) <= key < len(items) else None
        return self._lookup(node.node, key, depth)

    def _sequence(self, node: Any, depth: int) -> list[Any] | None:
        """The items of a list literal (or a variable bound to one) or of `'a b'.split()`."""
        listed = self._literal_list(node)
        if listed is not None:
            return self._items(listed, depth)
        if kind(node) == "Call" and kind(node.node) == "Getattr" and node.node.attr == "split" and len(node.args) <= 1:
            base = self.fold(node.node.node, depth)
            sep = self.fold(node.args[0], depth) if node.args else None
            if isinstance(base, str) and (sep is None or isinstance(sep, str) and sep):
                return base.split(sep)
        return None

    def _call(self, node: Any, depth: int) -> str | None:
        """A macro that only writes constants and its arguments (`key('class')`), or caller()."""
        name = node.node.name
        if name == "caller":
            return self._body(self.caller_bodies[-1], depth) if len(self.caller_bodies) == 1 else None
        macro = self.macros.get(name)
        if macro is None or node.kwargs or len(node.args) > len(macro.args):
            return None
        from jinja2.nodes import Const

        args = [self.fold(a, depth) for a in node.args]
        if any(a is None for a in args):
            return None
        saved = {p.name: self.assignments.get(p.name) for p in macro.args}
        try:
            for param, value in zip(macro.args, args):
                self.assignments[param.name] = [Const(value)]
            return self._body(macro.body, depth)
        finally:
            for pname, old in saved.items():
                if old is None:
                    self.assignments.pop(pname, None)
                else:
                    self.assignments[pname] = old

    def _body(self, body: list[Any], depth: int) -> str | None:
        out: list[str] = []
        for stmt in body:
            if kind(stmt) != "Output":
                return None
            for n in stmt.nodes:
                value = n.data if kind(n) == "TemplateData" else self.fold(n, depth)
                if value is None:
                    return None
                out.append(str(value))
        text = "".join(out)
        return text if len(text) <= MAX_FOLD_CHARS else None

    def _literal_list(self, node: Any) -> Any:
        """A list or tuple literal, directly or through a variable bound to one."""
        for _ in range(4):
            if node is None or kind(node) in ("List", "Tuple"):
                return node
            if kind(node) != "Name" or not self.assignments.get(node.name):
                return None
            node = self.assignments[node.name][-1]
        return None

    def _items(self, node: Any, depth: int) -> list[Any] | None:
        if kind(node) in ("Tuple", "List"):
            items = [self.fold(n, depth) for n in node.items]
            return items if all(i is not None for i in items) else None
        value = self.fold(node, depth)
        return None if value is None else [value]

    @staticmethod
    def _repeat(a: Any, b: Any) -> str | None:
        if isinstance(a, str) and isinstance(b, int):
            text, times = a, b
        elif isinstance(b, str) and isinstance(a, int):
            text, times = b, a
        else:
            return None
        if times < 0 or len(text) * times > MAX_FOLD_CHARS:
            return None
        return text * times

    @staticmethod
    def _percent(fmt: Any, args: list[Any] | None) -> str | None:
        """'%s'/'%d'/'%c' only, no widths: enough to see a name being built, never a big allocation."""
        if not isinstance(fmt, str) or args is None:
            return None
        queue = list(args)
        failed = False

        def sub(match: re.Match[str]) -> str:
            nonlocal failed
            code = match.group(1)
            if code == "%":
                return "%"
            if not queue:
                failed = True
                return ""
            value = queue.pop(0)
            if code == "c":
                if isinstance(value, int) and 0 <= value < 0x110000:
                    return chr(value)
                if isinstance(value, str) and len(value) == 1:
                    return value
                failed = True
                return ""
            return str(value)

        out = _PERCENT.sub(sub, fmt)
        return None if failed else out

    @staticmethod
    def _named_percent(fmt: str, named: dict[str, Any]) -> str | None:
        """'%(u)sclass%(u)s' | format(u='__')."""
        failed = False

        def sub(match: re.Match[str]) -> str:
            nonlocal failed
            value = named.get(match.group(1))
            if value is None:
                failed = True
                return ""
            return str(value)

        out = re.sub(r"%\(([A-Za-z_]\w*)\)s", sub, fmt)
        return None if failed or len(out) > MAX_FOLD_CHARS else out

    @staticmethod
    def _braces(fmt: str, args: list[Any]) -> str | None:
        counter = iter(range(len(args) + 1))
        failed = False

        def sub(match: re.Match[str]) -> str:
            nonlocal failed
            index = int(match.group(1)) if match.group(1) else next(counter)
            if index >= len(args):
                failed = True
                return ""
            return str(args[index])

        out = _BRACES.sub(sub, fmt)
        return None if failed else out

    def _filter(self, node: Any, depth: int) -> str | None:
        name = node.name
        if name == "join":
            listed = self._literal_list(node.node)
            items = self._items(listed, depth) if listed is not None else None
            sep = self.fold(node.args[0], depth) if node.args else ""
            return sep.join(str(i) for i in items) if items is not None and isinstance(sep, str) else None
        base = self.fold(node.node, depth) if node.node is not None else None
        if name == "format" and isinstance(base, str):
            if node.kwargs and not node.args:
                named = {kw.key: self.fold(kw.value, depth) for kw in node.kwargs}
                return self._named_percent(base, named)
            args = [self.fold(a, depth) for a in node.args]
            return self._percent(base, args) if all(a is not None for a in args) else None
        if not isinstance(base, str):
            return None
        simple = {"lower": str.lower, "upper": str.upper, "string": str, "trim": str.strip,
                  "reverse": lambda s: s[::-1], "capitalize": str.capitalize, "title": str.title}
        if name in simple:
            return simple[name](base)
        if name == "replace" and len(node.args) >= 2:
            old, new = self.fold(node.args[0], depth), self.fold(node.args[1], depth)
            if isinstance(old, str) and isinstance(new, str) and old and len(base) * max(len(new), 1) <= MAX_FOLD_CHARS:
                return base.replace(old, new)
        return None

    def _method(self, node: Any, depth: int) -> str | None:
        attr = node.node.attr
        base = self.fold(node.node.node, depth)
        if not isinstance(base, str):
            return None
        if attr == "join" and len(node.args) == 1 and self._literal_list(node.args[0]) is not None:
            items = self._items(self._literal_list(node.args[0]), depth)
            return base.join(str(i) for i in items) if items is not None else None
        args = [self.fold(a, depth) for a in node.args]
        if any(a is None for a in args):
            return None
        if attr == "format":
            return self._braces(base, args)
        if attr in ("lower", "upper", "strip", "lstrip", "rstrip", "title", "capitalize", "swapcase", "casefold") \
                and (not args or attr.endswith("strip") and len(args) == 1 and isinstance(args[0], str)):
            return getattr(base, attr)(*args)
        if attr in ("center", "ljust", "rjust") and args and isinstance(args[0], int) and args[0] <= MAX_FOLD_CHARS \
                and (len(args) == 1 or len(args) == 2 and isinstance(args[1], str) and len(args[1]) == 1):
            return getattr(base, attr)(*args)
        if attr in ("removeprefix", "removesuffix") and len(args) == 1 and isinstance(args[0], str):
            return getattr(base, attr)(args[0])
        if attr == "replace" and len(args) == 2 and all(isinstance(a, str) for a in args) and args[0]:
            if len(base) * max(len(args[1]), 1) <= MAX_FOLD_CHARS:
                return base.replace(args[0], args[1])
        return None
