"""Which model formats each runtime loads.

Sources: llama.cpp and Ollama load GGUF only (Ollama imports safetensors by converting them
first, so it is not listed); ExLlamaV2 loads EXL2 and GPTQ (exllamav2/ext.py: "q_weight" ->
EXL2, "qweight" -> GPTQ); ExLlamaV3 loads EXL3 (and converts nothing else at load time); vLLM's
quantization methods (docs: supported hardware table) and transformers' quantizers
(transformers quantizers/auto.py) for the rest. The seed: "ExLlamaV2 ... needs EXL2 or EXL3,
not GGUF".
"""

from __future__ import annotations

RUNTIME_FORMATS: dict[str, frozenset[str]] = {
    "llama.cpp": frozenset({"gguf"}),
    "ollama": frozenset({"gguf"}),
    "exllamav2": frozenset({"exl2", "gptq"}),
    "exllamav3": frozenset({"exl3"}),
    "vllm": frozenset({"awq", "gptq", "compressed-tensors", "fp8", "mxfp4", "bitsandbytes", "auto-round", "safetensors", "gguf"}),
    "transformers": frozenset({"awq", "gptq", "compressed-tensors", "fp8", "mxfp4", "bitsandbytes", "hqq", "auto-round", "safetensors", "gguf"}),
}

RUNTIMES = tuple(RUNTIME_FORMATS)
