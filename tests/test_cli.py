"""The CLI as users run it: exit codes, JSON contract, rules and explain, the first rules."""

from __future__ import annotations

import json
import os
import struct
import time

import pytest

from tests.conftest import ROOT, codes, lint_json, run_cli

EXAMPLES = ROOT / "fixtures" / "examples"


def test_json_contract_shape(make_gguf):
    path = make_gguf("Llama-Q4_K_M.gguf", "Q4_K_M")
    rc, doc = lint_json(str(path))
    assert rc == 0
    assert set(doc) == {"version", "targets", "summary"}
    target = doc["targets"][0]
    assert {"target", "format", "model", "findings"} <= set(target)
    assert target["target"] == str(path) and target["format"] == "gguf"
    model = target["model"]
    for key in ("format", "architecture", "quant", "bits_per_weight", "moe", "calibration", "parameters", "context_length"):
        assert key in model
    assert doc["summary"]["targets"] == 1 and doc["summary"]["error"] == 0


@pytest.mark.parametrize("ftype, expected", [
    ("Q3_K_M", "warning"), ("Q3_K_S", "warning"), ("Q2_K", "error"), ("IQ2_XXS", "error"),
    ("Q4_K_M", None), ("Q5_K_M", None), ("Q8_0", None), ("Q4_K_S", "info"),
])
def test_ql101_severity_by_tier(make_gguf, ftype, expected):
    path = make_gguf(f"m-{ftype}.gguf", ftype, imatrix={"file": "imatrix.dat", "entries_count": 10})
    rc, doc = lint_json(str(path))
    findings = [f for f in doc["targets"][0]["findings"] if f["code"] == "QL101"]
    if expected is None:
        assert findings == []
    else:
        assert [f["severity"] for f in findings] == [expected]
        assert "Q4_K_M" in findings[0]["message"]  # the floor is named
        assert findings[0]["hint"]
    assert rc == (1 if expected == "error" else 0)


def test_fail_on_warning_makes_q3_fail(make_gguf):
    path = make_gguf("m.gguf", "Q3_K_M")
    assert run_cli(str(path)).returncode == 0
    assert run_cli("--fail-on", "warning", str(path)).returncode == 1
    assert run_cli("--exit-zero", "--fail-on", "warning", str(path)).returncode == 0


def test_floor_option_and_profile(make_gguf):
    path = make_gguf("m.gguf", "Q4_K_M")
    _, doc = lint_json("--floor", "Q5_K_M", str(path))
    assert "QL101" in codes(doc)
    assert "Q5_K_M" in doc["targets"][0]["findings"][0]["message"]
    _, doc = lint_json("--profile", "high-stakes", str(path))
    assert "QL101" in codes(doc)


def test_usage_errors_exit_2(make_gguf):
    path = make_gguf("m.gguf")
    proc = run_cli("--select", "QL1O1", str(path))
    assert proc.returncode == 2 and "QL1O1" in proc.stderr and "Traceback" not in proc.stderr
    assert run_cli("--floor", "Q9_Z", str(path)).returncode == 2
    assert run_cli("--no-such-option", str(path)).returncode == 2


def test_directory_is_searched_and_each_target_summarised():
    proc = run_cli(str(EXAMPLES))
    assert proc.returncode == 1
    out = proc.stdout
    assert "tiny-llama-instruct-Q4_K_M.gguf" in out and "QL101" in out and "QL903" in out
    assert "Found" in out and "3 targets" in out


def test_json_lines_one_object_per_target():
    proc = run_cli("--output-format", "json-lines", str(EXAMPLES))
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 3
    assert {line["format"] for line in lines} == {"gguf", "lfs-pointer"}


def test_rules_and_explain():
    proc = run_cli("rules")
    assert proc.returncode == 0
    for code in ("QL101", "QL901", "QL902", "QL903", "QL905"):
        assert code in proc.stdout
    proc = run_cli("explain", "QL101")
    assert proc.returncode == 0
    for section in ("## What it does", "## Why is this bad?", "## Example", "## How to fix"):
        assert section in proc.stdout
    assert "+0.6569" in proc.stdout  # the Q3_K_M figure it rests on
    assert run_cli("explain", "tier-below-floor").stdout == run_cli("explain", "QL101").stdout
    assert run_cli("explain", "QL999").returncode == 2


