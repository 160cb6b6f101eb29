"""The component memory model (quantlint/runtime/memory.py, components.py): what each llama.cpp
buffer is made of, the settings that move it, and where they come from (flags, launch
commands, Modelfiles). tests/test_memory_truth.py checks the totals against a real build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.ggufgen import Arch, model_spec, write_gguf
from quantlint.runtime.components import repack_bytes
from quantlint.runtime.launch import parse_launch
from quantlint.runtime.memory import MIB, estimate_memory
from quantlint.settings import RuntimePlan
from tests.conftest import lint_model_path, run_cli

# SmolLM2-135M's shape: 30 layers, 576 wide, 9 heads over 3 KV heads, a 49,152-token vocabulary
SMOL = Arch("llama", 30, 576, 1536, 9, 3, 64, 49152, 8192, tied_embeddings=True)
WIDE_VOCAB = Arch("llama", 2, 256, 512, 4, 2, None, 262144, 4096)


def _model(tmp_path: Path, arch: Arch, quant: str = "Q4_K_M", name: str = "m.gguf"):
    return lint_model_path(write_gguf(tmp_path / name, model_spec(quant, arch)))[0]


def test_components_are_named_with_sources_and_add_up(tmp_path):
    est = estimate_memory(_model(tmp_path, SMOL), RuntimePlan(ctx_size=4096))
    names = [c.name for c in est.components]
    assert names == ["weights", "repack", "KV cache", "compute", "output"]
    assert all(c.source for c in est.components)
    assert est.total_bytes == sum(c.bytes for c in est.components)
    assert "llama-context.cpp" in est.components[3].source and "repack.cpp" in est.components[1].source


def test_logits_dominate_the_compute_buffer_with_flash_attention(tmp_path):
    # n_vocab x n_ubatch x 4: 262,144 x 512 x 4 = 512 MiB, whatever the context
    model = _model(tmp_path, WIDE_VOCAB)
    for ctx in (4096, 32768):
        compute = estimate_memory(model, RuntimePlan(ctx_size=ctx)).component("compute")
        assert 512 * MIB <= compute < 520 * MIB
    # and they scale with -ub
    small_ub = estimate_memory(model, RuntimePlan(ctx_size=4096, n_ubatch=128)).component("compute")
    assert 128 * MIB <= small_ub < 132 * MIB


def test_attention_scores_take_over_without_flash_attention(tmp_path):
    model = _model(tmp_path, SMOL)
    on = estimate_memory(model, RuntimePlan(ctx_size=32768, flash_attention=True)).component("compute")
    off = estimate_memory(model, RuntimePlan(ctx_size=32768, flash_attention=False)).component("compute")
    scores = 32768 * 512 * 9 * 4  # [n_kv, n_ubatch, n_head] f32
    assert on < 110 * MIB and off >= scores + 32768 * 512 * 4  # plus the f32 KQ mask


def test_flash_attention_auto_follows_llama_cpp(tmp_path):
    model = _model(tmp_path, SMOL)
    assert estimate_memory(model, RuntimePlan(ctx_size=4096)).flash_attention is True  # CPU runs it
    est = estimate_memory(model, RuntimePlan(ctx_size=4096, flash_attention=False, cache_type_v="q8_0"))
    assert any("refuses a q8_0 V cache" in n for n in est.notes)


def test_output_buffer_is_one_logits_row_per_sequence(tmp_path):
    model = _model(tmp_path, SMOL)
    assert estimate_memory(model, RuntimePlan(ctx_size=4096)).component("output") == 49152 * 4
    assert estimate_memory(model, RuntimePlan(ctx_size=4096, n_parallel=4)).component("output") == 4 * 49152 * 4


def test_parallel_streams_split_the_context(tmp_path):
    model = _model(tmp_path, SMOL)
    one = estimate_memory(model, RuntimePlan(ctx_size=8192)).kv_bytes
    split = estimate_memory(model, RuntimePlan(ctx_size=8192, n_parallel=4)).kv_bytes
    assert one == split  # 4 streams of 2048 cells hold the same 8192 cells


def test_repack_takes_matmul_weights_of_repacked_types_only(tmp_path):
    spec = model_spec("Q4_0", Arch("llama", 2, 256, 512, 4, 2, None, 512, 4096))
    model = lint_model_path(write_gguf(tmp_path / "q4.gguf", spec))[0]
    got, count = repack_bytes(model)
    expected = [t for t in model.tensors if t.type_name == "Q4_0" and t.name != "token_embd.weight"
                and len(t.shape) == 2 and t.shape[1] % 8 == 0]
    assert count == len(expected) > 0 and got == sum(t.nbytes for t in expected)
    assert all(t.name != "token_embd.weight" for t in expected)  # GET_ROWS: never repacked
    # Q4_1 and Q8_0 are not repacked on x86 (SmolLM2's Q4_1 file measured 0.0 MiB)
    assert repack_bytes(_model(tmp_path, SMOL, "Q4_1", "q41.gguf")) == (0, 0)


def test_gpu_plan_has_no_repack_and_no_mmap_drops_the_double_count(tmp_path):
    model = _model(tmp_path, SMOL, "Q4_0", "q40.gguf")
    cpu = estimate_memory(model, RuntimePlan(ctx_size=4096))
    gpu = estimate_memory(model, RuntimePlan(ctx_size=4096, gpu_layers=99))
    no_mmap = estimate_memory(model, RuntimePlan(ctx_size=4096, no_mmap=True))
    repack = cpu.component("repack")
    assert repack > 0 and gpu.component("repack") == 0 and "host compute" in [c.name for c in gpu.components]
    assert cpu.fit_bytes == cpu.total_bytes - repack  # the repacked tensors' mapped pages are droppable
    assert no_mmap.total_bytes == cpu.total_bytes - repack == no_mmap.fit_bytes


# -- settings from launch commands and Modelfiles ----------------------------------------------
def test_launch_reads_batching_and_mmap_flags():
    plan = parse_launch(["llama-cli -m m.gguf -c 8192 -fa off -b 1024 -ub 256 -np 2 --no-mmap"], env={}).plan
    assert (plan.flash_attention, plan.n_batch, plan.n_ubatch, plan.n_parallel, plan.no_mmap) == (False, 1024, 256, 2, True)
    plan = parse_launch(["llama-cli", "-m", "m.gguf", "--ubatch-size=128", "-lm", "none", "-nr"], env={}).plan
    assert (plan.n_ubatch, plan.no_mmap, plan.no_repack) == (128, True, True)
    env = {"LLAMA_ARG_UBATCH": "64", "LLAMA_ARG_N_PARALLEL": "3"}
    plan = parse_launch(["llama-cli", "-m", "m.gguf"], env=env).plan
    assert (plan.n_ubatch, plan.n_parallel) == (64, 3)


def test_llama_server_defaults_to_four_unified_slots():
    launch = parse_launch(["llama-server", "-m", "m.gguf"], env={})
    assert (launch.plan.n_parallel, launch.plan.kv_unified) == (4, True)
    assert any("4 slots" in n for n in launch.notes)
    plan = parse_launch(["llama-server", "-m", "m.gguf", "-np", "2"], env={}).plan
    assert (plan.n_parallel, plan.kv_unified) == (2, None)  # explicit -np: one stream per slot


def test_modelfile_batch_gpu_and_mmap(tmp_path):
    modelfile = tmp_path / "Modelfile"
    modelfile.write_text("FROM ./m.gguf\nPARAMETER num_ctx 8192\nPARAMETER num_batch 256\n"
                         "PARAMETER num_gpu 99\nPARAMETER use_mmap false\n")
    plan = parse_launch([], env={"OLLAMA_NUM_PARALLEL": "2"}, modelfile=str(modelfile)).plan
    assert (plan.ctx_size, plan.n_batch, plan.n_ubatch, plan.gpu_layers, plan.no_mmap, plan.n_parallel) == \
        (8192, 256, 256, 99, True, 2)


# -- where users see it --------------------------------------------------------------------------
def test_json_model_carries_memory_when_a_plan_is_given(tmp_path):
    path = write_gguf(tmp_path / "m.gguf", model_spec("Q4_K_M", SMOL))
    doc = json.loads(run_cli("--output-format", "json", "-c", "4096", "-ub", "256", str(path)).stdout)
    memory = doc["targets"][0]["model"]["memory"]
    assert [c["name"] for c in memory["components"]] == ["weights", "repack", "KV cache", "compute", "output"]
    assert all(c["source"] for c in memory["components"]) and "-ub 256" in memory["settings"]
    plain = json.loads(run_cli("--output-format", "json", str(path)).stdout)
    assert "memory" not in plain["targets"][0]["model"]


def test_ql202_message_names_each_component(tmp_path):
    path = write_gguf(tmp_path / "m.gguf", model_spec("Q4_K_M", WIDE_VOCAB))
    proc = run_cli("--output-format", "json", "-c", "4096", "--memory", "300MiB", str(path))
    [finding] = [f for f in json.loads(proc.stdout)["targets"][0]["findings"] if f["code"] == "QL202"]
    for part in ("weights", "KV cache", "compute buffer", "output", "llama-context.cpp"):
        assert part in finding["message"]
    assert "`-ub " in finding["hint"]  # the logits shrink with the micro-batch
    # a smaller -ub shrinks the logits enough to fit
    proc = run_cli("--output-format", "json", "-c", "4096", "-ub", "64", "--memory", "300MiB", str(path))
    assert "QL202" not in [f["code"] for f in json.loads(proc.stdout)["targets"][0]["findings"]]


@pytest.mark.parametrize("arch", [SMOL, WIDE_VOCAB], ids=["smollm2-shape", "wide-vocab"])
def test_inspect_shows_each_component_and_its_source(tmp_path, arch):
    path = write_gguf(tmp_path / "m.gguf", model_spec("Q4_K_M", arch))
    out = run_cli("inspect", "--color", "never", str(path)).stdout
    for row in ("weights @", "repack @", "KV cache @", "compute @", "output @", "sched_reserve", "output_reserve"):
        assert row in out


def test_ql202_offers_flash_attention_when_the_scores_are_the_problem(tmp_path):
    path = write_gguf(tmp_path / "m.gguf", model_spec("Q4_K_M", SMOL))
    model = lint_model_path(path)[0]
    on = estimate_memory(model, RuntimePlan(ctx_size=32768, flash_attention=True)).fit_bytes
    off = estimate_memory(model, RuntimePlan(ctx_size=32768, flash_attention=False)).fit_bytes
    budget = (on + off) // 2
    proc = run_cli("--output-format", "json", "-c", "32768", "-fa", "off", "--memory", f"{budget}B", str(path))
    [finding] = [f for f in json.loads(proc.stdout)["targets"][0]["findings"] if f["code"] == "QL202"]
    assert "`-fa on`" in finding["hint"]


def test_inspect_rows_name_every_component_even_without_weight_sizes():
    from quantlint.model import Model
    from quantlint.runtime.memory import memory_rows

    model = Model(format="exl2", target="folder", architecture="llama", hyperparameters={
        "block_count": 32, "embedding_length": 4096, "attention.head_count": 32, "attention.head_count_kv": 8})
    rows = dict(memory_rows(model))
    assert {"weights @ 4096", "repack @ 4096", "KV cache @ 4096", "compute @ 4096", "output @ 4096"} <= set(rows)
    assert "unknown" in rows["weights @ 4096"] and "llama-kv-cache.cpp" in rows["KV cache @ 4096"]
    assert estimate_memory(model, RuntimePlan(ctx_size=4096)) is None  # a budget check never uses such a total


def test_config_file_plans_the_same_settings(tmp_path):
    path = write_gguf(tmp_path / "m.gguf", model_spec("Q4_K_M", SMOL))
    (tmp_path / "quantlint.toml").write_text('ctx-size = 8192\nflash-attn = "off"\nubatch-size = 256\n'
                                            'batch-size = 1024\nparallel = 2\nno-mmap = true\n')
    proc = run_cli("--show-settings", str(path), cwd=tmp_path)
    assert "flash-attn = off" in proc.stdout and "ubatch-size = 256" in proc.stdout and "no-mmap = True" in proc.stdout
    (tmp_path / "quantlint.toml").write_text("ubatch-size = 0\n")
    assert run_cli(str(path), cwd=tmp_path).returncode == 2


@pytest.mark.parametrize("flag", ["-b", "-ub", "-np"])
def test_a_zero_batch_or_sequence_count_on_the_command_line_is_refused(tmp_path, flag):
    """0 is a value, not "not given": it must be refused like in a config file, not silently dropped."""
    path = write_gguf(tmp_path / "m.gguf", model_spec("Q4_K_M", SMOL))
    proc = run_cli(flag, "0", "--memory", "8GiB", str(path), cwd=tmp_path)
    assert proc.returncode == 2 and "give a positive number" in proc.stderr and "Traceback" not in proc.stderr
