"""`quantlint scan --executor dask`: batches on a Dask cluster, against the Hub stand-in (127.0.0.1).

One stand-in and one 2-worker LocalCluster (worker processes) serve the whole module; the
drivers are `quantlint scan` subprocesses, like a user's. The workers get their environment
(HF_ENDPOINT, HF_TOKEN) from the cluster, never from a task.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_Q2, EXAMPLE_Q4
from tests.hubstandin import HubStandIn, client_env

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.network_standin

Q2, Q4 = EXAMPLE_Q2, EXAMPLE_Q4
TOKEN = "hf_daskTOKEN0123456789abcdefXYZ"
REPOS = [f"quants/Model{r}-GGUF" for r in range(8)]
GATED = "gated/Secret-GGUF"
QUANT_FILES = sorted(f"{repo}:Model{r}-{q}.gguf" for r, repo in enumerate(REPOS) for q in ("Q2_K", "Q4_K_M"))
FILES = sorted(QUANT_FILES + [f"{GATED}:Secret-Q4_K_M.gguf"])


@pytest.fixture(scope="module")
def hub():
    stand_in = HubStandIn(token=TOKEN)
    for r, repo in enumerate(REPOS):
        stand_in.add_repo(repo, {f"Model{r}-Q2_K.gguf": Q2, f"Model{r}-Q4_K_M.gguf": Q4,
                                 "README.md": b"---\nquantized_by: quants\n---\n# GGUF quants\n"}, tags=["gguf"])
    stand_in.add_repo(GATED, {"Secret-Q4_K_M.gguf": Q4}, gated=True, tags=["gguf"])
    stand_in.start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("dask-scan")


@pytest.fixture(scope="module")
def cluster(hub, home):
    """Two worker processes (one thread each): what `dask worker` gives on two machines."""
    worker_env = {k: v for k, v in client_env(hub, home / "workers", TOKEN).items()
                  if k.startswith(("HF_", "QUANTLINT_"))}
    local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                     dashboard_address=None, env=worker_env, silence_logs=40)
    client = distributed.Client(local)
    yield client
    client.close()
    local.close()


def scan(hub: HubStandIn, home: Path, *args: str, prelude: str = "", **kw) -> subprocess.CompletedProcess:
    """A `quantlint scan` driver process; `prelude` runs first (to watch or break something)."""
    env = client_env(hub, home, TOKEN)
    code = f"import sys\n{prelude}\nfrom quantlint.__main__ import main\nsys.argv = ['quantlint', 'scan', *sys.argv[1:]]\nmain()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          cwd=home, timeout=300, **kw)


def rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def by_target(objects: list[dict]) -> dict[str, dict]:
    out = {o["target"]: o for o in objects}
    assert len(out) == len(objects), "a file reported twice"
    return out


def parts(folder: Path) -> list[dict]:
    return [r for p in sorted(folder.glob("part-*.jsonl")) for r in rows(p.read_text())]


@pytest.fixture(scope="module")
def local_result(hub, home):
    proc = scan(hub, home, *REPOS, GATED, "--no-cache", "--output-format", "json-lines")
    assert proc.returncode == 1, proc.stderr  # Q2_K files are below the floor
    return by_target(rows(proc.stdout))


def test_local_reads_every_file_and_never_imports_dask(hub, home, local_result):
    assert sorted(local_result) == FILES
    assert local_result[f"{GATED}:Secret-Q4_K_M.gguf"]["model"]["quant"] == "Q4_K_M"  # HF_TOKEN used
    probe = scan(hub, home, REPOS[0], "--no-cache", "--output-format", "json-lines",
                 prelude="import atexit; atexit.register(lambda: print('DASK' if 'distributed' in sys.modules "
                         "else 'NO-DASK', file=sys.stderr))")
    assert "NO-DASK" in probe.stderr


def test_in_process_dask_matches_local(hub, home, local_result):
    proc = scan(hub, home, *REPOS, GATED, "--executor", "dask", "--batch-size", "5", "--output-format", "json-lines")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    assert by_target(rows(proc.stdout)) == local_result


def test_two_worker_cluster_matches_local(hub, home, cluster, local_result):
    address = cluster.scheduler.address.replace("tcp://", "dask://")
    proc = scan(hub, home, *REPOS, GATED, "--executor", address, "--batch-size", "3", "--jobs", "4",
                "--output-format", "json-lines")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert by_target(rows(proc.stdout)) == local_result


def test_executor_from_environment_and_table(hub, home, cluster):
    """QUANTLINT_EXECUTOR names the executor too; a small scan still gets its table."""
    env = {**client_env(hub, home, TOKEN), "QUANTLINT_EXECUTOR": cluster.scheduler.address}
    proc = subprocess.run([sys.executable, "-m", "quantlint", "scan", REPOS[0], "--no-progress"],
                          capture_output=True, text=True, env=env, cwd=home, timeout=300)
    assert proc.returncode == 1, proc.stderr
    table = [line for line in proc.stdout.splitlines() if ".gguf" in line]
    assert len(table) == 2 and "Q2_K" in table[0] and "QL101" in table[0]  # riskiest first
    assert "2 file(s): 1 error(s)" in proc.stdout


def test_list_only_reads_back_with_from_file(hub, home, local_result):
    listed = scan(hub, home, *REPOS, GATED, "--list-only")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == len(FILES) and all("@" in line and ":" in line for line in lines)  # pinned to a sha
    (home / "files.txt").write_text(listed.stdout)
    hub.reset()
    proc = scan(hub, home, "--from-file", "files.txt", "--executor", "dask", "--output-format", "json-lines")
    assert by_target(rows(proc.stdout)) == local_result
    listings = [r for r in hub.requests("/api/models/")]
    assert len(listings) == len(REPOS) + 1  # one listing per repo, not one per file


def test_list_only_round_trips_shard_sets_folders_and_failures(hub, home):
    hub.add_repo("mixed/Many-GGUF", {
        "Many-Q4_K_M.gguf": Q4, "big/Many-Q8_0-00001-of-00003.gguf": Q4, "big/Many-Q8_0-00002-of-00003.gguf": Q4,
        "README.md": b"# Many\n"})
    hub.add_repo("mixed/Folder", {"config.json": b'{"model_type": "llama"}', "awq/config.json": b"{}"})
    specs = ["mixed/Many-GGUF", "mixed/Folder", "missing/Repo"]
    direct = scan(hub, home, *specs, "--no-cache", "--output-format", "json-lines")
    listed = scan(hub, home, *specs, "--list-only")
    assert listed.returncode == 1 and "missing/Repo" in listed.stderr  # listed as given, with why
    assert "missing/Repo" in listed.stdout.splitlines()
    (home / "mixed.txt").write_text(listed.stdout)
    again = scan(hub, home, "--from-file", "mixed.txt", "--no-cache", "--output-format", "json-lines")
    expected = by_target(rows(direct.stdout))
    assert {"mixed/Many-GGUF:big/Many-Q8_0-00001-of-00003.gguf", "mixed/Folder", "mixed/Folder:awq/"} <= set(expected)
    assert by_target(rows(again.stdout)) == expected


@pytest.mark.parametrize("executor", ["local", "cluster"])
def test_rerun_with_output_dir_requests_only_unfinished_batches(hub, home, cluster, executor, tmp_path):
    chosen = "local" if executor == "local" else cluster.scheduler.address
    out = tmp_path / "out"
    args = (*REPOS, "--executor", chosen, "--batch-size", "4", "--output-dir", str(out), "--no-cache")
    first = scan(hub, home, *args)
    assert first.returncode == 1 and first.stdout == "", first.stderr
    finished = sorted(out.glob("part-*.jsonl"), key=lambda p: p.stat().st_size)
    assert len(finished) >= 2 and sorted(r["target"] for r in parts(out)) == QUANT_FILES
    lost = finished[-1]
    unfinished = {r["target"].split(":", 1)[1] for r in rows(lost.read_text())}
    lost.unlink()  # as if the driver had died before this batch came back
    hub.reset()
    second = scan(hub, home, *args)
    done = f"{len(finished) - 1} batch(es) already done"
    assert second.returncode == 1 and done in second.stderr, second.stderr
    read = {r.path.rsplit("/", 1)[1] for r in hub.requests("/resolve/") if r.path.endswith(".gguf")}
    assert read == unfinished and 0 < len(read) < len(QUANT_FILES)
    assert sorted(r["target"] for r in parts(out)) == QUANT_FILES  # every file once
    hub.reset()
    third = scan(hub, home, *args)
    assert not hub.requests("/resolve/") and f"{len(finished)} batch(es) already done" in third.stderr


def test_a_batch_that_keeps_failing_becomes_error_rows(hub, home, tmp_path):
    # In-process workers share the driver's modules: break every batch holding Model3's files.
    breaker = ("import quantlint.scan_batches as sb\n_real = sb.run_batch\n"
               "def broken(targets, settings):\n"
               "    if any('Model3' in t.display for t in targets): raise RuntimeError('worker blew up')\n"
               "    return _real(targets, settings)\n"
               "import quantlint.scan_dask as sd\nsd.run_batch = broken\n")
    out = tmp_path / "out"
    args = (*REPOS, "--executor", "dask", "--batch-size", "2", "--output-dir", str(out), "--output-format", "json-lines")
    proc = scan(hub, home, *args, prelude=breaker)
    objects = by_target(rows(proc.stdout))
    assert sorted(objects) == QUANT_FILES  # none lost
    failed = {t for t, o in objects.items() if o.get("error")}
    model3 = {"quants/Model3-GGUF:Model3-Q2_K.gguf", "quants/Model3-GGUF:Model3-Q4_K_M.gguf"}
    assert model3 <= failed < set(QUANT_FILES)  # the batches holding Model3, as error rows; the rest read
    assert all("worker blew up" in objects[t]["error"] for t in failed)
    assert all(objects[t]["model"]["quant"] for t in set(QUANT_FILES) - failed)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    failed_parts = list(out.glob("failed-*.jsonl"))
    assert 1 <= len(failed_parts) <= 2 and {r["target"] for p in failed_parts for r in rows(p.read_text())} == failed
    hub.reset()
    rerun = scan(hub, home, *args)  # the failed batch is retried, and only it
    assert {t["target"] for t in rows(rerun.stdout)} == failed
    assert not list(out.glob("failed-*.jsonl"))
    assert not any(o.get("error") for o in parts(out))


def test_hf_token_never_in_a_task_a_log_or_an_output(hub, home, cluster, tmp_path):
    recorder = tmp_path / "tasks.bin"
    watch = (f"import cloudpickle, distributed\n_submit = distributed.Client.submit\n"
             f"def submit(self, fn, *args, **kwargs):\n"
             f"    with open({str(recorder)!r}, 'ab') as f: f.write(cloudpickle.dumps((fn, args, kwargs)))\n"
             f"    return _submit(self, fn, *args, **kwargs)\n"
             f"distributed.Client.submit = submit\n")
    out = tmp_path / "out"
    proc = scan(hub, home, *REPOS[:2], GATED, "--executor", cluster.scheduler.address, "--batch-size", "2",
                "--output-dir", str(out), "--output-format", "json-lines", prelude=watch)
    shipped = recorder.read_bytes()
    assert b"Secret-Q4_K_M.gguf" in shipped  # the recorder saw the tasks
    assert TOKEN.encode() not in shipped
    gated = by_target(rows(proc.stdout))[f"{GATED}:Secret-Q4_K_M.gguf"]
    assert gated["model"]["quant"] == "Q4_K_M"  # the worker read the gated repo with its own token
    logs = json.dumps([cluster.get_worker_logs(), cluster.get_scheduler_logs()])
    written = "".join(p.read_text() for p in out.iterdir())
    for text in (proc.stdout, proc.stderr, logs, written):
        assert TOKEN not in text


def test_no_distributed_exits_2_with_the_install_hint(hub, home):
    proc = scan(hub, home, REPOS[0], "--executor", "dask", prelude="sys.modules['distributed'] = None")
    assert proc.returncode == 2
    assert "pip install 'quantlint[dask]'" in proc.stderr and "Traceback" not in proc.stderr
    bad = scan(hub, home, REPOS[0], "--executor", "spark://x")
    assert bad.returncode == 2 and "--executor" in bad.stderr
    (home / "a-file").write_text("")
    unwritable = scan(hub, home, REPOS[0], "--output-dir", "a-file/parts")
    assert unwritable.returncode == 2 and "--output-dir a-file/parts" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr


def most_resolves_within(hub: HubStandIn, window: float) -> int:
    """The most /resolve/ requests that arrived within `window` seconds of each other."""
    times = sorted(r.time for r in hub.requests("/resolve/"))
    return max((sum(1 for u in times[i:] if u - t < window) for i, t in enumerate(times)), default=0)


def test_max_inflight_caps_hub_requests_across_the_cluster(hub, home, cluster):
    latency = 0.1  # each request takes at least this long, so requests closer than it overlapped
    hub.latency = latency
    try:
        counts = {}
        for cap in ("2", "0"):
            hub.reset()
            proc = scan(hub, home, *REPOS, "--executor", cluster.scheduler.address, "--batch-size", "8",
                        "--jobs", "4", "--max-inflight", cap, "--output-format", "json-lines")
            objects = by_target(rows(proc.stdout))
            assert sorted(objects) == QUANT_FILES and not any(o.get("error") for o in objects.values()), proc.stderr
            counts[cap] = most_resolves_within(hub, latency * 0.9)
    finally:
        hub.latency = 0.0
    assert counts["2"] <= 2 < counts["0"]  # two workers x 4 threads, held to 2 by the semaphore


@pytest.mark.filterwarnings("ignore:Closing semaphore")  # the dead worker held a lease
def test_a_worker_killed_mid_scan_loses_no_file(hub, home, cluster):
    hub.latency = 0.05
    hub.reset()
    try:
        pids = cluster.run(os.getpid)
        env = client_env(hub, home, TOKEN)
        driver = subprocess.Popen([sys.executable, "-m", "quantlint", "scan", *REPOS, GATED, "--executor",
                                   cluster.scheduler.address, "--batch-size", "2", "--jobs", "1",
                                   "--output-format", "json-lines"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=home)
        deadline = time.monotonic() + 60
        while not hub.requests("/resolve/") and time.monotonic() < deadline:
            time.sleep(0.02)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)  # a worker process this module started
        stdout, stderr = driver.communicate(timeout=300)
    finally:
        hub.latency = 0.0
    objects = by_target(rows(stdout))
    assert sorted(objects) == FILES, stderr  # every file reported (or as an error row), none lost
    assert all(o.get("error") or o["model"]["quant"] in ("Q2_K", "Q4_K_M") for o in objects.values())
    assert victim not in cluster.run(os.getpid).values()
