"""Output formats for tools: SARIF 2.1.0, GitHub workflow commands, statistics, streams, color."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import SHARED, lint_json, run_cli

SARIF_SCHEMA = SHARED / "reference" / "sarif-schema-2.1.0.json"
POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 4683073184\n"
ANSI = "\x1b["


@pytest.fixture
def models(tmp_path, make_gguf) -> Path:
    """A folder with several findings: a Q2_K (QL101), a Q3_K_M (QL101), an LFS pointer (QL903),
    a truncated file (QL901) and a clean Q4_K_M."""
    make_gguf("clean-Q4_K_M.gguf", "Q4_K_M")
    make_gguf("tiny-Q2_K.gguf", "Q2_K")
    make_gguf("tiny-Q3_K_M.gguf", "Q3_K_M")
    whole = make_gguf("cut-Q4_K_M.gguf", "Q4_K_M").read_bytes()
    (tmp_path / "cut-Q4_K_M.gguf").write_bytes(whole[: len(whole) * 3 // 4])
    (tmp_path / "pointer-Q8_0.gguf").write_text(POINTER, encoding="utf-8")
    return tmp_path


def sarif_of(folder: Path, *extra: str) -> dict:
    proc = run_cli("--output-format", "sarif", *extra, ".", cwd=folder)
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)


# -- SARIF -------------------------------------------------------------------------------------
def test_sarif_validates_against_the_2_1_0_schema(models):
    document = sarif_of(models)
    results = document["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"QL101", "QL901", "QL903"}
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"{SARIF_SCHEMA} is absent: structure checked, schema validation skipped")
    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_sarif_rules_carry_their_docs_and_help_uri(models):
    run = sarif_of(models)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    by_id = {r["id"]: r for r in rules}
    ql101 = by_id["QL101"]
    assert ql101["name"] == "TierBelowFloor" and ql101["properties"]["name"] == "tier-below-floor"
    assert ql101["shortDescription"]["text"].startswith("The quant tier is below the floor")
    assert "llama.cpp's quality order" in ql101["fullDescription"]["text"]  # the "What it does" section
    assert "## Why is this bad?" in ql101["help"]["text"] and ql101["help"]["markdown"].startswith("# tier-below-floor (QL101)")
    assert ql101["helpUri"].endswith("checks/ql101_tier_below_floor.py")
    for result in run["results"]:  # every result points at its rule's descriptor
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_results_locate_the_key_or_tensor_in_the_file(models):
    results = sarif_of(models)["runs"][0]["results"]
    q2 = next(r for r in results if r["ruleId"] == "QL101" and "Q2_K" in r["message"]["text"])
    location = q2["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "tiny-Q2_K.gguf"  # relative to the CWD
    assert location["physicalLocation"]["region"] == {"startLine": 1}  # GitHub drops results without a line
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "general.file_type"
    assert q2["level"] == "error" and "How to fix" in q2["message"]["text"]
    cut = next(r for r in results if r["ruleId"] == "QL901")
    assert isinstance(cut["properties"]["byteOffset"], int)  # the binary position, outside the text region


def test_sarif_fingerprints_are_stable_and_distinct(models, tmp_path_factory):
    first = sarif_of(models)["runs"][0]["results"]
    second = sarif_of(models)["runs"][0]["results"]
    prints = [r["partialFingerprints"]["quantlintFingerprint/v1"] for r in first]
    assert prints == [r["partialFingerprints"]["quantlintFingerprint/v1"] for r in second]
    assert len(set(prints)) == len(prints)
    # However the file is named on the command line, the alert keeps its identity.
    spellings = [".", "./pointer-Q8_0.gguf", str(models / "pointer-Q8_0.gguf")]
    ql903 = set()
    for spelling in spellings:
        proc = run_cli("--output-format", "sarif", "--select", "QL903", spelling, cwd=models)
        ql903 |= {r["partialFingerprints"]["quantlintFingerprint/v1"] for r in json.loads(proc.stdout)["runs"][0]["results"]}
    assert len(ql903) == 1


def test_sarif_info_maps_to_note(tmp_path, make_gguf):
    make_gguf("tiny-Q4_K_S.gguf", "Q4_K_S")  # the floor's bit class but a weaker mix: info
    (result,) = sarif_of(tmp_path, "--select", "QL101", "--fail-on", "info")["runs"][0]["results"]
    assert result["level"] == "note" and result["properties"]["severity"] == "info"


def test_sarif_rule_names_are_pascal_case(models):
    rules = sarif_of(models)["runs"][0]["tool"]["driver"]["rules"]
    assert len(rules) > 10
    for rule in rules:  # the multitool's SARIF2012; the kebab name users type stays
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", rule["name"]), rule["name"]
        assert rule["name"].lower() == rule["properties"]["name"].replace("-", "")


def _uris(document: dict) -> list[dict]:
    return [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in document["runs"][0]["results"]]


def test_sarif_uris_are_relative_to_the_sarif_root(models, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    q2 = models / "tiny-Q2_K.gguf"
    # Run from another folder, naming the file by its absolute path: --sarif-root decides.
    proc = run_cli("--output-format", "sarif", "--select", "QL101", "--sarif-root", str(models), str(q2), cwd=elsewhere)
    document = json.loads(proc.stdout)
    assert _uris(document) == [{"uri": "tiny-Q2_K.gguf", "uriBaseId": "%SRCROOT%"}]
    assert document["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == models.resolve().as_uri() + "/"
    # Named relatively from a subfolder: relative to the working directory, `..` and all.
    sub = models / "sub"
    sub.mkdir()
    proc = run_cli("--output-format", "sarif", "--select", "QL101", "../tiny-Q2_K.gguf", cwd=sub)
    assert _uris(json.loads(proc.stdout)) == [{"uri": "../tiny-Q2_K.gguf", "uriBaseId": "%SRCROOT%"}]
    # Only an absolute path outside the root stays absolute (and then needs no base).
    proc = run_cli("--output-format", "sarif", "--select", "QL101", str(q2), cwd=elsewhere)
    assert _uris(json.loads(proc.stdout)) == [{"uri": q2.resolve().as_uri()}]
    bad = run_cli("--output-format", "sarif", "--sarif-root", str(elsewhere / "nope"), str(q2))
    assert bad.returncode == 2 and "--sarif-root" in bad.stderr


@pytest.fixture
def many_faults(tmp_path) -> Path:
    """A GGUF whose header repeats one metadata key 30 times: 29 duplicate-key faults."""
    from fixtures.ggufgen import model_spec, write_gguf

    spec = model_spec("Q4_K_M")
    for n in range(30):
        spec.add("general.dup", f"copy {n}")
    return write_gguf(tmp_path / "dups-Q4_K_M.gguf", spec)


def test_unlisted_header_faults_are_counted_on_the_last_listed_fault(many_faults):
    _, document = lint_json(str(many_faults), "--select", "QL902")
    findings = document["targets"][0]["findings"]
    assert len(findings) == 20 == document["summary"]["error"]  # every finding is a fault
    assert all("duplicate metadata key" in f["message"] for f in findings)
    (last,) = [f for f in findings if f.get("data", {}).get("unlisted_faults")]
    assert last["data"]["unlisted_faults"] == 9 and last["message"].endswith("; 9 more header faults not listed")
    results = json.loads(run_cli("--output-format", "sarif", "--select", "QL902", str(many_faults)).stdout)["runs"][0]["results"]
    assert len(results) == 20 and sum("9 more header faults" in r["message"]["text"] for r in results) == 1


# -- Microsoft's SARIF multitool -----------------------------------------------------------------
def _multitool() -> Path:
    """@microsoft/sarif-multitool's self-contained binary, installed once with npm into
    ~/.cache/quantlint/sarif-multitool (or $QUANTLINT_CACHE/...); skip when npm cannot get it."""
    import os
    import platform
    import shutil
    import subprocess

    base = Path(os.environ.get("QUANTLINT_CACHE") or Path.home() / ".cache" / "quantlint") / "sarif-multitool"
    system = {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}.get(platform.system(), "")
    binary = base / "node_modules" / "@microsoft" / f"sarif-multitool-{system}" / (
        "Sarif.Multitool.exe" if system == "win32" else "Sarif.Multitool")
    if not binary.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed: SARIF multitool validation skipped")
        base.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run([npm, "install", "--prefix", str(base), "--no-audit", "--no-fund", "@microsoft/sarif-multitool"],
                           capture_output=True, timeout=600, check=True)
        except (subprocess.SubprocessError, OSError) as exc:
            pytest.skip(f"npm could not install @microsoft/sarif-multitool: {exc}")
        if not binary.is_file():
            pytest.skip(f"@microsoft/sarif-multitool has no binary for {platform.system()}")
    if not os.access(binary, os.X_OK):  # its postinstall (chmod u+x) may not have run
        binary.chmod(binary.stat().st_mode | 0o100)
    return binary


def _multitool_findings(sarif: Path, levels: str) -> list[dict]:
    import subprocess

    log = sarif.with_suffix(".validation.sarif")
    proc = subprocess.run([str(_multitool()), "validate", str(sarif), "--output", str(log), "--log", "ForceOverwrite",
                           *(["--level", levels] if levels else [])], capture_output=True, text=True, timeout=300)
    assert log.is_file(), proc.stdout + proc.stderr
    results = json.loads(log.read_text(encoding="utf-8-sig"))["runs"][0].get("results") or []
    return [{"rule": r["ruleId"], "level": r.get("level", "warning"), "where": r["message"].get("arguments")} for r in results]


def test_the_sarif_multitool_finds_no_error_or_warning(models, many_faults, tmp_path_factory):
    assert many_faults.parent == models  # both in tmp_path: the folder has a truncated summary too
    out = tmp_path_factory.mktemp("sarif") / "quantlint.sarif"
    proc = run_cli("--output-format", "sarif", "-o", str(out), ".", cwd=models)
    assert proc.returncode == 1 and out.is_file(), proc.stderr
    assert _multitool_findings(out, "") == []  # the default level: errors and warnings
    # At note level, nothing about rule names (SARIF2012) or absolute URIs (SARIF2016) either.
    notes = _multitool_findings(out, "Error;Warning;Note")
    assert not [n for n in notes if n["rule"] in ("SARIF2012", "SARIF2016")], notes


# -- GitHub workflow commands ------------------------------------------------------------------
COMMAND = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<message>.*)$")


def test_github_lines_follow_the_workflow_command_syntax(models):
    proc = run_cli("--output-format", "github", ".", cwd=models)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines and all(COMMAND.match(line) for line in lines), proc.stdout
    levels = [COMMAND.match(line).group(1) for line in lines]
    assert levels == sorted(levels, key=["error", "warning", "notice"].index)  # most severe first
    props = dict(p.split("=", 1) for p in COMMAND.match(lines[0]).group("props").split(","))
    assert set(props) == {"file", "line", "title"} and props["line"] == "1"


def test_github_escapes_commas_colons_and_newlines(tmp_path, make_gguf):
    make_gguf("odd, name:v2-Q2_K.gguf", "Q2_K")
    proc = run_cli("--output-format", "github", "--select", "QL101", ".", cwd=tmp_path)
    (line,) = proc.stdout.splitlines()  # the hint's newline did not split the command
    match = COMMAND.match(line)
    assert "file=odd%2C name%3Av2-Q2_K.gguf," in match.group("props")
    assert "title=QL101 tier-below-floor @ general.file_type" in match.group("props")
    assert "%0AHow to fix:" in match.group("message")
    assert match.group("message").startswith("odd, name:v2-Q2_K.gguf: Q2_K")  # message keeps , and :


def test_github_escaping_rules():
    from quantlint.report.github import command, escape_data, escape_property

    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    assert command("notice", {"file": "x:y.gguf"}, "m") == "::notice file=x%3Ay.gguf::m"


# -- statistics, -o, streams, color --------------------------------------------------------------
def test_statistics_one_line_per_rule(models):
    proc = run_cli("--statistics", ".", cwd=models)
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert ["2", "QL101", "tier-below-floor"] in rows and ["1", "QL903", "lfs-pointer"] in rows
    assert all(len(r) == 3 and r[0].isdigit() for r in rows)
    counts = [int(r[0]) for r in rows]
    assert counts == sorted(counts, reverse=True)
    as_json = json.loads(run_cli("--statistics", "--output-format", "json", ".", cwd=models).stdout)
    assert {"code": "QL101", "name": "tier-below-floor", "count": 2} in as_json


def test_output_file_gets_the_report_and_stdout_stays_empty(models):
    proc = run_cli("--output-format", "sarif", "-o", "report.sarif", ".", cwd=models)
    assert proc.returncode == 1 and proc.stdout == ""
    assert json.loads((models / "report.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"


@pytest.mark.parametrize("fmt", ["json", "json-lines", "sarif", "github"])
@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"NO_COLOR": "", "FORCE_COLOR": "1"}])
def test_machine_formats_never_carry_ansi_escapes(models, fmt, env):
    proc = run_cli("--output-format", fmt, ".", cwd=models, env=env)  # stdout is a pipe, not a TTY
    assert proc.stdout and ANSI not in proc.stdout
    if fmt in ("json", "sarif"):
        json.loads(proc.stdout)  # pure JSON: nothing else on stdout
    if fmt == "json-lines":
        assert all(json.loads(line) for line in proc.stdout.splitlines())


def test_color_flags_and_environment_for_text_output(models):
    plain = run_cli(".", cwd=models, env={"NO_COLOR": "1"})
    forced = run_cli(".", cwd=models, env={"NO_COLOR": "", "FORCE_COLOR": "1"})
    always = run_cli("--color", "always", ".", cwd=models, env={"NO_COLOR": "1"})
    never = run_cli("--color", "never", ".", cwd=models, env={"NO_COLOR": "", "FORCE_COLOR": "1"})
    assert ANSI not in plain.stdout and ANSI not in never.stdout
    assert ANSI in forced.stdout and ANSI in always.stdout  # an explicit flag beats the environment


# -- text for pipes and terminals ----------------------------------------------------------------
def _findings(folder: Path) -> list[dict]:
    proc = run_cli("--output-format", "json", ".", cwd=folder)
    return [f for t in json.loads(proc.stdout)["targets"] for f in t["findings"]]


@pytest.mark.parametrize("env", [{}, {"COLUMNS": "40"}])
def test_piped_full_output_never_breaks_a_message(models, env):
    findings = _findings(models)
    assert any(len(f["message"]) > 100 for f in findings)  # an 80-column wrap would break these
    proc = run_cli(".", cwd=models, env=env)  # stdout is a pipe: CI logs, `| less`, pre-commit
    lines = proc.stdout.splitlines()
    for f in findings:
        assert "      " + f["message"] in lines, f["message"]
        if f["hint"]:
            assert "      fix: " + f["hint"] in lines, f["hint"]
    assert not [line for line in lines if line != line.rstrip()]  # no padding after the text


def test_width_wraps_with_a_hanging_indent(models):
    proc = run_cli("--width", "60", ".", cwd=models)
    lines = proc.stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= 60
    long = next(f["message"] for f in _findings(models) if len(f["message"]) > 100)
    at = next(i for i, line in enumerate(lines) if line.startswith("      ") and long.startswith(line.strip()))
    assert lines[at + 1].startswith("      ") and not lines[at + 1].startswith("       ")  # the message goes on, indented


def test_a_terminal_wraps_at_columns(models):
    pty = pytest.importorskip("pty")
    import os
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "60", "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "quantlint", "."], stdout=follower, stderr=subprocess.PIPE,
                            cwd=models, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    lines = b"".join(chunks).decode("utf-8").replace("\r\n", "\n").splitlines()
    assert len(lines) > 5 and max(len(line) for line in lines) <= 60


def test_piped_inspect_keeps_each_row_on_one_line(make_gguf):
    from quantlint.enrich import enrich
    from quantlint.lint import read_target
    from quantlint.report.inspect import overview_rows
    from quantlint.runtime.memory import memory_rows
    from quantlint.settings import LintSettings
    from quantlint.targets import expand

    path = make_gguf("tiny-Q3_K_M.gguf", "Q3_K_M")
    model = enrich(read_target(expand([str(path)])[0]), LintSettings())
    rows = overview_rows(model) + memory_rows(model)
    assert any(len(value) > 100 for _, value in rows)  # an 80-column table would wrap these
    lines = run_cli("inspect", str(path), env={"COLUMNS": "50"}).stdout.splitlines()
    for key, value in rows:
        assert any(re.fullmatch(rf"{re.escape(key)} +{re.escape(value)}", line) for line in lines), (key, value)


# -- start-up: what a lint imports --------------------------------------------------------------
MODULES_AFTER_LINT = """
import sys
before = set(sys.modules)  # the interpreter's own (and an editable install's finder, which loads pathlib)
sys.argv = ["quantlint", *sys.argv[1:]]
from quantlint.__main__ import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("\\nMODULES " + " ".join(sorted(set(sys.modules) - before)) + "\\n")
"""


@pytest.mark.parametrize("fmt", ["json", "json-lines", "concise", "full"])
def test_a_local_lint_imports_only_what_it_uses(make_gguf, fmt):
    import os
    import subprocess
    import sys

    path = make_gguf("tiny-Q3_K_M.gguf", "Q3_K_M")  # findings to print, not just a clean line
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run([sys.executable, "-c", MODULES_AFTER_LINT, "--output-format", fmt, str(path)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert "QL101" in proc.stdout  # it did lint and report
    modules = set(proc.stderr.rsplit("MODULES ", 1)[1].split())
    # full output into a pipe without colour is plain text: no rich needed either
    assert not {m.split(".")[0] for m in modules} & {"rich", "typer", "click"}
    # nor the stdlib modules only other paths need (each a few ms of every lint's start-up)
    assert not modules & {"pathlib", "logging", "threading"}
