"""Regenerate quantlint/facts/ggml_types.py from llama.cpp's own C sources.

Type sizes come from ggml, not from gguf-py: gguf-py's GGML_QUANT_SIZES is a hand-kept copy and
has been wrong (it says Q8_1 is 40 bytes per 32 weights; ggml's block_q8_1 is two fp16 plus 32
int8 = 36). The sources read here, all from llama.cpp as vendored in the PyPI sdist
llama-cpp-python==0.3.36 (upstream commit 0c1e57098):

- ggml/include/ggml.h   enum ggml_type: ids, names, the ids marked removed, GGML_TYPE_COUNT
- ggml/src/ggml.c       type_traits[]: blck_size and type_size per id (0 for removed ids)
- ggml/src/ggml-common.h  #define QK* and static_assert(sizeof(block_*) == ...): bytes per block
- ggml/include/gguf.h   enum gguf_type: metadata value types
- include/llama.h       enum llama_ftype: general.file_type values

Usage: python scripts/gen_ggml_types.py [SDIST.tar.gz | LLAMA_CPP_DIR] > quantlint/facts/ggml_types.py
Without an argument the sdist is taken from the cache (fetched with pip when absent).
"""

from __future__ import annotations

import ast
import operator
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fixtures.llama_sdist import LLAMA_CPP_COMMIT, SDIST, read_llama_files, sdist_path  # noqa: E402

FILES = ("ggml/include/ggml.h", "ggml/src/ggml.c", "ggml/src/ggml-common.h", "ggml/include/gguf.h", "include/llama.h")
C_SIZES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4, "uint32_t": 4,
           "int64_t": 8, "uint64_t": 8, "float": 4, "double": 8, "ggml_half": 2, "ggml_half2": 4,
           "ggml_fp16_t": 2, "ggml_bf16_t": 2}


@dataclass(frozen=True)
class GGMLTables:
    types: dict[int, tuple[str, int, int]]  # id -> (name, block size, bytes per block)
    removed: dict[int, tuple[str, str]]  # id -> (name, ggml.c's type_name text)
    type_count: int
    value_types: dict[int, str]
    file_types: dict[int, str]


def _eval(expr: str, names: dict[str, int]) -> int:
    """Evaluate a C integer constant expression (+ - * / and parentheses; / truncates)."""
    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.floordiv}

    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            return _eval(str(names[node.id]), names) if isinstance(names[node.id], str) else names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            return ops[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"not a constant expression: {expr!r}")

    expr = re.sub(r"sizeof\(\s*(\w+)\s*\)", lambda m: f"__sizeof_{m.group(1)}", expr)
    expr = re.sub(r"\b(\d+)[uUlL]+\b", r"\1", expr)
    return walk(ast.parse(expr.strip(), mode="eval").body)


def _enum(text: str, enum: str, prefix: str) -> tuple[dict[int, str], dict[int, str]]:
    """(live, commented-out) members of a C enum: value -> name without the prefix."""
    body = re.search(r"enum\s+" + enum + r"\s*\{(.*?)\};", text, re.S).group(1)
    live: dict[int, str] = {}
    gone: dict[int, str] = {}
    for line in body.splitlines():
        m = re.match(r"\s*(//\s*)?" + prefix + r"(\w+)\s*=\s*(\d+)", line)
        if m:
            (gone if m.group(1) else live)[int(m.group(3))] = m.group(2)
    return live, gone


def _block_sizes(common: str) -> tuple[dict[str, int], dict[str, int]]:
    """(#define constants, sizeof(block_*)) from ggml-common.h's static_asserts."""
    names: dict = {}
    for m in re.finditer(r"^#define\s+(\w+)\s+([^\n]*?)\s*(?://.*)?$", common, re.M):
        value = m.group(2).strip()
        if value and re.fullmatch(r"[\w\s()+\-*/]+", value) and not value.endswith("f"):
            names[m.group(1)] = value
    names.update({f"__sizeof_{k}": v for k, v in C_SIZES.items()})
    blocks: dict[str, int] = {}
    for m in re.finditer(r"static_assert\(sizeof\((block_\w+)\)\s*==\s*(.*?),\s*\"", common, re.S):
        blocks[m.group(1)] = _eval(m.group(2), names)
    names.update({f"__sizeof_{k}": v for k, v in blocks.items()})
    return names, blocks


