"""The pre-commit hooks, run by the real `pre-commit try-repo` against this repository.

try-repo clones this repo at HEAD and pip-installs quantlint into a fresh hook environment,
so these tests exercise what a user copying the README snippet gets: the manifest, the
`files:` regex, the console script and exit codes. Installing the hook environment needs the
package index (pre-commit's normal path); the three runs go in parallel (about 35 s).

Also here: --lfs-remote, which turns a pointer in a Hub clone into a lint of the published
file (against the local Hub stand-in, never the internet).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

POINTER = ("version https://git-lfs.github.com/spec/v1\n"
           "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
           "size 4683073184\n")


def _pre_commit() -> str:
    exe = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    if exe is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    return exe


def _git_env(home: Path) -> dict[str, str]:
    return {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


@pytest.fixture(scope="module")
def model_repo(tmp_path_factory) -> Path:
    """A git repo holding a clean Q4_K_M GGUF, a Q2_K GGUF and an LFS pointer named .gguf."""
    from fixtures.ggufgen import model_spec, write_gguf

    repo = tmp_path_factory.mktemp("models")
    write_gguf(repo / "clean-Q4_K_M.gguf", model_spec("Q4_K_M"))
    write_gguf(repo / "tiny-Q2_K.gguf", model_spec("Q2_K"))
    (repo / "pointer-Q8_0.gguf").write_text(POINTER, encoding="utf-8")
    env = _git_env(tmp_path_factory.mktemp("pc-home"))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "models"], cwd=repo, check=True, env=env)
    return repo


CASES = {"clean": "clean-Q4_K_M.gguf", "q2_k": "tiny-Q2_K.gguf", "pointer": "pointer-Q8_0.gguf"}


@pytest.fixture(scope="module")
def hook_runs(model_repo, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """One `pre-commit try-repo` per case, started together: each builds its own hook env.

    `--ref HEAD`: the committed state is what a user's `rev:` would pin, and it keeps a
    colleague's half-finished uncommitted change out of the hook env.
    """
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    procs = {}
    for case, filename in CASES.items():
        cmd = [_pre_commit(), "try-repo", str(ROOT), "quantlint", "--ref", head, "--verbose", "--files", filename]
        env = _git_env(tmp_path_factory.mktemp(f"pc-{case}"))
        procs[case] = subprocess.Popen(cmd, cwd=model_repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = {}
    for case, proc in procs.items():
        out, err = proc.communicate(timeout=900)
        done[case] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


@pytest.mark.slow
def test_hook_passes_a_clean_gguf(hook_runs):
    proc = hook_runs["clean"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "quantlint (GGUF)" in proc.stdout and "Passed" in proc.stdout


@pytest.mark.slow
def test_hook_fails_a_q2_k_gguf_with_ql101(hook_runs):
    proc = hook_runs["q2_k"]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Failed" in proc.stdout and "QL101" in proc.stdout


@pytest.mark.slow
def test_hook_fails_an_lfs_pointer_with_ql903(hook_runs):
    proc = hook_runs["pointer"]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "QL903" in proc.stdout and "git lfs pull" in proc.stdout


def test_manifest_is_valid_and_matches_model_files():
    """The manifest validates, and its regexes pick model files (pointers too) and nothing else."""
    import re

    import yaml

    proc = subprocess.run([_pre_commit(), "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"quantlint", "quantlint-hf"}
    for hook in hooks.values():
        assert hook["require_serial"] is True and hook["language"] == "python"
        assert hook["types"] == ["file"]  # not [binary]: an LFS pointer is tagged text
        assert hook["minimum_pre_commit_version"]
    gguf, hf = re.compile(hooks["quantlint"]["files"]), re.compile(hooks["quantlint-hf"]["files"])
    assert gguf.search("models/x-Q4_K_M.gguf") and not gguf.search("x.gguf.md")
    for path in ("m/config.json", "config.json", "m/model-00001-of-00002.safetensors", "m/quantize_config.json"):
        assert hf.search(path), path
    for path in ("m/generation_config.json", "m/tokenizer_config.json", "x.gguf"):
        assert not hf.search(path), path


# -- --lfs-remote -------------------------------------------------------------------------------
@pytest.mark.network_standin
def test_lfs_remote_lints_the_published_file(tmp_path):
    from fixtures.ggufgen import model_spec, write_gguf
    from tests.hubstandin import HubStandIn

    real = write_gguf(tmp_path / "real.gguf", model_spec("Q2_K"))
    clone = tmp_path / "clone"
    (clone / ".git").mkdir(parents=True)
    (clone / "models").mkdir()
    (clone / "models" / "tiny-Q2_K.gguf").write_text(POINTER, encoding="utf-8")
    hub = HubStandIn()
    hub.add_repo("org/Tiny-GGUF", {"models/tiny-Q2_K.gguf": real})
    hub.start()
    try:
        env = {**os.environ, "HF_ENDPOINT": hub.url, "NO_COLOR": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
               "QUANTLINT_HTTP_RETRIES": "0"}
        env.pop("HF_HUB_OFFLINE", None)
        base = [sys.executable, "-m", "quantlint", "--output-format", "concise", "models/tiny-Q2_K.gguf"]
        plain = subprocess.run(base, cwd=clone, env=env, capture_output=True, text=True)
        remote = subprocess.run([*base, "--lfs-remote", "org/Tiny-GGUF"], cwd=clone, env=env, capture_output=True, text=True)
        missing = subprocess.run([*base, "--lfs-remote", "org/Nope"], cwd=clone, env=env, capture_output=True, text=True)
    finally:
        hub.stop()
    assert "QL903" in plain.stdout and "QL101" not in plain.stdout
    # The pointer's path inside the clone is the path inside the Hub repo.
    assert "org/Tiny-GGUF:models/tiny-Q2_K.gguf" in remote.stdout, remote.stderr
    assert "QL101" in remote.stdout and "QL903" not in remote.stdout
    assert remote.returncode == 1
    # A repo that is not there: the pointer is still reported, and stderr says why.
    assert "QL903" in missing.stdout and "org/Nope" in missing.stderr


# -- the composite GitHub Action ------------------------------------------------------------------
def test_action_steps_write_sarif_then_annotate_and_fail(tmp_path, make_gguf):
    """Run the action's own shell steps (install skipped) the way the runner would."""
    import yaml

    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    steps = {s.get("name"): s for s in action["runs"]["steps"]}
    upload = steps["Upload SARIF to code scanning"]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@") and upload["if"] == "inputs.sarif == 'true'"
    make_gguf("tiny-Q2_K.gguf", "Q2_K")
    (tmp_path / "pointer-Q8_0.gguf").write_text(POINTER, encoding="utf-8")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1",
           "QL_PATHS": ".", "QL_ARGS": "--select QL101,QL903", "QL_SARIF": "out.sarif", "QL_LFS_REMOTE": "",
           "GITHUB_OUTPUT": str(tmp_path / "github_output")}

    def step(name: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-eo", "pipefail", "-c", steps[name]["run"]], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    sarif = step("quantlint (SARIF)")
    assert sarif.returncode == 0, sarif.stderr  # never fails, so the upload step still runs
    import json

    results = json.loads((tmp_path / "out.sarif").read_text())["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == ["QL101", "QL903"]
    assert (tmp_path / "github_output").read_text() == "file=out.sarif\n"
    lint = step("quantlint")
    assert lint.returncode == 1
    assert [line.split(" ", 1)[0] for line in lint.stdout.splitlines()] == ["::error", "::error"]
