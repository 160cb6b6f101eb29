"""Fact tables generated from llama.cpp's C sources stay equal to those sources.

The GGML type table is ggml's own (type_traits in ggml.c, block structs in ggml-common.h, from
llama.cpp 0c1e57098 as vendored in the llama-cpp-python 0.3.36 sdist), not gguf-py's copy.
The tests skip when the sdist cannot be had (fixtures/llama_sdist.py)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _generator():
    spec = importlib.util.spec_from_file_location("gen_ggml_types", ROOT / "scripts" / "gen_ggml_types.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_ggml_types"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def llama_sources() -> dict[str, bytes]:
    from fixtures.llama_sdist import SdistUnavailable, read_llama_files, sdist_path

    gen = _generator()
    try:
        files = read_llama_files(sdist_path(), [*gen.FILES, "ggml/include/ggml.h"])
    except SdistUnavailable as exc:
        pytest.skip(str(exc))
    if set(gen.FILES) - set(files):
        pytest.skip(f"the sdist lacks {sorted(set(gen.FILES) - set(files))}")
    return files


def test_generated_ggml_tables_match_ggmls_c_sources(llama_sources):
    from quantlint.facts import ggml_types

    tables = _generator().parse(llama_sources)
    assert ggml_types.GGML_TYPES == tables.types
    assert ggml_types.REMOVED_GGML_TYPES == tables.removed
    assert ggml_types.GGML_TYPE_COUNT == tables.type_count
    assert ggml_types.GGUF_VALUE_TYPES == tables.value_types
    assert ggml_types.LLAMA_FILE_TYPES == tables.file_types
    # The facts users meet: ggml's block_q8_1 is two fp16 + 32 int8; removed ids are refused.
    assert ggml_types.GGML_TYPES[9] == ("Q8_1", 32, 36)
    assert set(ggml_types.REMOVED_GGML_TYPES) == {4, 5, 31, 32, 33, 36, 37, 38}


def test_the_committed_file_is_what_the_generator_writes(llama_sources):
    gen = _generator()
    assert gen.render(gen.parse(llama_sources)) == (ROOT / "quantlint" / "facts" / "ggml_types.py").read_text()


def test_block_sizes_agree_with_a_c_compiler(llama_sources, tmp_path):
    """The static_assert expressions the generator evaluates, checked by compiling sizeof() itself."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    from quantlint.facts.ggml_types import GGML_TYPES

    gen = _generator()
    for rel, data in llama_sources.items():
        (tmp_path / rel.rsplit("/", 1)[-1]).write_bytes(data)
    traits = gen._traits(llama_sources["ggml/src/ggml.c"].decode())
    lines = [f'printf("{i} %zu %zu\\n", (size_t)({traits["GGML_TYPE_" + n]["blck_size"]}), '
             f'(size_t)({traits["GGML_TYPE_" + n]["type_size"]}));' for i, (n, _, _) in GGML_TYPES.items()]
    (tmp_path / "sizes.c").write_text('#define GGML_COMMON_DECL_C\n#include "ggml.h"\n#include "ggml-common.h"\n'
                                      "#include <stdio.h>\nint main(void) {\n" + "\n".join(lines) + "\nreturn 0; }\n")
    build = subprocess.run([compiler, "-I", str(tmp_path), str(tmp_path / "sizes.c"), "-o", str(tmp_path / "sizes")],
                           capture_output=True, text=True)
    if build.returncode:
        pytest.skip(f"could not compile against ggml-common.h: {build.stderr[:300]}")
    out = subprocess.run([str(tmp_path / "sizes")], capture_output=True, text=True, check=True).stdout
    compiled = {int(i): (int(b), int(s)) for i, b, s in (line.split() for line in out.splitlines())}
    assert compiled == {i: (b, s) for i, (_, b, s) in GGML_TYPES.items()}


def test_where_gguf_py_disagrees_with_ggml():
    """gguf-py's GGML_QUANT_SIZES is a hand-kept copy. Where it differs from ggml, ggml wins;
    this test records the differences: Q8_1 (gguf-py 40, ggml 36) and ids too new for it."""
    gguf_constants = pytest.importorskip("gguf.constants")
    from quantlint.facts.ggml_types import GGML_TYPES

    sizes = {t.value: (t.name, *gguf_constants.GGML_QUANT_SIZES[t]) for t in gguf_constants.GGMLQuantizationType}
    differ = {i for i in sizes if i in GGML_TYPES and sizes[i] != GGML_TYPES[i]}
    assert differ <= {9}, {i: (sizes[i], GGML_TYPES[i]) for i in differ}
    assert set(sizes) <= set(GGML_TYPES)  # gguf-py knows no type ggml does not
    if 9 in differ:
        assert sizes[9] == ("Q8_1", 32, 40) and GGML_TYPES[9] == ("Q8_1", 32, 36)


def test_every_file_type_has_a_tier():
    from quantlint.facts.ggml_types import LLAMA_FILE_TYPES
    from quantlint.facts.tiers import file_type_label, tier

    for value, name in LLAMA_FILE_TYPES.items():
        if name == "GUESSED":
            continue
        assert tier(file_type_label(value)) is not None, name
