"""quantlint.checks ships inside the wheel: the same rules from an editable install and a wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _rules_via(python: str, cwd: Path) -> list[str]:
    proc = subprocess.run([python, "-m", "quantlint", "rules", "--json"], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr
    import json

    return sorted(r["code"] for r in json.loads(proc.stdout))


def test_editable_install_finds_builtin_checks(tmp_path):
    # Run from a folder where the repo's checks/ is not importable as a top-level package.
    codes = _rules_via(sys.executable, tmp_path)
    assert "QL101" in codes and "QL901" in codes
    import quantlint.checks

    assert Path(quantlint.checks.__file__).parent.name == "checks"


def test_every_subpackage_is_declared_for_the_wheel():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "quantlint").rglob("__init__.py")}
    assert on_disk - declared == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert "quantlint.checks" in declared


@pytest.mark.slow
def test_built_wheel_in_a_fresh_venv_lists_every_rule(tmp_path):
    from quantlint.engine import load_registry

    expected = sorted(r.code for r in load_registry().sorted() if r.package == "quantlint")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                   check=True, timeout=600)
    wheel = next(dist.glob("quantlint-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "quantlint/checks/ql101_tier_below_floor.py" in names
    assert not any(n.startswith("checks/") for n in names)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=900)
    assert _rules_via(python, tmp_path) == expected
