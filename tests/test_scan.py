"""`quantlint scan` against the Hub stand-in: many repos, concurrency, faults, resume, shards."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_Q2, EXAMPLE_Q4
from tests.hubstandin import HubStandIn, client_env

pytestmark = pytest.mark.network_standin

Q2, Q4 = EXAMPLE_Q2, EXAMPLE_Q4
TOKEN = "hf_scanTOKEN9876543210fedcba"


@pytest.fixture
def hub():
    stand_in = HubStandIn(token=TOKEN)
    for r in range(10):
        stand_in.add_repo(f"quants/Model{r}-GGUF", {
            f"Model{r}-Q2_K.gguf": Q2, f"Model{r}-Q4_K_M.gguf": Q4,
            "README.md": b"---\nquantized_by: quants\n---\n# GGUF quants\n",
        }, tags=["gguf"])
    stand_in.add_repo("other/Thing", {"config.json": b"{}"}, tags=["transformers"])
    stand_in.start()
    yield stand_in
    stand_in.stop()


def scan(hub: HubStandIn, home: Path, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**client_env(hub, home, TOKEN), **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "quantlint", "scan", *args], capture_output=True, text=True,
                          env=env, cwd=home, timeout=180)


def lines(proc: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


REPOS = [f"quants/Model{r}-GGUF" for r in range(10)]
FILES = sorted(f"{repo}:Model{r}-{q}.gguf" for r, repo in enumerate(REPOS) for q in ("Q2_K", "Q4_K_M"))


def test_scan_streams_one_json_line_per_file(hub, tmp_path):
    proc = scan(hub, tmp_path, *REPOS, "--output-format", "json-lines")
    objects = lines(proc)
    assert sorted(o["target"] for o in objects) == FILES
    q2 = [o for o in objects if o["target"].endswith("Q2_K.gguf")]
    assert all(o["model"]["quant"] == "Q2_K" and "QL101" in [f["code"] for f in o["findings"]] for o in q2)
    assert proc.returncode == 1  # Q2_K is below the floor: an error finding
    assert "Traceback" not in proc.stderr


def test_scan_table_sorted_by_risk(hub, tmp_path):
    proc = scan(hub, tmp_path, *REPOS[:3], "missing/Repo", "--no-progress")
    rows = [line for line in proc.stdout.splitlines() if ".gguf" in line or "missing/Repo" in line]
    assert len(rows) == 7
    assert all("Q2_K" in row and "QL101" in row for row in rows[:3])  # riskiest first
    assert all("Q4_K_M" in row for row in rows[3:6])
    assert "missing/Repo" in rows[6] and "not found" in rows[6]  # failed targets last, with why
    assert "1 could not be read" in proc.stdout
    assert proc.returncode == 1


def test_hub_query_from_author_and_library(hub, tmp_path):
    proc = scan(hub, tmp_path, "--author", "quants", "--library", "gguf", "--limit", "4",
                "--output-format", "json-lines")
    repos = {o["target"].split(":")[0] for o in lines(proc)}
    assert repos == set(REPOS[:4])
    assert hub.requests("/api/models") and not hub.requests("/other/Thing")


def test_from_file(hub, tmp_path):
    listing = tmp_path / "repos.txt"
    listing.write_text(f"# my repos\n{REPOS[0]}\n\n{REPOS[1]}  # the second\n")
    proc = scan(hub, tmp_path, "--from-file", str(listing), "--output-format", "json-lines")
    assert {o["target"].split(":")[0] for o in lines(proc)} == set(REPOS[:2])


def test_files_are_read_concurrently(hub, tmp_path):
    hub.latency = 0.1
    scan(hub, tmp_path, *REPOS, "--no-cache", "--jobs", "8", "--output-format", "json-lines")
    assert hub.max_in_flight >= 4  # requests overlapped
    hub.reset()
    scan(hub, tmp_path, *REPOS[:2], "--no-cache", "--jobs", "1", "--output-format", "json-lines")
    assert hub.max_in_flight == 1


def test_rerun_with_cache_makes_no_range_request(hub, tmp_path):
    first = lines(scan(hub, tmp_path, *REPOS, "--output-format", "json-lines"))
    assert len([r for r in hub.requests("/resolve/") if r.path.endswith(".gguf")]) == len(FILES)
    assert list((tmp_path / "quantlint-cache" / "scan").rglob("*.json"))  # in the cache dir, not next to a model
    hub.reset()
    second = lines(scan(hub, tmp_path, *REPOS, "--output-format", "json-lines"))
    assert hub.requests("/resolve/") == []  # no range request, no card fetch
    assert sorted(second, key=lambda o: o["target"]) == sorted(first, key=lambda o: o["target"])
    # A changed repo (new commit) is read again; the others still come from the cache.
    hub.add_repo(REPOS[0], {"Model0-Q2_K.gguf": Q4, "Model0-Q4_K_M.gguf": Q4}, sha="f" * 40)
    hub.reset()
    third = lines(scan(hub, tmp_path, *REPOS, "--output-format", "json-lines"))
    read = {r.path.rsplit("/", 1)[1] for r in hub.requests("/resolve/") if r.path.endswith(".gguf")}
    assert read == {"Model0-Q2_K.gguf", "Model0-Q4_K_M.gguf"}
    assert {o["target"]: o["model"]["quant"] for o in third}["quants/Model0-GGUF:Model0-Q2_K.gguf"] == "Q4_K_M"


def test_changed_settings_do_not_reuse_results(hub, tmp_path):
    scan(hub, tmp_path, REPOS[0], "--output-format", "json-lines")
    hub.reset()
    objects = lines(scan(hub, tmp_path, REPOS[0], "--floor", "Q2_K", "--output-format", "json-lines"))
    assert hub.requests("/resolve/")
    assert not any(f["code"] == "QL101" for o in objects for f in o["findings"])


def test_faults_on_10_percent_of_requests(hub, tmp_path):
    hub.fault_rate = 0.10  # 429, 500, dropped connections, short bodies; each fails once
    hub.persistent["/Model3-Q4_K_M.gguf"] = "500"  # and one file never works
    hub.persistent["/api/models/quants/Model7-GGUF"] = "drop"  # nor does one repo's listing
    proc = scan(hub, tmp_path, *REPOS, "--output-format", "json-lines", "--no-cache")
    objects = {o["target"]: o for o in lines(proc)}
    faults = [r for r in hub.log if r.fault]
    assert len(faults) >= 5 and {r.fault for r in faults} >= {"500", "drop"}
    failed = {t for t, o in objects.items() if o.get("error")}
    assert failed == {"quants/Model3-GGUF:Model3-Q4_K_M.gguf", "quants/Model7-GGUF"}
    assert "HTTP 500" in objects["quants/Model3-GGUF:Model3-Q4_K_M.gguf"]["error"]
    good = [f for f in FILES if not f.startswith("quants/Model7-GGUF") and "Model3-Q4_K_M" not in f]
    assert all(objects[f]["model"]["quant"] in ("Q2_K", "Q4_K_M") for f in good)  # no result lost
    assert proc.returncode == 1


def test_exit_code_zero_when_clean(hub, tmp_path):
    hub.add_repo("good/Only-GGUF", {"g-Q4_K_M.gguf": Q4})
    proc = scan(hub, tmp_path, "good/Only-GGUF", "--select", "QL1,QL9")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shards_split_the_repos(hub, tmp_path):
    seen: list[str] = []
    for k in (1, 2, 3):
        seen += [o["target"] for o in lines(scan(hub, tmp_path, *REPOS, "--shard", f"{k}/3", "--no-cache",
                                                "--output-format", "json-lines"))]
    assert sorted(seen) == FILES  # every file once, across the three shards
    assert {r for r in REPOS if zlib.crc32(r.encode()) % 3 == 0} == {
        t.split(":")[0] for t in (o["target"] for o in lines(scan(hub, tmp_path, *REPOS, "--shard", "1/3",
                                                                      "--output-format", "json-lines")))}
    bad = scan(hub, tmp_path, *REPOS, "--shard", "4/3")
    assert bad.returncode == 2 and "--shard" in bad.stderr


def test_no_progress_bar_when_not_a_terminal_or_in_ci(hub, tmp_path):
    proc = scan(hub, tmp_path, REPOS[0], "--output-format", "json-lines")
    assert "━" not in proc.stderr and "\r" not in proc.stderr
    forced = scan(hub, tmp_path, REPOS[0], "--output-format", "json-lines", "--no-cache", extra_env={"CI": "1"})
    assert "━" not in forced.stderr


def test_nothing_to_scan_is_a_usage_error(hub, tmp_path):
    proc = scan(hub, tmp_path)
    assert proc.returncode == 2 and "nothing to scan" in proc.stderr