def test_every_rule_documents_itself():
    from quantlint.engine import DOC_SECTIONS, load_registry

    for rule in load_registry().sorted():
        for section in DOC_SECTIONS:
            assert section in rule.doc, f"{rule.code} lacks {section}"


def test_inspect_shows_metadata_mix_and_bpw(make_gguf):
    path = make_gguf("m.gguf", "Q4_K_M", name="Inspect Me")
    proc = run_cli("inspect", str(path))
    assert proc.returncode == 0
    assert "Inspect Me" in proc.stdout and "Q4_K" in proc.stdout and "Q6_K" in proc.stdout
    assert "bits per weight" in proc.stdout and "general.architecture" in proc.stdout


def test_missing_path_is_a_clear_error():
    proc = run_cli("/nonexistent/model.gguf")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout


def test_hostile_header_through_the_cli(tmp_path):
    path = tmp_path / "evil.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 12) + b"general.name"
                     + struct.pack("<IQ", 8, 2**62) + b"\0" * 64)
    rc, doc = lint_json(str(path))
    assert rc == 1
    finding = doc["targets"][0]["findings"][0]
    assert finding["code"] == "QL902" and finding["offset"] == 48  # the length field of general.name's value


# -- the real Gemma file ---------------------------------------------------------------------
@pytest.mark.real
def test_real_gemma_is_clean(gemma):
    rc, doc = lint_json(str(gemma))
    assert rc == 0
    target = doc["targets"][0]
    model = target["model"]
    assert (target["format"], model["architecture"], model["quant"]) == ("gguf", "gemma3", "Q4_K_M")
    assert round(model["bits_per_weight"], 2) == 5.45 and round(model["bits_per_weight_file"], 2) == 7.36
    assert not [c for c in codes(doc) if c == "QL101" or c.startswith("QL9")]


@pytest.mark.real
def test_real_gemma_cut_in_half_is_truncated(gemma, tmp_path):
    half = tmp_path / "half.gguf"
    with open(gemma, "rb") as src, open(half, "wb") as dst:
        dst.write(src.read(gemma.stat().st_size // 2))
    rc, doc = lint_json(str(half))
    assert rc == 1
    ql901 = [f for f in doc["targets"][0]["findings"] if f["code"] == "QL901"]
    assert len(ql901) == 1
    assert "253,113,024" in ql901[0]["message"] and "126,556,512" in ql901[0]["message"]


@pytest.mark.real
def test_real_gemma_cut_inside_the_vocab(gemma, tmp_path):
    cut = tmp_path / "cut.gguf"
    with open(gemma, "rb") as src:
        cut.write_bytes(src.read(3_000_000))
    proc = run_cli("--output-format", "json", str(cut))
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert set(codes(doc)) & {"QL901", "QL902"}


@pytest.mark.real
def test_real_gemma_lfs_pointer(gemma, tmp_path):
    pointer = tmp_path / gemma.name
    pointer.write_text("version https://git-lfs.github.com/spec/v1\n"
                       "oid sha256:a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818\n"
                       f"size {gemma.stat().st_size}\n")
    rc, doc = lint_json(str(pointer))
    assert rc == 1 and codes(doc) == ["QL903"]
    assert "git lfs pull" in doc["targets"][0]["findings"][0]["hint"]


def test_exl2_just_under_its_target_is_at_the_floor():
    from quantlint.engine import Selection, load_registry, run_checks
    from quantlint.model import Model
    from quantlint.settings import LintSettings

    def ql101(bpw: float) -> list:
        model = Model(format="exl2", target="x", quant="EXL2 4.0 bpw (head 6)", bits_per_weight=bpw, declared_bits=4.0)
        return [f for f in run_checks(model, load_registry(), Selection(select=["QL101"]), LintSettings())]

    assert ql101(3.9995) == []  # what exllamav2 -b 4.0 measures (issue #20)
    assert [f.severity for f in ql101(3.5)] == ["warning"]
    assert [f.severity for f in ql101(2.5)] == ["error"]
