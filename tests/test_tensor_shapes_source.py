"""quantlint/facts/tensor_shapes.py against the llama.cpp source it was written from.

The llama-cpp-python 0.3.36 sdist (llama.cpp 0c1e57098, fetched once by fixtures/llama_sdist.py);
this test reads src/models/<arch>.cpp and
src/llama-arch.cpp from it (skipped when absent), collects every `create_tensor(tn(LLM_TENSOR_X,
"suffix", i), {dims}, ...)`, `create_tensor_qkv` and `create_tensor_gate_up_exps` call, and checks
that each tensor of the table is one llama.cpp creates, with dimensions that are equal as
formulas: both sides evaluated over the same hyper-parameters, several random assignments.
"""

from __future__ import annotations

import random
import re
import tarfile
from pathlib import Path

import pytest

from quantlint.facts.tensor_shapes import TENSOR_SHAPES
from quantlint.shapes import compile_expr
from fixtures.llama_sdist import SdistUnavailable, read_llama_files, sdist_path

SOURCE_FILE = {"llama": "llama.cpp", "mistral3": "mistral3.cpp", "qwen2": "qwen2.cpp", "qwen2moe": "qwen2moe.cpp",
               "qwen3": "qwen3.cpp", "qwen3moe": "qwen3moe.cpp", "gemma2": "gemma2.cpp", "gemma3": "gemma3.cpp",
               "phi3": "phi3.cpp", "deepseek2": "deepseek2.cpp", "gpt-oss": "openai-moe.cpp"}

# Local names of the C++ sources, as expressions over the table's variables.
ALIASES = {
    "q_lora_rank": "n_lora_q", "kv_lora_rank": "n_lora_kv", "n_embd_head_qk_rope": "n_rot",
    "n_embd_head_qk_nope": "(n_embd_head_k_mla - n_rot)",
}
BASE = ("n_embd", "n_head", "n_head_kv", "n_embd_head_k", "n_embd_head_v", "n_rot", "n_ff", "n_expert", "n_ff_exp",
        "n_ff_shexp", "n_expert_shared", "n_lora_q", "n_lora_kv", "n_embd_head_k_mla", "n_embd_head_v_mla")

CALL = re.compile(r'create_tensor\(tn\((LLM_TENSOR_\w+),\s*"(\w+)"(?:,\s*\w+)?\),\s*\{([^}]*)\}')
QKV = re.compile(r"create_tensor_qkv\(layer,\s*i,\s*([^,]+),\s*([^,]+),\s*([^,]+),\s*([^,]+),")
GATE_UP = re.compile(r"create_tensor_gate_up_exps\(layer,\s*i,\s*([^,]+),\s*([^,]+),\s*([^,]+),")
NAME = re.compile(r'\{\s*(LLM_TENSOR_\w+),\s*"([^"]+)"\s*\}')


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    wanted = ["src/llama-arch.cpp"] + ["src/models/" + f for f in SOURCE_FILE.values()]
    try:
        found = read_llama_files(sdist_path(), wanted)
    except (SdistUnavailable, OSError, tarfile.TarError) as exc:
        pytest.skip(f"the llama.cpp sources cannot be had ({type(exc).__name__}: {exc})")
    if len(found) != len(wanted):
        pytest.skip("the sdist does not hold the expected llama.cpp sources")
    return {rel.removeprefix("src/"): data.decode() for rel, data in found.items()}


def _tensor_names(arch_cpp: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for enum, name in NAME.findall(arch_cpp):
        names.setdefault(enum, name.replace("%d", "{i}"))
    return names


def _c_expr(text: str) -> str:
    """A C++ dimension as a table expression: hparams.x -> x, x() -> x, '/' -> '//', aliases."""
    text = re.sub(r"hparams\.(\w+)\(\)", r"\1", text.replace("hparams.", "")).replace("/", "//").strip()
    return re.sub(r"[A-Za-z_]\w*", lambda m: ALIASES.get(m.group(0), m.group(0)), text)


def _created(body: str, names: dict[str, str]) -> dict[str, list[tuple[str, ...]]]:
    """tensor name -> every dimension list llama.cpp creates it with in this function."""
    out: dict[str, list[tuple[str, ...]]] = {}

    def add(enum: str, suffix: str, dims: list[str]) -> None:
        out.setdefault(f"{names[enum]}.{suffix}", []).append(tuple(dims))

    for enum, suffix, dims in CALL.findall(body):
        add(enum, suffix, ["*" if d.strip() in ("n_vocab",) else _c_expr(d) for d in dims.split(",")])
    for e, q, k, v in QKV.findall(body):
        e, q, k, v = (_c_expr(x) for x in (e, q, k, v))
        qkv = f"({q}) + ({k}) + ({v})"
        add("LLM_TENSOR_ATTN_QKV", "weight", [e, qkv])
        add("LLM_TENSOR_ATTN_QKV", "bias", [qkv])
        for enum, width in (("LLM_TENSOR_ATTN_Q", q), ("LLM_TENSOR_ATTN_K", k), ("LLM_TENSOR_ATTN_V", v)):
            add(enum, "weight", [e, width])
            add(enum, "bias", [width])
    for e, ff, n in GATE_UP.findall(body):
        e, ff, n = (_c_expr(x) for x in (e, ff, n))
        add("LLM_TENSOR_FFN_GATE_UP_EXPS", "weight", [e, f"({ff}) * 2", n])
        add("LLM_TENSOR_FFN_GATE_EXPS", "weight", [e, ff, n])
        add("LLM_TENSOR_FFN_UP_EXPS", "weight", [e, ff, n])
    return out


def _envs(n: int = 4) -> list[dict[str, int]]:
    rng = random.Random(906)
    envs = []
    for _ in range(n):
        env = {name: rng.randrange(2, 5000) for name in BASE}
        env["n_embd_k_gqa"] = env["n_embd_head_k"] * env["n_head_kv"]
        env["n_embd_v_gqa"] = env["n_embd_gqa"] = env["n_embd_head_v"] * env["n_head_kv"]
        envs.append(env)
    return envs


def _same(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if (x == "*") != (y == "*"):
            return False
        if x != "*" and any(compile_expr(x)[0](env) != compile_expr(y)[0](env) for env in _envs()):
            return False
    return True


@pytest.mark.parametrize("arch", sorted(TENSOR_SHAPES))
def test_table_matches_llama_cpp_source(sources, arch):
    body = sources["models/" + SOURCE_FILE[arch]]
    body = body[body.index("::load_arch_tensors"):]
    created = _created(body, _tensor_names(sources["llama-arch.cpp"]))
    assert created, arch
    for expect in TENSOR_SHAPES[arch]:
        options = created.get(expect.name)
        assert options, f"{arch}: llama.cpp never creates {expect.name}"
        assert any(_same(expect.dims, dims) for dims in options), (arch, expect.name, expect.dims, options)


def test_aliases_and_parser_agree_on_a_known_call():
    # deepseek2's kv_b: {kv_lora_rank, n_head * (n_embd_head_qk_nope + n_embd_head_v_mla)}
    dims = tuple(_c_expr(d) for d in "kv_lora_rank, n_head * (n_embd_head_qk_nope + n_embd_head_v_mla)".split(","))
    assert _same(dims, ("n_lora_kv", "n_head * (n_embd_head_k_mla - n_rot + n_embd_head_v_mla)"))
    assert not _same(dims, ("n_lora_kv", "n_head * (n_embd_head_k_mla + n_embd_head_v_mla)"))
