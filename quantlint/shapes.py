"""Evaluate quantlint.facts.tensor_shapes against one Model's metadata: the shapes llama.cpp will ask for.

Two parts: a tiny evaluator for the table's dimension expressions (integers, names, + - * //,
parentheses and one comparison; nothing else parses, and `eval` is never used), and the
hyper-parameter environment llama.cpp's load_hparams would build from the header: each
variable's value and the GGUF keys it came from, so a finding can name the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from quantlint.facts.tensor_shapes import ARCH_DEFAULTS, HPARAMS, PER_LAYER_KEYS
from quantlint.model import Model

Env = dict[str, int | None]
Evaluator = Callable[[Env], int | None]

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|==|!=|<=|>=|[-+*()<>]))")
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot parse {text!r} at {pos}")
        out.append(m.group(0).strip())
        pos = m.end()
    return out


class _Parser:
    """expr := sum [cmp sum]; sum := prod (('+'|'-') prod)*; prod := atom (('*'|'//') atom)*."""

    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.names: list[str] = []

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Evaluator:
        left = self.sum()
        op = self.peek()
        if op in _COMPARE:
            self.take()
            right, compare = self.sum(), _COMPARE[op]
            left = _binary(left, right, lambda a, b: int(compare(a, b)))
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()!r}")
        return left

    def sum(self) -> Evaluator:
        node = self.prod()
        while self.peek() in ("+", "-"):
            op = self.take()
            node = _binary(node, self.prod(), (lambda a, b: a + b) if op == "+" else (lambda a, b: a - b))
        return node

    def prod(self) -> Evaluator:
        node = self.atom()
        while self.peek() in ("*", "//"):
            op = self.take()
            node = _binary(node, self.atom(), (lambda a, b: a * b) if op == "*" else (lambda a, b: a // b if b else None))
        return node

    def atom(self) -> Evaluator:
        tok = self.take()
        if tok == "(":
            node = self.sum()
            if self.take() != ")":
                raise ValueError("missing )")
            return node
        if tok.isdigit():
            value = int(tok)
            return lambda env: value
        self.names.append(tok)
        return lambda env: env.get(tok)


def _binary(left: Evaluator, right: Evaluator, op: Callable[[int, int], int | None]) -> Evaluator:
    def run(env: Env) -> int | None:
        a, b = left(env), right(env)
        return None if a is None or b is None else op(a, b)
    return run


@lru_cache(maxsize=None)
def compile_expr(text: str) -> tuple[Evaluator, tuple[str, ...]]:
    """(evaluator, the variable names it reads). An unknown variable evaluates to None."""
    parser = _Parser(text)
    return parser.parse(), tuple(dict.fromkeys(parser.names))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


@dataclass
class HParams:
    """The variables llama.cpp would compute, with the GGUF keys each one came from."""

    arch: str
    values: Env = field(default_factory=dict)
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)  # variable -> GGUF keys behind it
    arrays: dict[str, int] = field(default_factory=dict)  # per-layer array key -> element count
    raw: dict[str, Any] = field(default_factory=dict)  # key -> the header's value (layer 0 for arrays)

    layer_envs: dict[int, Env] = field(default_factory=dict, repr=False)

    def eval(self, text: str, i: int | None = None) -> int | None:
        """The value of a table expression; `i` is the layer, for the per-layer conditions."""
        fn, _ = compile_expr(text)
        if i is None:
            return fn(self.values)
        env = self.layer_envs.get(i)
        if env is None:
            env = self.layer_envs[i] = {**self.values, "i": i}
        return fn(env)

    def keys_of(self, text: str) -> tuple[str, ...]:
        _, names = compile_expr(text)
        out: dict[str, None] = {}
        for name in names:
            out.update(dict.fromkeys(self.keys.get(name, ())))
        return tuple(out)


def read_hparams(model: Model) -> HParams:
    """What load_hparams reads: per-layer arrays give layer 0 (LLAMA_LOAD_LOCALS), absent keys their default."""
    arch = model.architecture or ""
    hp = HParams(arch)
    defaults = ARCH_DEFAULTS.get(arch, {})
    for name, suffix, default in HPARAMS:
        key = f"{arch}.{suffix}" if suffix else None
        entry = model.metadata.get(key) if key else None
        if entry is not None:
            value = entry.value
            if entry.type_name == "ARRAY":
                if suffix in PER_LAYER_KEYS and entry.count is not None:
                    hp.arrays[key] = entry.count
                value = value[0] if isinstance(value, list) and value else None
            hp.values[name] = _int(value)
            hp.keys[name] = (key,)
            hp.raw[key] = hp.values[name]
            continue
        default = defaults.get(name, default)
        if default is None:
            hp.values[name] = None
            hp.keys[name] = (key,) if key else ()
            continue
        hp.values[name] = hp.eval(default)
        hp.keys[name] = hp.keys_of(default)
    return hp
