"""Conformance with llama.cpp's GGUF loader, using its own test's files as the oracle.

fixtures/testgguf.py ports the handcrafted-file generator of llama.cpp's tests/test-gguf.cpp
(@0c1e57098) and labels each file accept/reject exactly as that test does. quantlint must
agree: nothing QL901/QL902/QL905 on a file the loader accepts, and at least one of them, with
a byte offset, on a file it refuses. The test's "tensors" tier has no tensor data (it loads
those files header-only), so for an accepted file of that tier the one QL901 allowed is the
one saying the tensor data is missing, never one inside the header.

On top, truncation at every region: whole files cut at the start, the middle and one byte into
every part (magic, version, counts, each key and value, each tensor info, the padding, the
data) are refused by the loader and must be QL901 alone, naming where the file ends.

Where a C++ compiler is at hand, llama.cpp's loader itself is the oracle too
(fixtures/gguf_oracle.py builds ggml/src/gguf.cpp from the pinned sdist): it must give the
port's files the labels the port gives them, and quantlint must agree with it on seeded
random mutants (cuts, bit flips, overwritten counts and type ids) of real-layout files.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

from fixtures.testgguf import HANDCRAFTED, HandcraftedFile, handcrafted_file
from tests.conftest import lint_model_path

SEEDS = (0, 1, 20260704)
LOADER_CODES = {"QL901", "QL902", "QL905"}
# Where a refused file belongs (issue 15): too old/new a format or type -> QL905, cut -> QL901,
# bytes present and wrong -> QL902.
REJECT_CODE = {name: "QL902" for name in HANDCRAFTED}
REJECT_CODE.update({"HEADER_BAD_VERSION_1": "QL905", "HEADER_BAD_VERSION_FUTURE": "QL905",
                    "TENSORS_BAD_TYPE": "QL905", "DATA_NOT_ENOUGH_DATA": "QL901"})


def _lint(tmp_path: Path, data: bytes, name: str = "case.gguf"):
    path = tmp_path / name
    path.write_bytes(data)
    return lint_model_path(path)


def _loader_findings(findings) -> list:
    return [f for f in findings if f.code in LOADER_CODES]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(HANDCRAFTED))
def test_quantlint_agrees_with_the_loader(tmp_path, seed, name):
    case = handcrafted_file(seed, name)
    _, findings = _lint(tmp_path, case.data)
    found = _loader_findings(findings)
    shown = [(f.code, f.offset, f.message) for f in found]
    if case.accept:
        if case.header_only:
            # Loaded header-only by the C++ test: only the missing tensor data may be reported.
            found = [f for f in found if not (f.code == "QL901" and "expected" in f.data)]
        assert found == [], shown
    else:
        assert found, f"{name}: the loader refuses this file, quantlint found nothing"
        assert REJECT_CODE[name] in {f.code for f in found}, shown
        assert any(f.offset is not None for f in found if f.code == REJECT_CODE[name]), shown


def _cuts(case: HandcraftedFile, end: int) -> list[int]:
    starts = [offset for _, offset in case.regions] + [end]
    cuts = set()
    for a, b in zip(starts, starts[1:]):
        cuts |= {a, a + 1, (a + b) // 2}
    return sorted(c for c in cuts if c < end)


@pytest.mark.parametrize("name", ["DATA_SUCCESS", "DATA_CUSTOM_ALIGN"])
def test_a_cut_anywhere_is_ql901_alone(tmp_path, name):
    case = handcrafted_file(SEEDS[0], name)
    full, _ = lint_model_path(_write(tmp_path / "full.gguf", case.data))
    assert [p for p in full.problems if p.kind != "oddity"] == []  # random string bytes: QL907 at most
    for cut in _cuts(case, full.file.data_end):
        _, findings = _lint(tmp_path, case.data[:cut], f"cut{cut}.gguf")
        found = _loader_findings(findings)
        assert [f.code for f in found] == ["QL901"], (cut, [(f.code, f.message) for f in found])
        assert found[0].offset == cut and f"ends at byte {cut:,}" in found[0].message


def test_a_file_without_tensors_needs_no_padding(tmp_path):
    """gguf.cpp seeks past the padding only when there are tensors: a metadata-only file cut in
    its final padding still loads, and a cut inside its last value does not."""
    case = handcrafted_file(SEEDS[0], "KV_SUCCESS")
    padding = dict(case.regions)["padding"]
    for cut in range(padding, len(case.data)):
        _, findings = _lint(tmp_path, case.data[:cut], f"pad{cut}.gguf")
        assert _loader_findings(findings) == [], cut
    _, findings = _lint(tmp_path, case.data[:padding - 1], "short.gguf")
    assert [f.code for f in _loader_findings(findings)] == ["QL901"]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def oracle():
    from fixtures.gguf_oracle import OracleUnavailable, loader_accepts, oracle_path

    try:
        oracle_path()
    except OracleUnavailable as exc:
        pytest.skip(f"llama.cpp's loader could not be built here: {exc}")
    return loader_accepts


def test_the_port_labels_files_as_llama_cpps_loader_does(oracle, tmp_path):
    cases: dict[Path, HandcraftedFile] = {}
    for seed in SEEDS:
        for name in HANDCRAFTED:
            case = handcrafted_file(seed, name)
            cases[_write(tmp_path / f"{seed}-{name}.gguf", case.data)] = case
    verdicts = {**oracle([p for p, c in cases.items() if c.header_only], True),
                **oracle([p for p, c in cases.items() if not c.header_only], False)}
    assert {p.name: verdicts[p] for p in cases} == {p.name: c.accept for p, c in cases.items()}


def _mutant(rng: random.Random, base: bytes) -> bytes:
    data = bytearray(base)
    header_end = min(len(data), 8000)  # where counts, lengths and types live
    kind = rng.choice(["cut", "flip", "u64", "u32"])
    if kind == "cut":
        return bytes(data[:rng.randrange(len(data))])
    if kind == "flip":
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(header_end)] ^= 1 << rng.randrange(8)
    elif kind == "u64":
        pos = rng.randrange(header_end - 8)
        data[pos:pos + 8] = struct.pack("<Q", rng.choice([0, 1, 65, 1000, 2**40, 2**63, 2**64 - 1]))
    else:
        pos = rng.randrange(header_end - 4)
        data[pos:pos + 4] = struct.pack("<I", rng.choice([0, 1, 9, 13, 31, 43, 99, 2**31]))
    return bytes(data)


def test_quantlint_agrees_with_llama_cpps_loader_on_mutants(oracle, tmp_path):
    from fixtures.ggufgen import encode_header, model_spec

    header, data_size, _ = encode_header(model_spec("Q4_K_M", chat_template="{{ messages }}"))
    data_success = handcrafted_file(SEEDS[0], "DATA_SUCCESS")
    data_start = dict(data_success.regions)["data"]
    # The loader only counts tensor bytes, so zeros do: the files are then written sparse.
    bases = [data_success.data[:data_start] + bytes(len(data_success.data) - data_start),
             handcrafted_file(SEEDS[1], "KV_SUCCESS").data, header + bytes(data_size)]
    rng = random.Random(15)
    paths = [_write_sparse(tmp_path / f"m{i}.gguf", _mutant(rng, rng.choice(bases))) for i in range(400)]
    verdicts = oracle(paths, False)  # whole files: the loader reads the tensor data too
    assert set(verdicts.values()) >= {True, False}  # the mutants exercise both verdicts
    disagree = []
    for path in paths:
        _, findings = lint_model_path(path)
        found = sorted({f.code for f in _loader_findings(findings)})
        if bool(found) == bool(verdicts[path]):  # a finding on an accepted file, or none on a refused one
            disagree.append((path.name, verdicts[path], found))
    assert disagree == []


def _write_sparse(path: Path, data: bytes) -> Path:
    """Write `data`, leaving its trailing zeros as a hole (a 400-mutant run costs a few MB)."""
    body = data.rstrip(b"\0")
    with open(path, "wb") as f:
        f.write(body)
        f.truncate(len(data))
    return path
