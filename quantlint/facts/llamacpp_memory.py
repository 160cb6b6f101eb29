"""What llama.cpp allocates besides the weights and the KV cache: the facts the memory model uses.

Every value is read from the llama.cpp source vendored in llama-cpp-python 0.3.36 (llama.cpp
commit 0c1e57098); the file and function are named next to each. benchmarks/memory_truth.py
checks the model built on them against a real build of that commit (docs/memory.md).
"""

from __future__ import annotations

LLAMA_CPP_COMMIT = "0c1e57098"

# common/common.h defaults and src/llama-context.cpp (llama_context::llama_context)
DEFAULT_N_BATCH = 2048  # -b: the logical batch
DEFAULT_N_UBATCH = 512  # -ub: the physical micro-batch the graph is reserved for
N_CTX_PAD = 256  # cparams.n_ctx = GGML_PAD(n_ctx, 256); n_ctx_seq padded the same way
SERVER_AUTO_PARALLEL = 4  # tools/server/server.cpp: n_parallel -1 (auto) -> 4 slots, kv_unified = true

# ggml-cpu/repack.cpp ggml_repack_get_optimal_repack_type: the ggml types that go to the
# CPU_REPACK buffer, per CPU class, with the row-count multiple (ne[1] % n == 0) each needs.
# Only a weight used by MUL_MAT (2-D) or MUL_MAT_ID (3-D, MoE experts) is repacked
# (extra_buffer_type::supports_op); rows read by GET_ROWS (the token embeddings) are not.
# The repacked copy has the tensor's own size (get_alloc_size defaults to ggml_nbytes), so with
# mmap on it comes on top of the mapped file; with mmap off it replaces the tensor's copy.
REPACK_TYPES: dict[str, dict[str, int]] = {
    "x86-64 (AVX2)": {"Q4_0": 8, "Q4_K": 8, "IQ4_NL": 8, "MXFP4": 8},
    "x86-64 (AVX-512)": {"Q4_0": 8, "Q4_K": 8, "IQ4_NL": 8, "MXFP4": 8, "Q2_K": 8},
    "ARM (NEON i8mm)": {"Q4_0": 4, "Q4_K": 8, "Q5_K": 8, "Q6_K": 8, "IQ4_NL": 4, "MXFP4": 4,
                        "Q8_0": 4, "Q1_0": 4},
    "ARM (NEON dotprod)": {"Q4_0": 4, "Q4_K": 8, "Q5_K": 8, "Q6_K": 8, "IQ4_NL": 4, "MXFP4": 4,
                           "Q8_0": 4, "Q1_0": 4},
}
DEFAULT_CPU_CLASS = "x86-64 (AVX2)"
REPACK_SOURCE = "ggml-cpu/repack.cpp ggml_repack_get_optimal_repack_type"
# Tensors llama.cpp reads with GET_ROWS (src/llama-arch.cpp LLM_TENSOR_INFOS): never repacked.
GET_ROWS_TENSORS = ("token_embd.weight", "token_types.weight", "position_embd.weight",
                    "per_layer_token_embd.weight")

# Device classes the estimate knows. CPU is what benchmarks/memory_truth.py measures; for a
# GPU (CUDA, Metal, Vulkan, ROCm) with every layer offloaded llama.cpp differs in three ways
# the model follows: no CPU_REPACK buffer (repacking is a CPU-kernel layout), the compute
# buffer is allocated on the device (plus a small host compute buffer for the CPU-side
# input rows), and the output buffer is the device's pinned host buffer
# (llama-context.cpp output_reserve: ggml_backend_dev_host_buffer_type). The token embeddings
# stay in system RAM (the input layer is always on the CPU: llama-model.cpp dev_input).
DEVICE_CLASSES = ("cpu", "gpu")

# src/llama-context.cpp, llama_init_from_model and resolve_fused_ops (flash_attn_type auto):
# auto turns flash attention on when every layer's FLASH_ATTN_EXT runs on the layer's own
# device (always on CPU; assumed on CUDA/Metal); a quantized V cache turns auto into on (and
# is refused with flash attention off); Grok forces it off.
FA_FORCED_OFF_ARCHS = ("grok",)
FA_AUTO_SOURCE = "llama-context.cpp llama_init_from_model / resolve_fused_ops (flash_attn auto)"

# Where each component's formula comes from (shown in inspect, JSON and QL202).
SOURCES: dict[str, str] = {
    "weights": "llama-model-loader.cpp: with mmap the CPU_Mapped buffer spans the tensor data in the "
               "file; without it each tensor is read into a CPU buffer",
    "repack": REPACK_SOURCE + " (types and row multiples per CPU class)",
    "kv": "llama-kv-cache.cpp / llama-kv-cache-iswa.cpp: cells x kv heads x head dim per layer, "
          "K and V at their cache types; SWA layers min(n_ctx, window x n_seq + n_ubatch) cells",
    "compute": "llama-context.cpp sched_reserve: the graph reserved for n_ubatch tokens, peak of "
               "the f32 logits [n_vocab, n_ubatch], the attention scores [n_kv, n_ubatch, n_head] "
               "(flash attention off), the KQ mask and one layer's activations",
    "output": "llama-context.cpp output_reserve: f32 logits for n_seq_max outputs, n_vocab x n_seq x 4",
    "host compute": "assumed: the CPU-side graph inputs of a fully offloaded model (token rows, "
                    "positions), n_embd x n_ubatch x 4; not measured",
}
