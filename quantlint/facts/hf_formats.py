"""Facts about the Hugging Face quant formats: dtype sizes, tensor names, bpw formulas, fields.

Sources (every figure below comes from one of these; ../shared/reference/formats.md quotes the
writer code with file and line):
- safetensors dtypes: huggingface/safetensors `Dtype` (F4/F6/F8_E8M0 since 0.5), sizes in bits.
- EXL2: turboderp/exllamav2@b9c025b conversion/compile.py, qparams.py (`total_bits`),
  adaptivegptq.py `pack()`; head_bits default 6 (convert_exl2.py:25).
- EXL3: turboderp-org/exllamav3@4f8ad01 conversion/compile.py, modules/quant/exl3.py.
- AWQ: casper-hansen/AutoAWQ@88e4c76 awq/models/_config.py, awq/modules/linear/gemm.py.
- GPTQ: AutoGPTQ@9f7d370 quantization/config.py, qlinear_cuda_old.py; GPTQModel@f4c327a;
  transformers 4.46/5.24 GPTQConfig; bpw formula checked against 11 real file sizes (formats.md §4.5).
- compressed-tensors 0.20.0, auto-round@b9f3d00, transformers 5.24 BitsAndBytesConfig /
  HqqConfig / FineGrainedFP8Config, mlx-lm 0.32.2 utils.py.
"""

from __future__ import annotations

import math

# safetensors dtype -> bits per element.
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32,
    "I64": 64, "U64": 64, "F64": 64, "C64": 64,
    "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}

FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}

# quantization_config.quant_method (or GPTQModel's `method`) -> quantlint format.
QUANT_METHODS: dict[str, str] = {
    "exl2": "exl2",
    "exl3": "exl3",
    "awq": "awq",
    "gptq": "gptq",
    "marlin": "gptq",  # AutoGPTQ marlin checkpoint (config.py: quant_method "marlin")
    "compressed-tensors": "compressed-tensors",
    "compressed_tensors": "compressed-tensors",
    "auto-round": "auto-round",
    "autoround": "auto-round",
    "intel/auto-round": "auto-round",
    "bitsandbytes": "bitsandbytes",
    "hqq": "hqq",
    "fp8": "fp8",
    "fbgemm_fp8": "fp8",
    "mxfp4": "mxfp4",
    "mlx": "mlx",
}

# Config fields that hold the text model's config in multimodal models (formats.md §0.3).
SUB_CONFIG_KEYS = ("text_config", "llm_config", "language_config")

# MoE: expert-count fields, then top-k fields, shared-expert fields (formats.md §0.3).
EXPERT_COUNT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")
EXPERT_USED_KEYS = ("num_experts_per_tok", "moe_topk", "moe_k", "experts_per_token", "num_selected_experts")
SHARED_EXPERT_KEYS = ("n_shared_experts", "moe_num_shared_experts", "num_shared_experts")

# HF config field -> the GGUF hyperparameter key the GGUF reader fills (llama.cpp names).
HYPERPARAMETER_KEYS: dict[str, tuple[str, ...]] = {
    "block_count": ("num_hidden_layers", "n_layer", "n_layers", "num_layers"),
    "embedding_length": ("hidden_size", "n_embd", "d_model"),
    "feed_forward_length": ("intermediate_size", "n_inner", "ffn_hidden_size", "ffn_dim"),
    "vocab_size": ("vocab_size", "padded_vocab_size"),
    "attention.head_count": ("num_attention_heads", "n_head", "n_heads"),
    "attention.head_count_kv": ("num_key_value_heads", "n_head_kv", "num_kv_heads", "multi_query_group_num"),
    "attention.key_length": ("head_dim",),
    "attention.value_length": ("v_head_dim", "head_dim"),
    "attention.sliding_window": ("sliding_window",),
    "expert_feed_forward_length": ("moe_intermediate_size",),
    "leading_dense_block_count": ("first_k_dense_replace",),
}
CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "max_sequence_length")

# Tensor-name suffixes that mark a format (formats.md §0.1 dispatch step 5), in sniffing order.
EXL2_SUFFIXES = ("q_weight", "q_invperm", "q_groups", "q_scale", "q_scale_max")
EXL3_SUFFIXES = ("trellis", "suh", "svh", "su", "sv", "mcg", "mul1")
GPTQ_SUFFIXES = ("qweight", "qzeros", "scales", "g_idx")
AWQ_SUFFIXES = ("qweight", "qzeros", "scales")
CT_SUFFIXES = ("weight_packed", "weight_scale", "weight_shape", "weight_zero_point", "weight_g_idx",
               "weight_global_scale", "input_global_scale", "input_scale")
