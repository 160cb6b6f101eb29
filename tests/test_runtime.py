"""Runtime settings: QL201 (KV cache below q8_0), QL202 (memory over budget), the memory
estimate, `quantlint launch` (llama.cpp commands, Ollama Modelfiles) and `quantlint pick`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.ggufgen import LLAMA_3_8B, Arch, model_spec, write_gguf
from quantlint.model import Model
from quantlint.runtime.launch import LaunchError, parse_launch, parse_modelfile
from quantlint.runtime.memory import (
    GIB,
    MIB,
    attention_layout,
    estimate_memory,
    kv_cache_bytes,
    largest_context,
)
from quantlint.runtime.pick import rank
from quantlint.settings import RuntimePlan
from tests.conftest import codes, lint_json, lint_model_path, run_cli

SMALL = Arch("llama", 16, 2048, 8192, 32, 8, None, 32000, 8192)  # ~1.1B, 64-dim heads
QUANTS = ("Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q8_0")


def _findings(path: Path, code: str, **plan):
    _, findings = lint_model_path(path, plan=RuntimePlan(**plan))
    return [f for f in findings if f.code == code]


@pytest.fixture
def small(tmp_path) -> Path:
    return write_gguf(tmp_path / "M.gguf", model_spec("Q4_K_M", SMALL))


@pytest.fixture
def llama8b(tmp_path) -> Path:
    """An 8B-class Llama 3 at Q4_K_M: a sparse full-size file (4.58 GiB of tensor data)."""
    return write_gguf(tmp_path / "Llama-3-8B-Q4_K_M.gguf", model_spec("Q4_K_M", LLAMA_3_8B))


# -- QL201 -------------------------------------------------------------------------------------
def test_ql201_q4_cache_at_8192_warns_and_names_the_flags(small):
    [finding] = _findings(small, "QL201", ctx_size=8192, cache_type_k="q4_0", cache_type_v="q4_0")
    assert finding.severity == "warning"
    assert "--cache-type-k q8_0 --cache-type-v q8_0" in finding.hint
    assert finding.data["context"] == 8192 and finding.data["below_q8"] == ["K", "V"]


def test_ql201_quiet_below_4096_and_at_q8(small):
    assert _findings(small, "QL201", ctx_size=2048, cache_type_k="q4_0") == []
    assert _findings(small, "QL201", ctx_size=32768, cache_type_k="q8_0", cache_type_v="q8_0") == []
    assert _findings(small, "QL201", ctx_size=32768) == []  # nothing planned: f16 by default


@pytest.mark.parametrize("cache_type", ["q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"])
def test_ql201_every_type_below_q8(small, cache_type):
    assert len(_findings(small, "QL201", ctx_size=4096, cache_type_k=cache_type)) == 1


def test_ql201_v_only_is_info(small):
    [finding] = _findings(small, "QL201", ctx_size=8192, cache_type_v="q4_0")
    assert finding.severity == "info"


def test_ql201_without_ctx_uses_the_training_context(tmp_path):
    long = write_gguf(tmp_path / "long.gguf", model_spec("Q4_K_M", Arch(context_length=131072)))
    short = write_gguf(tmp_path / "short.gguf", model_spec("Q4_K_M", Arch(context_length=2048)))
    [finding] = _findings(long, "QL201", cache_type_k="q4_0")
    assert finding.data["context"] == 131072 and "training context" in finding.message
    assert _findings(short, "QL201", cache_type_k="q4_0") == []
    # Ollama's default context is 4096 whatever the model says
    assert _findings(short, "QL201", cache_type_k="q4_0", runtime="ollama")[0].data["context"] == 4096


def test_ql201_through_the_cli(small):
    _, doc = lint_json("-c", "8192", "-ctk", "q4_0", "-ctv", "q4_0", str(small))
    assert "QL201" in codes(doc)
    _, doc = lint_json("-c", "2048", "-ctk", "q4_0", str(small))
    assert "QL201" not in codes(doc)


# -- launch --------------------------------------------------------------------------------------
def test_launch_llama_server_command(small):
    proc = run_cli("launch", "--output-format", "json", "--", "llama-server", "-m", str(small),
                   "-c", "32768", "--cache-type-k", "q4_0")
    doc = json.loads(proc.stdout)
    assert doc["targets"][0]["target"] == str(small)
    [finding] = [f for f in doc["targets"][0]["findings"] if f["code"] == "QL201"]
    assert finding["location"] == "llama-server command" and finding["data"]["context"] == 32768


def test_launch_ollama_modelfile_and_env(small):
    modelfile = small.parent / "Modelfile"
    modelfile.write_text('FROM ./M.gguf\nPARAMETER num_ctx 16384\nTEMPLATE """FROM nowhere\n{{ .Prompt }}"""\n')
    proc = run_cli("launch", "--output-format", "json", "--modelfile", str(modelfile),
                   env={"OLLAMA_KV_CACHE_TYPE": "q4_0"})
    doc = json.loads(proc.stdout)
    assert doc["targets"][0]["target"] == str(small)
    [finding] = [f for f in doc["targets"][0]["findings"] if f["code"] == "QL201"]
    assert finding["data"]["context"] == 16384
    assert "OLLAMA_KV_CACHE_TYPE=q8_0" in finding["hint"]
    proc = run_cli("launch", "--output-format", "json", "--modelfile", str(modelfile))  # no env: f16
    assert "QL201" not in codes(json.loads(proc.stdout))


def test_launch_parses_equals_forms_env_vars_and_precedence():
    launch = parse_launch(["llama-cli", "--model=m.gguf", "--ctx-size=8192", "-fa", "-ngl", "99"],
                          env={"LLAMA_ARG_CACHE_TYPE_K": "q4_0", "LLAMA_ARG_CTX_SIZE": "1024"})
    assert launch.model == "m.gguf" and launch.plan.ctx_size == 8192  # the argument wins over the env var
    assert launch.plan.cache_type_k == "q4_0" and launch.plan.cache_type_v is None
    assert launch.plan.flash_attention is True and launch.plan.gpu_layers == 99
    launch = parse_launch(["LLAMA_ARG_CTX_SIZE=4096 ./build/bin/llama-server -m m.gguf -fa off"], env={})
    assert launch.plan.ctx_size == 4096 and launch.plan.flash_attention is False
    assert launch.program == "llama-server"


def test_launch_rejects_what_llama_cpp_rejects():
    with pytest.raises(LaunchError, match="Unsupported cache type"):
        parse_launch(["llama-server", "-m", "m.gguf", "-ctk", "Q4_0"], env={})
    with pytest.raises(LaunchError, match="reads llama.cpp commands"):
        parse_launch(["vllm", "serve", "m"], env={})
    proc = run_cli("launch", "--", "llama-server", "-c", "8192")
    assert proc.returncode == 2 and "names no model" in proc.stderr


def test_modelfile_parsing(tmp_path):
    source, params = parse_modelfile('# c\nFROM llama3.2\nSYSTEM """\nFROM x\n"""\nPARAMETER num_ctx 8192\n')
    assert source == "llama3.2" and params == {"num_ctx": "8192"}
    (tmp_path / "Modelfile").write_text("FROM llama3.2\n")
    launch = parse_launch([], env={"OLLAMA_CONTEXT_LENGTH": "32768"}, modelfile=str(tmp_path / "Modelfile"))
    assert launch.model == "ollama:llama3.2" and launch.plan.ctx_size == 32768


# -- memory estimate -----------------------------------------------------------------------------
def test_gemma_kv_cache_matches_the_hand_computation(gemma):
    from quantlint.readers import read_local_file

    model = read_local_file(str(gemma), str(gemma))
    est = estimate_memory(model, RuntimePlan(ctx_size=8192))
    # 18 layers x 1 KV head x 256 dims x 2 (K and V) x 2 bytes x 8192 = 144 MiB
    assert est.kv_full_bytes == 18 * 1 * 256 * 2 * 2 * 8192 == 144 * MIB
    # llama.cpp keeps 15 of the 18 layers (gemma3: 5 local : 1 global) at min(8192, 512 + 512) cells
    assert est.swa_layers == 15 and est.window == 512
    assert est.kv_bytes == (3 * 8192 + 15 * 1024) * 256 * 2 * 2 == 39 * MIB
    assert est.weights_bytes == sum(t.nbytes for t in model.tensors)


def _model(arch: str, **hyper) -> Model:
    return Model(format="gguf", target="x", architecture=arch, hyperparameters=hyper)


def test_cache_type_bytes_come_from_the_ggml_table():
    layout, _ = attention_layout(_model("llama", block_count=2, embedding_length=4096,
                                        **{"attention.head_count": 32, "attention.head_count_kv": 8}))
    f16 = sum(kv_cache_bytes(layout, 4096))
    assert f16 == 2 * 8 * 128 * 2 * 2 * 4096
    assert sum(kv_cache_bytes(layout, 4096, "q8_0", "q8_0")) * 64 == f16 * 34  # 34 bytes per 32 values
    assert sum(kv_cache_bytes(layout, 4096, "q4_0", "q4_0")) * 64 == f16 * 18  # 18 bytes per 32 values
    k, v = kv_cache_bytes(layout, 4096, "q4_0", "f16")
    assert k * 64 == v * 18


def test_per_layer_kv_heads_and_layers_without_attention():
    model = _model("jamba", block_count=4, embedding_length=1024,
                   **{"attention.head_count": 8, "attention.head_count_kv": [0, 2, 0, 4]})
    layout, _ = attention_layout(model)
    assert sum(kv_cache_bytes(layout, 1024)) == (2 + 4) * 128 * 2 * 2 * 1024


def test_sliding_window_only_where_llama_cpp_applies_it():
    gemma3 = _model("gemma3", block_count=12, embedding_length=1024,
                    **{"attention.head_count": 4, "attention.head_count_kv": 1, "attention.key_length": 256,
                       "attention.value_length": 256, "attention.sliding_window": 1024})
    layout, _ = attention_layout(gemma3)
    assert [il for il, swa in enumerate(layout.swa) if not swa] == [5, 11]
    # a Mistral-style window on a llama file: llama.cpp ignores it, every layer is full
    mistral = _model("llama", block_count=4, embedding_length=1024,
                     **{"attention.head_count": 8, "attention.sliding_window": 4096})
    layout, _ = attention_layout(mistral)
    assert not any(layout.swa) and "full context" in layout.notes[0]
    # the file's own pattern key wins: one flag per layer
    flags = _model("gemma4", block_count=3, embedding_length=512,
                   **{"attention.head_count": 4, "attention.sliding_window": 512,
                      "attention.sliding_window_pattern": [True, False, True]})
    assert attention_layout(flags)[0].swa == (True, False, True)


def test_moe_weights_count_every_expert_and_kv_is_unaffected(tmp_path):
    dense = Arch("qwen3moe", 4, 512, 1024, 8, 2, None, 1000, 8192)
    moe = Arch("qwen3moe", 4, 512, 1024, 8, 2, None, 1000, 8192, n_expert=8, n_expert_used=2, n_ff_expert=256)
    m_dense, _ = lint_model_path(write_gguf(tmp_path / "d.gguf", model_spec("Q5_K_M", dense)))
    m_moe, _ = lint_model_path(write_gguf(tmp_path / "m.gguf", model_spec("Q5_K_M", moe)))
    e_dense, e_moe = estimate_memory(m_dense, context=4096), estimate_memory(m_moe, context=4096)
    assert e_moe.weights_bytes == sum(t.nbytes for t in m_moe.tensors)
    experts = sum(t.nbytes for t in m_moe.tensors if "_exps" in t.name)
    assert experts > 0 and e_moe.weights_bytes > experts
    assert e_moe.kv_bytes == e_dense.kv_bytes
    assert any("all 8 experts are resident" in n for n in e_moe.notes)


# -- QL202 -------------------------------------------------------------------------------------
def test_ql202_8b_under_4gib_is_an_error(llama8b):
    [finding] = _findings(llama8b, "QL202", memory_bytes=[4 * GIB])
    assert finding.severity == "error"
    assert finding.data["over_by_bytes"] == finding.data["fit_bytes"] - 4 * GIB > 0
    assert "GiB short" in finding.message and "What would fit" in finding.hint


def test_ql202_quiet_under_24gib(llama8b):
    assert _findings(llama8b, "QL202", memory_bytes=[24 * GIB]) == []
    assert _findings(llama8b, "QL202", memory_bytes=[12 * GIB, 12 * GIB]) == []  # devices add up


def test_ql202_cli(llama8b):
    code, doc = lint_json("--memory", "4GiB", str(llama8b))
    assert code == 1 and "QL202" in codes(doc)
    code, doc = lint_json("--memory", "24GiB", str(llama8b))
    assert "QL202" not in codes(doc)


def test_ql202_offers_the_largest_context_that_fits(llama8b):
    model, _ = lint_model_path(llama8b)
    plan = RuntimePlan(memory_bytes=[12 * GIB])
    [finding] = _findings(llama8b, "QL202", memory_bytes=[12 * GIB])
    best = largest_context(model, plan, 12 * GIB)
    assert f"-c {best}" in finding.hint
    assert estimate_memory(model, plan, context=best).fit_bytes <= 12 * GIB
    assert estimate_memory(model, plan, context=best + 256).fit_bytes > 12 * GIB


def test_ql202_offers_a_q8_cache_or_a_smaller_quant(llama8b):
    # a card with every layer offloaded (-ngl 99): 4.58 GiB of weights + 1 GiB f16 KV + 267 MiB
    # compute is over 5.5 GiB; with a q8_0 cache (544 MiB) it fits
    [finding] = _findings(llama8b, "QL202", memory_bytes=[int(5.5 * GIB)], ctx_size=8192, gpu_layers=99)
    assert "--cache-type-k q8_0 --cache-type-v q8_0" in finding.hint
    [finding] = _findings(llama8b, "QL202", memory_bytes=[int(4.5 * GIB)], ctx_size=4096, gpu_layers=99)
    assert "smaller quant of this model, about Q3_K" in finding.hint and "below the floor" in finding.hint


# -- pick ----------------------------------------------------------------------------------------
@pytest.fixture
def quant_dir(tmp_path) -> Path:
    for q in QUANTS:
        write_gguf(tmp_path / "quants" / f"tiny-{q}.gguf", model_spec(q, SMALL))
    return tmp_path / "quants"


def _totals(models, plan):
    return {m.quant: estimate_memory(m, plan).fit_bytes for m in models}


def test_pick_chooses_the_highest_tier_that_fits_each_budget(quant_dir):
    from quantlint.runtime.pick import read_models

    models = read_models([str(quant_dir)])
    plan = RuntimePlan(ctx_size=4096)
    totals = _totals(models, plan)
    assert [totals[q] for q in QUANTS] == sorted(totals[q] for q in QUANTS)  # sizes grow with the tier
    for q in QUANTS:
        result = rank(models, RuntimePlan(ctx_size=4096, memory_bytes=[totals[q]]))
        assert result.chosen.quant == q
        assert result.ok == (q not in ("Q2_K", "Q3_K_M"))
    # a budget between Q3_K_M and Q4_K_M: the best that fits is sub-floor, named with a warning
    between = (totals["Q3_K_M"] + totals["Q4_K_M"]) // 2
    result = rank(models, RuntimePlan(ctx_size=4096, memory_bytes=[between]))
    assert result.chosen.quant == "Q3_K_M" and not result.ok and "below the floor" in result.chosen.why
    assert rank(models, RuntimePlan(ctx_size=4096, memory_bytes=[totals["Q2_K"] - 1])).chosen is None


def test_pick_never_takes_a_sub_floor_tier_when_a_floor_tier_fits(quant_dir):
    from quantlint.runtime.pick import read_models

    models = read_models([str(quant_dir)])
    totals = _totals(models, RuntimePlan(ctx_size=4096))
    result = rank(models, RuntimePlan(ctx_size=4096, memory_bytes=[totals["Q4_K_M"]]), floor="Q4_K_M")
    assert result.chosen.quant == "Q4_K_M" and result.ok
    whys = {c.quant: c.why for c in result.candidates}
    assert whys["Q3_K_M"].startswith("fits, but below the floor") and whys["Q5_K_M"].startswith("does not fit")
    # the high-stakes floor moves the line: at the same budget nothing passes, Q4_K_M comes with a warning
    assert not rank(models, RuntimePlan(ctx_size=4096, memory_bytes=[totals["Q4_K_M"]]), floor="Q5_K_M").ok


def test_pick_wants_q5_for_moe(tmp_path):
    arch = Arch("qwen3moe", 4, 512, 1024, 8, 2, None, 1000, 8192, n_expert=8, n_expert_used=2, n_ff_expert=256)
    models = [lint_model_path(write_gguf(tmp_path / f"moe-{q}.gguf", model_spec(q, arch)))[0]
              for q in ("Q4_K_M", "Q5_K_M")]
    totals = _totals(models, RuntimePlan(ctx_size=4096))
    result = rank(models, RuntimePlan(ctx_size=4096, memory_bytes=[totals["Q4_K_M"]]))
    assert result.chosen.quant == "Q4_K_M" and not result.ok and "QL102" in result.chosen.why
    assert rank(models, RuntimePlan(ctx_size=4096, memory_bytes=[totals["Q5_K_M"]])).ok


def test_pick_cli_table_and_json(quant_dir):
    # f16 KV at 4096 + llama.cpp's buffers: Q5_K_M needs about 0.93 GiB, Q8_0 1.29 GiB
    proc = run_cli("pick", str(quant_dir), "--memory", "1.2GiB", "--ctx", "4096")
    assert proc.returncode == 0, proc.stderr
    chosen = [line for line in proc.stdout.splitlines() if line.startswith("→")]
    assert len(chosen) == 1 and "Q5_K_M" in chosen[0]
    proc = run_cli("pick", str(quant_dir), "--memory", "0.5GiB", "--ctx", "4096", "--json")
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["chosen"] is None and len(doc["candidates"]) == 5
    assert run_cli("pick", str(quant_dir / "nothing-here"), "--memory", "8GiB").returncode == 2


def test_inspect_shows_the_memory_section(small):
    proc = run_cli("inspect", "--color", "never", str(small))
    assert "memory estimate" in proc.stdout and "leaves out" in proc.stdout


@pytest.mark.network_standin
def test_pick_reads_a_hub_repo(quant_dir):
    from quantlint.runtime.pick import read_models
    from tests.hubstandin import HubStandIn

    local = {m.quant: m for m in read_models([str(quant_dir)])}
    budget = estimate_memory(local["Q5_K_M"], RuntimePlan(ctx_size=4096)).fit_bytes
    stand_in = HubStandIn()
    stand_in.add_repo("org/Tiny-GGUF", {p.name: p for p in sorted(quant_dir.iterdir())})
    stand_in.start()
    try:
        env = {"HF_ENDPOINT": stand_in.url, "HF_HUB_OFFLINE": "0", "HF_TOKEN": ""}
        proc = run_cli("pick", "org/Tiny-GGUF", "--memory", str(budget), "--ctx", "4096", "--json", env=env)
    finally:
        stand_in.stop()
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["chosen"] == "org/Tiny-GGUF:tiny-Q5_K_M.gguf" and len(doc["candidates"]) == len(QUANTS)


def test_hostile_layer_count_is_refused_not_iterated():
    layout, why = attention_layout(_model("llama", block_count=2**32 - 1, embedding_length=4096,
                                          **{"attention.head_count": 32}))
    assert layout is None and "512" in why