def _traits(ggml_c: str) -> dict[str, dict[str, str]]:
    """type_traits[] entries: "[GGML_TYPE_X]" or "[31]" -> {field: expression}."""
    head = "type_traits[GGML_TYPE_COUNT] = {"
    body = ggml_c[ggml_c.index(head) + len(head):]
    body = body[:body.index("\n};")]
    out: dict[str, dict[str, str]] = {}
    for m in re.finditer(r"\[(\w+)\]\s*=\s*\{(.*?)\n\s*\},", body, re.S):
        fields = dict(re.findall(r"\.(\w+)\s*=\s*(\"[^\"]*\"|[^,\n]+),", m.group(2)))
        out[m.group(1)] = fields
    return out


def parse(files: dict[str, bytes]) -> GGMLTables:
    text = {k: v.decode("utf-8") for k, v in files.items()}
    live, gone = _enum(text["ggml/include/ggml.h"], "ggml_type", "GGML_TYPE_")
    count = next(k for k, v in live.items() if v == "COUNT")
    del live[count]
    names, _ = _block_sizes(text["ggml/src/ggml-common.h"])
    traits = _traits(text["ggml/src/ggml.c"])
    types: dict[int, tuple[str, int, int]] = {}
    for type_id, name in sorted(live.items()):
        t = traits[f"GGML_TYPE_{name}"]
        types[type_id] = (name, _eval(t["blck_size"], names), _eval(t["type_size"], names))
    removed: dict[int, tuple[str, str]] = {}
    for type_id, name in sorted(gone.items()):
        t = traits[str(type_id)]
        assert _eval(t["blck_size"], names) == 0 and _eval(t["type_size"], names) == 0, name
        removed[type_id] = (name, t["type_name"].strip().strip('"'))
    value_live, _ = _enum(text["ggml/include/gguf.h"], "gguf_type", "GGUF_TYPE_")
    ftype_live, _ = _enum(text["include/llama.h"], "llama_ftype", "LLAMA_FTYPE_")
    return GGMLTables(types, removed, count, value_live, ftype_live)


def load(arg: str | None = None) -> GGMLTables:
    if arg and Path(arg).is_dir():
        return parse({f: (Path(arg) / f).read_bytes() for f in FILES})
    return parse(read_llama_files(Path(arg) if arg else sdist_path(), list(FILES)))


def render(t: GGMLTables) -> str:
    lines = [
        '"""GGML tensor types, GGUF value types and llama.cpp file types.',
        "",
        f"GENERATED by scripts/gen_ggml_types.py from llama.cpp {LLAMA_CPP_COMMIT} as vendored in the PyPI",
        f"sdist {SDIST}: ggml/include/ggml.h (enum ggml_type), ggml/src/ggml.c (type_traits),",
        "ggml/src/ggml-common.h (block structs), ggml/include/gguf.h (enum gguf_type) and",
        "include/llama.h (enum llama_ftype). Do not edit by hand; tests/test_facts.py checks this",
        "file against those sources. Sizes are ggml's, not gguf-py's (gguf-py 0.19.0 says Q8_1 is",
        '40 bytes per block; ggml\'s block_q8_1 is 36)."""',
        "",
        "# id -> (name, block size in weights, bytes per block)",
        "GGML_TYPES: dict[int, tuple[str, int, int]] = {",
        *(f"    {i}: ({n!r}, {b}, {s})," for i, (n, b, s) in t.types.items()),
        "}",
        "",
        "# ids llama.cpp once used and removed: block and type size 0 in ggml.c, so its loader",
        "# refuses any tensor of these types. id -> (name, ggml.c's type_name for it)",
        "REMOVED_GGML_TYPES: dict[int, tuple[str, str]] = {",
        *(f"    {i}: ({n!r}, {why!r})," for i, (n, why) in t.removed.items()),
        "}",
        "",
        "# ids at or past this are unknown to this llama.cpp (newer types)",
        f"GGML_TYPE_COUNT = {t.type_count}",
        "",
        "# id -> name (GGUF metadata value types)",
        "GGUF_VALUE_TYPES: dict[int, str] = {",
        *(f"    {i}: {n!r}," for i, n in t.value_types.items()),
        "}",
        "",
        "# general.file_type value -> llama_ftype name",
        "LLAMA_FILE_TYPES: dict[int, str] = {",
        *(f"    {i}: {n!r}," for i, n in t.file_types.items()),
        "}",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    sys.stdout.write(render(load(sys.argv[1] if len(sys.argv) > 1 else None)))


if __name__ == "__main__":
    main()