HQQ_SUFFIXES = ("W_q", "scale", "zero", "nbits", "group_size", "shape", "axis", "packing",
                "channel_wise", "optimize", "round_zero", "view_as_float", "unpack_view_dtype",
                "compute_dtype", "encoded_state_dict", "stores_quant_config", "offload_meta")
BNB_SUFFIXES = ("weight.absmax", "weight.quant_map", "weight.nested_absmax", "weight.nested_quant_map",
                "weight.quant_state.bitsandbytes__nf4", "weight.quant_state.bitsandbytes__fp4",
                "SCB", "weight_format")
FP8_SUFFIXES = ("weight_scale_inv",)
MLX_SUFFIXES = ("scales", "biases")

# EXL2 head_bits options (exllamav2 qparams.py:338-347 qparams_headoptions).
EXL2_HEAD_BITS = (2, 3, 4, 5, 6, 8)
EXL2_DEFAULT_DATASET = "(default)"  # compile.py: the built-in mixed calibration set
EXL3_BUILTIN_CORPUS = "built-in mix (c4, code, multilingual, technical, wiki, tiny + random tokens)"

# MLX mode -> default (group_size, bits) (mlx_lm/utils.py quantize_model).
MLX_MODES: dict[str, tuple[int, int]] = {"affine": (64, 4), "mxfp4": (32, 4), "nvfp4": (16, 4), "mxfp8": (32, 8)}


def dtype_bits(dtype: str) -> int | None:
    return DTYPE_BITS.get(dtype)


def dtype_nbytes(dtype: str, n_elements: int) -> int | None:
    bits = DTYPE_BITS.get(dtype)
    return None if bits is None else math.ceil(n_elements * bits / 8)


def _group(group_size: int | None, in_features: int | None) -> float | None:
    """-1 / None / 0 means one group per column: the group is the whole input dimension."""
    if group_size and group_size > 0:
        return float(group_size)
    return float(in_features) if in_features else None


def formula_bpw(fmt: str, bits: float | None, group_size: int | None = None,
                in_features: int | None = None, out_features: int | None = None,
                **extra: object) -> float | None:
    """Bits per weight of one decoder linear from the format's storage layout, for when the
    safetensors headers are not there to measure. None when the inputs are not enough."""
    if fmt in ("exl2", "exl3"):
        return float(bits) if bits is not None else None
    if fmt == "mxfp4":
        return 4.0 + 8.0 / 32.0  # E2M1 values + one E8M0 scale per 32
    if fmt == "fp8":
        block = extra.get("weight_block_size")
        if isinstance(block, (list, tuple)) and len(block) == 2 and all(isinstance(b, int) and b > 0 for b in block):
            return 8.0 + 32.0 / (block[0] * block[1])  # fp32 weight_scale_inv per block
        return 8.0
    if fmt == "bitsandbytes":
        if bits == 8:
            return 8.0 + (32.0 / in_features if in_features else 0.0)  # fp32 SCB per row
        if extra.get("double_quant"):
            return 4.0 + 8.0 / 64 + 32.0 / (64 * 256)  # u8 absmax per 64, fp32 per 256 absmax
        return 4.0 + 32.0 / 64  # fp32 absmax per 64-block
    if bits is None:
        return None
    g = _group(group_size, in_features)
    if g is None:
        return float(bits)
    if fmt == "awq":
        return bits + (16 + bits) / g  # fp16 scale + packed zero per group
    if fmt in ("gptq", "auto-round"):
        g_idx = 32.0 / out_features if out_features else 0.0
        return bits + (16 + bits) / g + g_idx  # + int32 g_idx per input row
    if fmt == "hqq":
        return bits + 32.0 / g  # fp16 scale + fp16 zero per group
    if fmt == "mlx":
        mode = extra.get("mode") or "affine"
        if mode == "affine":
            return bits + 32.0 / g  # fp16 scale + fp16 bias per group
        return bits + 8.0 / g  # mx/nv fp4/fp8: one 8-bit scale per group
    if fmt == "compressed-tensors":
        scale_bits = extra.get("scale_bits") or 16
        zp = bits if extra.get("asymmetric") else 0
        return bits + (float(scale_bits) + zp) / g  # type: ignore[arg-type]
    return float(bits)
