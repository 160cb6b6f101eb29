"""Config files, rule selection, per-file-ignores, per-rule options, --show-settings, baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import codes, lint_json, run_cli

POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "cd" * 32 + "\nsize 4683073184\n"


@pytest.fixture
def project(tmp_path, make_gguf) -> Path:
    """A publisher's repo: a Q2_K (QL101 error), a Q4_K_M (clean) and an LFS pointer (QL903)."""
    make_gguf("tiny-Q2_K.gguf", "Q2_K")
    make_gguf("tiny-Q4_K_M.gguf", "Q4_K_M")
    (tmp_path / "pointer-Q8_0.gguf").write_text(POINTER, encoding="utf-8")
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def all_codes(document: dict) -> dict[str, list[str]]:
    return {Path(t["target"]).name: [f["code"] for f in t["findings"]] for t in document["targets"]}


def settings(*args: str, cwd: Path) -> str:
    proc = run_cli("--show-settings", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# -- selection ----------------------------------------------------------------------------------
def test_ignore_in_pyproject_silences_ql101(project):
    before = all_codes(lint_json(".", cwd=project)[1])
    assert "QL101" in before["tiny-Q2_K.gguf"]
    write(project / "pyproject.toml", '[project]\nname = "quants"\n\n[tool.quantlint]\nignore = ["QL101"]\n')
    rc, document = lint_json(".", cwd=project)
    after = all_codes(document)
    assert "QL101" not in after["tiny-Q2_K.gguf"] and "QL903" in after["pointer-Q8_0.gguf"]
    shown = settings(".", cwd=project)
    assert "ignore = ['QL101']" in shown and f"Settings path: {project / 'pyproject.toml'}" in shown
    assert "QL101" not in shown.split("enabled rules = ")[1].splitlines()[0]


def test_select_a_prefix_keeps_only_that_family(project):
    rc, document = lint_json("--select", "QL9", ".", cwd=project)
    found = [c for cs in all_codes(document).values() for c in cs]
    assert found and all(c.startswith("QL9") for c in found) and "QL903" in found
    enabled = settings("--select", "QL9", ".", cwd=project).split("enabled rules = ")[1].splitlines()[0]
    assert "select = ['QL9']" in settings("--select", "QL9", ".", cwd=project)
    assert "QL903" in enabled and "QL101" not in enabled


def test_cli_select_replaces_the_files_selection(project):
    write(project / "quantlint.toml", 'select = ["QL9"]\nignore = ["QL101"]\n')
    rc, document = lint_json("--select", "QL101", ".", cwd=project)
    assert all_codes(document)["tiny-Q2_K.gguf"] == ["QL101"]  # ruff: the CLI's select starts afresh
    assert all_codes(document)["pointer-Q8_0.gguf"] == []


def test_cli_extend_select_reenables_what_the_file_ignores(project):
    write(project / "quantlint.toml", 'ignore = ["QL101"]\n')
    rc, document = lint_json("--extend-select", "QL101", ".", cwd=project)
    assert "QL101" in all_codes(document)["tiny-Q2_K.gguf"]


# -- per-file-ignores ------------------------------------------------------------------------------
def test_per_file_ignores_match_names_and_paths(project, make_gguf):
    (project / "legacy").mkdir()
    make_gguf("legacy/old-Q2_K.gguf", "Q2_K")
    write(project / ".quantlint.toml", '[per-file-ignores]\n"tiny-Q2_K.gguf" = ["QL101"]\n"legacy/*" = ["QL1"]\n'
                                        '"*.gguf" = ["lfs-pointer"]\n')
    rc, document = lint_json(".", cwd=project)
    found = all_codes(document)
    assert "QL101" not in found["tiny-Q2_K.gguf"] and "QL101" not in found["old-Q2_K.gguf"]
    assert "QL903" not in found["pointer-Q8_0.gguf"]  # selected by rule name
    assert "per-file-ignores = {'tiny-Q2_K.gguf': ['QL101'], 'legacy/*': ['QL1'], '*.gguf': ['lfs-pointer']}" in settings(".", cwd=project)
    # The glob is relative to the config file, not to where quantlint runs.
    rc, document = lint_json(str(project / "legacy"), cwd=project / "legacy")
    assert codes(document) == [c for c in codes(document) if not c.startswith("QL1")]


def test_per_file_ignores_leave_other_files_alone(project, make_gguf):
    make_gguf("other-Q2_K.gguf", "Q2_K")
    write(project / "quantlint.toml", '[per-file-ignores]\n"tiny-*.gguf" = ["QL101"]\n')
    found = all_codes(lint_json(".", cwd=project)[1])
    assert "QL101" not in found["tiny-Q2_K.gguf"] and "QL101" in found["other-Q2_K.gguf"]


# -- discovery and precedence ----------------------------------------------------------------------
def test_nearest_config_wins_and_dot_file_beats_others_in_one_folder(project, make_gguf):
    write(project / "pyproject.toml", '[tool.quantlint]\nfail-on = "info"\n')
    write(project / "sub" / "quantlint.toml", 'fail-on = "warning"\n')
    make_gguf("sub/x-Q4_K_M.gguf", "Q4_K_M")
    assert "fail-on = warning" in settings("sub/x-Q4_K_M.gguf", cwd=project)  # nearest folder
    assert "fail-on = info" in settings("tiny-Q2_K.gguf", cwd=project)
    write(project / "sub" / ".quantlint.toml", 'fail-on = "error"\n')
    shown = settings("sub", cwd=project)
    assert "fail-on = error" in shown and "sub/.quantlint.toml" in shown


def test_pyproject_without_our_table_is_skipped(project):
    write(project / "quantlint.toml", 'fail-on = "warning"\n')
    write(project / "models" / "pyproject.toml", '[project]\nname = "x"\n')
    (project / "models" / "m.gguf").write_bytes((project / "tiny-Q4_K_M.gguf").read_bytes())
    assert f"Settings path: {project / 'quantlint.toml'}" in settings("models", cwd=project)


def test_isolated_ignores_config_and_config_flag_picks_a_file(project):
    write(project / "quantlint.toml", 'ignore = ["QL101"]\n')
    write(project / "strict.toml", 'fail-on = "info"\n')
    rc, document = lint_json("--isolated", ".", cwd=project)
    assert "QL101" in all_codes(document)["tiny-Q2_K.gguf"]
    assert "Settings path: (none: defaults)" in settings("--isolated", ".", cwd=project)
    shown = settings("--config", "strict.toml", ".", cwd=project)
    assert "fail-on = info" in shown and "ignore = []" in shown
    assert "fail-on = warning" in settings("--config", "fail-on = 'warning'", ".", cwd=project)


def test_cli_flags_override_the_file(project):
    write(project / "quantlint.toml", 'fail-on = "info"\nfloor = "Q5_K_M"\noutput-format = "concise"\n')
    shown = settings("--fail-on", "error", "--floor", "Q3_K_M", ".", cwd=project)
    assert "fail-on = error" in shown and "floor = Q3_K_M" in shown and "output-format = concise" in shown


# -- per-rule options and severity -----------------------------------------------------------------
def test_rule_options_and_severity_reach_the_rule(project):
    rc, document = lint_json("tiny-Q4_K_M.gguf", cwd=project)
    assert "QL101" not in codes(document)
    write(project / "quantlint.toml", '[rules.QL101]\nfloor = "Q5_K_M"\n\n[severity]\nlfs-pointer = "info"\n')
    rc, document = lint_json(".", cwd=project)
    found = {Path(t["target"]).name: {f["code"]: f["severity"] for f in t["findings"]} for t in document["targets"]}
    assert "QL101" in found["tiny-Q4_K_M.gguf"]  # Q4_K_M is below the rule's own floor now
    assert found["pointer-Q8_0.gguf"]["QL903"] == "info"
    shown = settings(".", cwd=project)
    assert "rule options = {'QL101': {'floor': 'Q5_K_M'}}" in shown and "severity = {'QL903': 'info'}" in shown


# -- config errors (exit 2, naming the culprit) -------------------------------------------------------
@pytest.mark.parametrize("config, named", [
    ('[tool.quantlint]\nignore = ["QL1O1"]\n', "QL1O1"),
    ('[tool.quantlint]\nselct = ["QL1"]\n', "selct"),
    ('[tool.quantlint.per-file-ignores]\n"*.gguf" = ["QL9O3"]\n', "QL9O3"),
    ('[tool.quantlint.severity]\nQL102x = "error"\n', "QL102x"),
    ('[tool.quantlint.severity]\nQL101 = "fatal"\n', "fatal"),
    ('[tool.quantlint.rules.QL101]\nflor = "Q5_K_M"\n', "flor"),
    ('[tool.quantlint.rules.QL101]\nfloor = "Q9_X"\n', "Q9_X"),
    ('[tool.quantlint]\nignore = "QL101\n', "invalid TOML"),
])
def test_config_errors_exit_2_naming_the_key_or_rule(project, config, named):
    write(project / "pyproject.toml", config)
    proc = run_cli(".", cwd=project)
    assert proc.returncode == 2 and proc.stdout == ""
    assert named in proc.stderr and "pyproject.toml" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_typo_in_a_rule_code_exits_2(project):
    proc = run_cli("--ignore", "QL1O1", ".", cwd=project)
    assert proc.returncode == 2 and "QL1O1" in proc.stderr


# -- baselines -----------------------------------------------------------------------------------
def test_baseline_needs_a_justification_then_accepts_only_known_findings(project, make_gguf):
    proc = run_cli("--write-baseline", "quantlint-baseline.json", ".", cwd=project)
    assert proc.returncode == 0, proc.stderr
    baseline = project / "quantlint-baseline.json"
    entries = json.loads(baseline.read_text())["entries"]
    assert {e["code"] for e in entries} >= {"QL101", "QL903"}
    # The placeholder is refused: accepting a finding needs a reason.
    proc = run_cli("--baseline", "quantlint-baseline.json", ".", cwd=project)
    assert proc.returncode == 2 and "no justification" in proc.stderr and "QL101" in proc.stderr
    data = json.loads(baseline.read_text())
    for entry in data["entries"]:
        entry["justification"] = "published for 4 GB devices next to the Q4_K_M"
    baseline.write_text(json.dumps(data))
    rc, document = lint_json("--baseline", "quantlint-baseline.json", ".", cwd=project)
    assert rc == 0 and not any(codes(document, i) for i in range(len(document["targets"])))
    # A new problem is still caught, and the baseline works from another working directory.
    make_gguf("new-IQ2_XS.gguf", "IQ2_XS")
    rc, document = lint_json("--baseline", str(baseline), str(project), cwd=project.parent)
    assert rc == 1
    assert [Path(t["target"]).name for t in document["targets"] if t["findings"]] == ["new-IQ2_XS.gguf"]


def test_rewriting_a_baseline_keeps_written_justifications(project):
    baseline = project / "b.json"
    run_cli("--select", "QL101", "--write-baseline", str(baseline), ".", cwd=project)
    data = json.loads(baseline.read_text())
    data["entries"][0]["justification"] = "kept on purpose"
    baseline.write_text(json.dumps(data))
    run_cli("--write-baseline", str(baseline), ".", cwd=project)
    entries = json.loads(baseline.read_text())["entries"]
    assert [e["justification"] for e in entries if e["code"] == "QL101"] == ["kept on purpose"]
    assert any(e["justification"].startswith("TODO") for e in entries if e["code"] == "QL903")


def test_per_file_ignores_cover_a_model_folder(tmp_path):
    write(tmp_path / "models" / "m" / "config.json", '{"editor.tabSize": 2}')  # no weights: some finding
    rc, document = lint_json("models/m", cwd=tmp_path)
    assert codes(document)
    write(tmp_path / "quantlint.toml", '[per-file-ignores]\n"models/m/*" = ["ALL"]\n')
    rc, document = lint_json("models/m", cwd=tmp_path)
    assert rc == 0 and codes(document) == []
