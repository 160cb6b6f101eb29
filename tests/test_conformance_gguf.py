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
"""

from __future__ import annotations

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
        assert any(f.offset is not None for f in found if f.code == REJECT_CODE[name]), shown
        assert REJECT_CODE[name] in {f.code for f in found}, shown


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
