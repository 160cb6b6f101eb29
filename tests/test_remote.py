"""Remote targets through the local Hub stand-in: same facts as local, bounded requests and
bytes, truncation, faults, gated/missing repos, tokens, offline mode. Never the real Hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hubstandin import HubStandIn, client_env

pytestmark = pytest.mark.network_standin

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "fixtures" / "examples"
TOKEN = "hf_standinTOKEN0123456789abcdef"
MiB = 1 << 20


@pytest.fixture
def hub():
    stand_in = HubStandIn(token=TOKEN)
    stand_in.start()
    yield stand_in
    stand_in.stop()


def quantlint(hub: HubStandIn, home: Path, *args: str, token: str | None = TOKEN, extra_env: dict | None = None,
              timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**client_env(hub, home, token), **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "quantlint", *args], capture_output=True, text=True, env=env,
                          cwd=home, timeout=timeout)


def lint_doc(hub: HubStandIn, home: Path, *targets: str, **kwargs) -> tuple[int, dict]:
    proc = quantlint(hub, home, "--output-format", "json", *targets, **kwargs)
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def comparable(target: dict) -> dict:
    """The facts a file yields, minus where it was read from (path, repo, bytes fetched, and
    the provenance promises a repo name adds)."""
    model = dict(target["model"])
    model["file"] = {k: v for k, v in model["file"].items() if k not in ("path", "bytes_read")}
    model["identity"] = {k: v for k, v in model["identity"].items() if k != "repo"}
    for key in ("provenance", "notes"):
        model.pop(key, None)
    return {"model": model, "findings": target["findings"]}


def ranged(hub: HubStandIn, path: str) -> list:
    return [r for r in hub.requests(path, ranged=True) if "/resolve/" in r.path]


# -- the same facts locally and remotely ----------------------------------------------------------
@pytest.mark.parametrize("name", ["tiny-llama-instruct-Q2_K.gguf", "tiny-llama-instruct-Q4_K_M.gguf"])
def test_remote_file_gives_the_same_facts_and_findings_as_local(hub, tmp_path, name):
    local = EXAMPLES / name
    hub.add_repo("org/Tiny-GGUF", {f"sub/{name}": local})
    _, here = lint_doc(hub, tmp_path, str(local))
    _, there = lint_doc(hub, tmp_path, f"org/Tiny-GGUF:sub/{name}")
    assert there["targets"][0]["target"] == f"org/Tiny-GGUF:sub/{name}"
    assert there["targets"][0]["model"]["identity"]["repo"] == "org/Tiny-GGUF"
    assert comparable(there["targets"][0]) == comparable(here["targets"][0])
    assert here["targets"][0]["findings"] or name.endswith("Q4_K_M.gguf")


def test_moe_file_same_facts_through_hf_url(hub, tmp_path, make_gguf):
    from fixtures.ggufgen import Arch

    local = make_gguf("moe-Q3_K_M.gguf", "Q3_K_M", arch=Arch(n_expert=8, n_expert_used=2))
    hub.add_repo("org/MoE-GGUF", {"moe-Q3_K_M.gguf": local})
    _, here = lint_doc(hub, tmp_path, str(local))
    _, there = lint_doc(hub, tmp_path, "hf://org/MoE-GGUF/moe-Q3_K_M.gguf")
    assert there["targets"][0]["model"]["moe"]["experts"] == 8
    assert comparable(there["targets"][0]) == comparable(here["targets"][0])


# -- requests and bytes for a 6.5 MB header ----------------------------------------------------
def _assert_big_header_budget(hub: HubStandIn, home: Path, path: Path, name: str) -> None:
    hub.add_repo("big/Vocab-GGUF", {name: path})
    _, here = lint_doc(hub, home, str(path))
    hub.reset()
    _, there = lint_doc(hub, home, f"big/Vocab-GGUF:{name}")
    header = there["targets"][0]["model"]["file"]["header_bytes"]
    reads = ranged(hub, name)
    sent = sum(r.bytes for r in reads)
    assert header > 6 * MiB
    assert len(reads) <= 2, [r.range for r in reads]
    assert sent <= header + 2 * MiB, (sent, header)
    assert there["targets"][0]["model"]["file"]["bytes_read"] == sent
    assert comparable(there["targets"][0]) == comparable(here["targets"][0])


@pytest.mark.real
def test_real_gemma_header_takes_two_requests(hub, tmp_path, gemma):
    _assert_big_header_budget(hub, tmp_path, gemma, gemma.name)


def test_synthetic_262k_vocab_header_takes_two_requests(hub, tmp_path):
    """Shaped like Gemma 3: a 262,144-token SentencePiece vocab with scores and token types,
    token strings growing longer through the list (as merge-ranked vocabularies do)."""
    from fixtures.ggufgen import Arch, model_spec, write_gguf

    n = 262_144
    tokens = ["<pad>", "<eos>", "<bos>"] + ["\u2581" + "ab" * (1 + i * 5 // n) + str(i) for i in range(3, n)]
    spec = model_spec("Q4_K_M", Arch("gemma3", n_vocab=n, n_embd=256), tokens=tokens, tokenizer_model="llama",
                      tokenizer_pre="default")
    path = write_gguf(tmp_path / "vocab262k-Q4_K_M.gguf", spec)
    _assert_big_header_budget(hub, tmp_path, path, path.name)


def test_small_header_is_one_request(hub, tmp_path, make_gguf):
    path = make_gguf("small-Q4_K_M.gguf", "Q4_K_M")
    hub.add_repo("org/Small-GGUF", {path.name: path})
    code, doc = lint_doc(hub, tmp_path, f"org/Small-GGUF:{path.name}")
    assert doc["targets"][0]["model"]["quant"] == "Q4_K_M"
    assert len(ranged(hub, path.name)) == 1


# -- truncation and QL901 ---------------------------------------------------------------------
def test_remote_truncated_file_gives_ql901(hub, tmp_path, make_gguf):
    full = make_gguf("cut-Q4_K_M.gguf", "Q4_K_M")
    data = full.read_bytes()
    cut = tmp_path / "served.gguf"
    cut.write_bytes(data[: len(data) * 2 // 3])
    hub.add_repo("org/Cut-GGUF", {"cut-Q4_K_M.gguf": cut})
    code, doc = lint_doc(hub, tmp_path, "org/Cut-GGUF:cut-Q4_K_M.gguf")
    target = doc["targets"][0]
    assert code == 1
    assert "QL901" in [f["code"] for f in target["findings"]]
    assert target["model"]["file"]["size"] == cut.stat().st_size
    assert "error" not in target  # the file was read: truncation is a finding about it


# -- a repo expands to its models ---------------------------------------------------------------
def test_repo_expands_to_every_gguf_and_groups_shards(hub, tmp_path, make_gguf):
    q2 = EXAMPLES / "tiny-llama-instruct-Q2_K.gguf"
    q4 = EXAMPLES / "tiny-llama-instruct-Q4_K_M.gguf"
    hub.add_repo("org/Many-GGUF", {
        "Many-Q2_K.gguf": q2, "Many-Q4_K_M.gguf": q4,
        "big/Many-Q8_0-00001-of-00002.gguf": q4, "big/Many-Q8_0-00002-of-00002.gguf": q4,
        "config.json": b'{"model_type": "llama"}', "README.md": b"# Many\n", ".gitattributes": b"*.gguf filter=lfs\n",
    })
    code, doc = lint_doc(hub, tmp_path, "org/Many-GGUF")
    names = [t["target"] for t in doc["targets"]]
    assert names == ["org/Many-GGUF:Many-Q2_K.gguf", "org/Many-GGUF:Many-Q4_K_M.gguf",
                     "org/Many-GGUF:big/Many-Q8_0-00001-of-00002.gguf"]
    shard_set = doc["targets"][2]["model"]
    assert shard_set["file"]["shards"] == ["big/Many-Q8_0-00001-of-00002.gguf", "big/Many-Q8_0-00002-of-00002.gguf"]
    assert shard_set["tensor_count"] == 2 * doc["targets"][1]["model"]["tensor_count"]  # tensors of both shards
    pinned = {r.path.split("/resolve/")[1].split("/")[0] for r in hub.requests("/resolve/")}
    assert pinned == {hub.repos["org/Many-GGUF"].sha}  # every file read at one commit, not "main"


def test_remote_hf_folder_reads_headers_only(hub, tmp_path):
    from fixtures.hfgen import make_model_dir

    folder = make_model_dir(tmp_path / "awq", "awq", bits=4, group_size=128)
    files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    hub.add_repo("org/Model-AWQ", files)
    _, here = lint_doc(hub, tmp_path, str(folder))
    hub.reset()
    _, there = lint_doc(hub, tmp_path, "org/Model-AWQ")
    assert there["targets"][0]["model"]["format"] == "awq"
    assert comparable(there["targets"][0])["model"]["quant"] == comparable(here["targets"][0])["model"]["quant"]
    for name, path in files.items():
        if name.endswith(".safetensors"):
            header = 8 + int.from_bytes(path.read_bytes()[:8], "little")
            sent = sum(r.bytes for r in ranged(hub, name))
            assert sent <= header + 64 * 1024, (name, sent, header)  # never the weights


# -- failures: one line each, the run goes on ----------------------------------------------------
def test_gated_and_missing_repos_are_one_line_errors(hub, tmp_path):
    q2 = EXAMPLES / "tiny-llama-instruct-Q2_K.gguf"
    hub.add_repo("org/Gated-GGUF", {"g-Q2_K.gguf": q2}, gated=True)
    hub.add_repo("org/Open-GGUF", {"o-Q2_K.gguf": q2})
    proc = quantlint(hub, tmp_path, "--output-format", "json", "org/Gated-GGUF", "org/Missing-GGUF",
                     "org/Open-GGUF", token=None)
    doc = json.loads(proc.stdout)
    by_name = {t["target"]: t for t in doc["targets"]}
    gated = by_name["org/Gated-GGUF:g-Q2_K.gguf"]["error"]
    missing = by_name["org/Missing-GGUF"]["error"]
    assert "gated" in gated and "HF_TOKEN" in gated and "\n" not in gated
    assert "not found" in missing and "\n" not in missing
    assert by_name["org/Open-GGUF:o-Q2_K.gguf"]["model"]["quant"] == "Q2_K"
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    text = quantlint(hub, tmp_path, "--output-format", "concise", "org/Missing-GGUF", token=None)
    assert text.stdout.splitlines()[0].startswith("org/Missing-GGUF: error: org/Missing-GGUF: repository not found")


def test_token_is_sent_to_the_hub_and_never_printed(hub, tmp_path):
    q2 = EXAMPLES / "tiny-llama-instruct-Q2_K.gguf"
    hub.add_repo("org/Gated-GGUF", {"g-Q2_K.gguf": q2, "README.md": b"---\nbase_model: org/Base\n---\n"}, gated=True)
    hub.persistent["/broken.gguf"] = "500"
    hub.add_repo("org/Broken-GGUF", {"broken.gguf": q2})
    outputs = []
    for fmt in ("full", "json", "concise"):
        proc = quantlint(hub, tmp_path, "--output-format", fmt, "org/Gated-GGUF", "org/Broken-GGUF",
                         "org/Missing-GGUF", extra_env={"HF_DEBUG": "0"})
        outputs += [proc.stdout, proc.stderr]
    scan = quantlint(hub, tmp_path, "scan", "org/Gated-GGUF", "org/Broken-GGUF", "org/Missing-GGUF", "--no-cache")
    outputs += [scan.stdout, scan.stderr]
    assert "QL101" in outputs[0]  # the gated repo was read with the token
    hub_requests = [r for r in hub.requests() if r.status != -1]
    assert hub_requests and all(r.auth for r in hub_requests)
    assert not any(TOKEN in text or TOKEN[3:] in text for text in outputs)


def test_server_faults_are_retried(hub, tmp_path):
    q4 = EXAMPLES / "tiny-llama-instruct-Q4_K_M.gguf"
    hub.add_repo("org/Flaky-GGUF", {"flaky-Q4_K_M.gguf": q4})
    hub.fault_rate, hub.fault_repeats = 1.0, 1  # every request fails once: 429, 500, drop or short
    for kind in ("429", "500", "drop", "short"):
        hub.reset()
        hub.fault_kinds = (kind,)
        code, doc = lint_doc(hub, tmp_path, "org/Flaky-GGUF:flaky-Q4_K_M.gguf")
        assert doc["targets"][0]["model"]["quant"] == "Q4_K_M", (kind, doc["targets"][0].get("error"))
        assert any(r.fault == kind for r in hub.requests()), kind
    waited = [r for r in hub.requests() if r.fault == "short"]
    assert waited


def test_persistent_failure_is_an_error_not_a_finding(hub, tmp_path):
    hub.add_repo("org/Down-GGUF", {"down.gguf": EXAMPLES / "tiny-llama-instruct-Q2_K.gguf"})
    hub.persistent["/down.gguf"] = "500"
    code, doc = lint_doc(hub, tmp_path, "org/Down-GGUF:down.gguf")
    target = doc["targets"][0]
    assert code == 1
    assert "HTTP 500" in target["error"] and target["findings"] == []
    assert len(hub.requests("/down.gguf")) == 4  # the first try and 3 retries (QUANTLINT_HTTP_RETRIES)


def test_429_honours_retry_after(hub, tmp_path):
    hub.add_repo("org/Busy-GGUF", {"busy.gguf": EXAMPLES / "tiny-llama-instruct-Q2_K.gguf"})
    hub.fault_rate, hub.fault_kinds, hub.retry_after = 1.0, ("429",), 1
    proc = quantlint(hub, tmp_path, "--output-format", "json", "org/Busy-GGUF:busy.gguf")
    doc = json.loads(proc.stdout)
    assert doc["targets"][0]["model"]["quant"] == "Q2_K"
    faulted = [r for r in hub.log if r.fault == "429"]
    assert faulted
    # The retry of the ranged read came after Retry-After (1 s) + 1 s, not after our 0.01 s backoff.
    reads = [r for r in hub.log if "/resolve/" in r.path]
    assert len(reads) == 2 and reads[1].time - reads[0].time >= 1.9


def test_server_that_ignores_range_is_refused(hub, tmp_path):
    hub.add_repo("org/NoRange-GGUF", {"m.gguf": EXAMPLES / "tiny-llama-instruct-Q2_K.gguf"})
    hub.ignore_range = True
    code, doc = lint_doc(hub, tmp_path, "org/NoRange-GGUF:m.gguf")
    assert code == 1
    assert "ignored the Range header" in doc["targets"][0]["error"]


# -- plain URLs, offline, parsing -----------------------------------------------------------------
def test_plain_url_gets_no_token(hub, tmp_path):
    cdn = HubStandIn(token=TOKEN)
    cdn.add_repo("files/x", {"m-Q2_K.gguf": EXAMPLES / "tiny-llama-instruct-Q2_K.gguf"})
    cdn.start()
    try:
        url = f"{cdn.url}/files/x/resolve/main/m-Q2_K.gguf"
        code, doc = lint_doc(hub, tmp_path, url)
        assert doc["targets"][0]["model"]["quant"] == "Q2_K"
        assert cdn.requests() and not any(r.auth_header for r in cdn.requests())  # no token to another host
        assert hub.requests("/resolve/") == []
    finally:
        cdn.stop()


def test_offline_reads_the_hf_cache_without_network(hub, tmp_path):
    q2 = EXAMPLES / "tiny-llama-instruct-Q2_K.gguf"
    repo = tmp_path / "hf-home" / "hub" / "models--org--Cached-GGUF"
    sha = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(sha)
    snap = repo / "snapshots" / sha
    snap.mkdir(parents=True)
    (snap / "c-Q2_K.gguf").write_bytes(q2.read_bytes())
    code, doc = lint_doc(hub, tmp_path, "org/Cached-GGUF", extra_env={"HF_HUB_OFFLINE": "1"})
    assert [t["target"] for t in doc["targets"]] == ["org/Cached-GGUF:c-Q2_K.gguf"]
    assert doc["targets"][0]["model"]["quant"] == "Q2_K"
    code, doc = lint_doc(hub, tmp_path, "--offline", "org/NotCached-GGUF")
    assert "not in the local Hugging Face cache" in doc["targets"][0]["error"]
    assert hub.requests() == []


def test_parse_spec_forms():
    from quantlint.remote.targets import parse_spec

    assert parse_spec("org/repo").repo == "org/repo"
    s = parse_spec("org/repo@v1.0:dir/x.gguf")
    assert (s.repo, s.revision, s.path) == ("org/repo", "v1.0", "dir/x.gguf")
    s = parse_spec("hf://org/repo@refs%2Fpr%2F1/x.gguf")
    assert (s.repo, s.revision, s.path) == ("org/repo", "refs/pr/1", "x.gguf")
    s = parse_spec("https://huggingface.co/org/repo/blob/main/a/b.gguf")
    assert (s.repo, s.revision, s.path) == ("org/repo", "main", "a/b.gguf")
    assert parse_spec("https://example.com/m.gguf").url == "https://example.com/m.gguf"


def test_local_lint_does_not_import_huggingface_hub(tmp_path):
    code = ("import sys, quantlint.cli as c\nsys.argv=['quantlint','--output-format','json',sys.argv[1]]\n"
            "try:\n    c.app()\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write('HF=' + str('huggingface_hub' in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "tiny-llama-instruct-Q4_K_M.gguf")],
                          capture_output=True, text=True, env={**os.environ, "HF_HUB_DISABLE_TELEMETRY": "1"})
    assert proc.stderr.endswith("HF=False"), proc.stderr[-500:]


def test_files_of_a_repo_are_read_concurrently_in_order(hub, tmp_path):
    q4 = EXAMPLES / "tiny-llama-instruct-Q4_K_M.gguf"
    hub.add_repo("org/Six-GGUF", {f"Six-{i}-Q4_K_M.gguf": q4 for i in range(6)})
    hub.latency = 0.05
    code, doc = lint_doc(hub, tmp_path, "org/Six-GGUF")
    assert [t["target"] for t in doc["targets"]] == [f"org/Six-GGUF:Six-{i}-Q4_K_M.gguf" for i in range(6)]
    assert all(t["format"] == "gguf" for t in doc["targets"])
    assert hub.max_in_flight > 1  # range reads overlapped
