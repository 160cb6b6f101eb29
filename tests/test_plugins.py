"""Third-party checks join through the entry-point group `quantlint.checks`.

A tiny plugin distribution is written on the fly (a pyproject.toml declaring
`[project.entry-points."quantlint.checks"]`), pip-installed into a temporary target folder,
and quantlint runs with that folder on PYTHONPATH: its rule runs, is listed with its package,
and a broken entry point is reported as `package[entry]: error` instead of a crash.

The plugin carries a 40-line in-tree PEP 517 backend (`backend-path`), so pip builds and
installs it offline with no setuptools/wheel download: the test never needs the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

BACKEND = '''
"""A minimal PEP 517 backend: pure-Python packages plus [project] metadata and entry points."""
import base64, hashlib, os, zipfile
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: quantlint depends on tomli there
    import tomli as tomllib

def _project():
    with open("pyproject.toml", "rb") as fh:
        data = tomllib.load(fh)
    return {**data["project"], "packages": data["tool"]["mini"]["packages"]}

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = _project()
    name, version = project["name"], project["version"]
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = {}
    for package in project["packages"]:
        for root, _, names in os.walk(package):
            for n in names:
                if n.endswith(".py"):
                    path = os.path.join(root, n).replace(os.sep, "/")
                    files[path] = open(path, "rb").read()
    eps = "".join(f"[{group}]\\n" + "".join(f"{k} = {v}\\n" for k, v in table.items())
                  for group, table in project.get("entry-points", {}).items())
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\\nGenerator: mini\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    files[f"{info}/entry_points.txt"] = eps.encode()
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    files[f"{info}/RECORD"] = ("\\n".join(record + [f"{info}/RECORD,,"]) + "\\n").encode()
    wheel_name = f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel_name
'''

PYPROJECT = '''
[build-system]
requires = []
build-backend = "mini_backend"
backend-path = ["."]

[project]
name = "ql-extra"
version = "0.3.0"

[project.entry-points."quantlint.checks"]
QLX = "ql_extra"
BROKEN = "ql_extra_missing.checks"

[tool.mini]
packages = ["ql_extra"]
'''

RULE = '''
"""Every readable model gets a friendly note from the plugin.

## What it does
Reports the quant label of each model it sees.

## Why is this bad?
It is not; it proves the plugin ran.

## Example
Any GGUF file.

## How to fix
Nothing to fix.
"""
from quantlint.findings import Finding

CODE = "QLX101"
NAME = "plugin-was-here"
SEVERITY = "info"


def check(model, ctx):
    yield Finding(message=f"plugin saw {model.quant}", location="general.file_type")
'''


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("ql-extra-src")
    (src / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT), encoding="utf-8")
    (src / "mini_backend.py").write_text(BACKEND, encoding="utf-8")
    (src / "ql_extra").mkdir()
    (src / "ql_extra" / "__init__.py").write_text('"""quantlint checks from ql-extra."""\n', encoding="utf-8")
    (src / "ql_extra" / "qlx101_plugin_was_here.py").write_text(RULE, encoding="utf-8")
    site = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-build-isolation",
                           "--disable-pip-version-check", "--target", str(site), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (site / "ql_extra-0.3.0.dist-info" / "entry_points.txt").is_file()
    return site


def quantlint(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "quantlint", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_plugin_rule_runs_and_is_stamped_by_the_engine(plugin_site, make_gguf, tmp_path):
    model = make_gguf("tiny-Q4_K_M.gguf", "Q4_K_M")
    proc = quantlint(plugin_site, "--output-format", "json", str(model), cwd=tmp_path)
    findings = json.loads(proc.stdout)["targets"][0]["findings"]
    (ours,) = [f for f in findings if f["code"] == "QLX101"]
    assert ours["name"] == "plugin-was-here" and ours["severity"] == "info"
    assert ours["message"] == "plugin saw Q4_K_M"
    assert proc.returncode == 0  # an info finding does not fail the run


def test_plugin_rule_is_listed_with_its_package(plugin_site, tmp_path):
    proc = quantlint(plugin_site, "rules", "--json", cwd=tmp_path)
    rules = {r["code"]: r for r in json.loads(proc.stdout)}
    assert rules["QLX101"]["package"] == "ql-extra" and rules["QLX101"]["name"] == "plugin-was-here"
    assert rules["QL101"]["package"] == "quantlint"
    text = quantlint(plugin_site, "rules", cwd=tmp_path).stdout
    assert any(line.startswith("QLX101") and "[ql-extra]" in line for line in text.splitlines())


def test_broken_plugin_is_reported_by_package_and_entry_not_a_crash(plugin_site, make_gguf, tmp_path):
    model = make_gguf("tiny-Q4_K_M.gguf", "Q4_K_M")
    proc = quantlint(plugin_site, "--output-format", "json", str(model), cwd=tmp_path)
    assert "ql-extra[BROKEN]: ModuleNotFoundError" in proc.stderr
    assert "Traceback" not in proc.stderr
    document = json.loads(proc.stdout)  # stdout is still pure JSON
    assert document["summary"]["targets"] == 1


def test_plugin_rules_are_selectable_and_configurable(plugin_site, make_gguf, tmp_path):
    model = make_gguf("tiny-Q4_K_M.gguf", "Q4_K_M")
    (tmp_path / "quantlint.toml").write_text('[severity]\nQLX101 = "error"\n', encoding="utf-8")
    proc = quantlint(plugin_site, "--output-format", "json", "--select", "QLX", str(model), cwd=tmp_path)
    findings = json.loads(proc.stdout)["targets"][0]["findings"]
    assert [(f["code"], f["severity"]) for f in findings] == [("QLX101", "error")]
    assert proc.returncode == 1


def test_plugin_rule_docs_reach_sarif(plugin_site, make_gguf, tmp_path):
    model = make_gguf("tiny-Q4_K_M.gguf", "Q4_K_M")
    proc = quantlint(plugin_site, "--output-format", "sarif", str(model), cwd=tmp_path)
    rules = {r["id"]: r for r in json.loads(proc.stdout)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["QLX101"]["fullDescription"]["text"] == "Reports the quant label of each model it sees."
    assert rules["QLX101"]["properties"]["package"] == "ql-extra"
