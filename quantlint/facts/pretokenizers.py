"""What llama.cpp accepts in tokenizer.ggml.model and tokenizer.ggml.pre, and the token types.

Source: src/llama-vocab.cpp at llama.cpp 0c1e57098 (the revision vendored in the
llama-cpp-python 0.3.36 sdist; see ../shared/reference/gguf-facts.md §0 and §5.5), function
llama_vocab::impl::load:

- tokenizer.ggml.model: no_vocab/none, llama (SPM), bert (WPM), gpt2 (BPE), t5 (UGM), rwkv,
  plamo2, gemma4, hybriddna, whitespace, test; anything else throws "unknown tokenizer: '%s'".
- tokenizer.ggml.pre is read only when the model is BPE ("for now, only BPE models have
  pre-tokenizers"). Empty: the "missing pre-tokenizer type, using: 'default'" warning block
  ending in "GENERATION QUALITY WILL BE DEGRADED! CONSIDER REGENERATING THE MODEL". A name
  outside the list below throws "unknown pre-tokenizer type: '%s'": the model does not load.
  The gemma4 model sets pre to "gemma4" itself, so its files carry no pre key.
- Token types (llama_token_type in include/llama.h): a role token is matched as one special
  token in a prompt only when its type is CONTROL, USER_DEFINED or UNKNOWN (the
  cache_special_tokens loop in the same file); NORMAL text is split into ordinary pieces.

The pre-tokenizer list is every `tokenizer_pre == "..."` comparison in that function, in
source order (92 comparisons, "kimi-k2" appears twice).
"""

from __future__ import annotations

LLAMA_CPP_REVISION = "0c1e57098"
SOURCE = f"llama.cpp src/llama-vocab.cpp @{LLAMA_CPP_REVISION}"

# tokenizer.ggml.model values llama.cpp loads.
TOKENIZER_MODELS: dict[str, str] = {
    "no_vocab": "none", "none": "none", "llama": "SPM", "bert": "WPM", "gpt2": "BPE",
    "t5": "UGM", "rwkv": "RWKV", "plamo2": "PLaMo-2", "gemma4": "Gemma 4", "hybriddna": "HybridDNA",
    "whitespace": "whitespace", "test": "test",
}

# The tokenizer models llama.cpp loads as BPE (`gpt2 || hybriddna || whitespace`), the only
# type for which it reads pre.
MODELS_NEEDING_PRE = frozenset({"gpt2", "hybriddna", "whitespace"})

# The explicit fallback: accepted, but it is the GPT-2 regex, which is what a missing key gets.
DEFAULT_PRE = "default"

KNOWN_PRE_TOKENIZERS: frozenset[str] = frozenset("""
default minicpm5 llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2 jina-v5-nano
deepseek-llm deepseek-coder deepseek-v3 spark2_5 youtu falcon mpt starcoder gpt-2 phi-2 jina-es
jina-de gigachat jina-v2-es jina-v2-de a.x-4.0 mellum modern-bert jais-2 gemma4
granite-embed-multi-311m sarvam-moe jina-v1-en jina-v2-code roberta-bpe whitespace refact
command-r qwen2 deepseek-r1-qwen kormo f2llmv2 qwen35 stablelm2 olmo dbrx smaug-bpe poro-chat
chatglm-bpe glm4 glm5 viking jais tekken smollm codeshell bloom gpt3-finnish exaone exaone4
exaone-moe chameleon minerva-7b megrez gpt-4o llama4 kanana2 talkie granite-embed-multi-97m
tiny_aya cohere2moe superbpe trillion granite-docling bailingmoe bailingmoe2 llada-moe seed-coder
hunyuan hunyuan-dense hy_v4 joyai-llm kimi-k2 ufakzeka grok-2 afmoe laguna minimax-m2 solar-open
mellum2
""".split())

# llama_token_type (include/llama.h): the values of tokenizer.ggml.token_type.
TOKEN_TYPES: dict[int, str] = {
    0: "UNDEFINED", 1: "NORMAL", 2: "UNKNOWN", 3: "CONTROL", 4: "USER_DEFINED", 5: "UNUSED", 6: "BYTE",
}
TOKEN_TYPE_CONTROL = 3
TOKEN_TYPE_USER_DEFINED = 4
# Types llama.cpp matches as one piece when it tokenizes a rendered prompt with parse_special.
SPECIAL_MATCHED_TYPES = frozenset({2, 3, 4})

# Token texts llama.cpp itself promotes at load when a converter typed them NORMAL: the
# "auto-detect special tokens by text" searches (EOT, EOM, FIM, EOG) in the same function log
# "control-looking token ... was not control-type; this is probably a bug in the model. its type
# will be overridden"; gpt-oss's <|channel|> <|message|> <|start|> <|constrain|> are forced to
# USER_DEFINED. Other runtimes do not do this.
LLAMA_CPP_FORCED_SPECIAL: frozenset[str] = frozenset("""
</s> <EOT> <MID> <PAD> <PRE> <REPO> <SUF> <end_of_turn> <end_of_utterance> <eos> <fim-middle>
<fim-pad> <fim-prefix> <fim-repo> <fim-suffix> <fim_middle> <fim_pad> <fim_prefix> <fim_suffix>
<reponame> <turn|> <|calls|> <|call|> <|channel|> <|code_middle|> <|code_prefix|> <|code_suffix|>
<|constrain|> <|end_of_text|> <|endoftext|> <|end|> <|eom_id|> <|eot_id|> <|file_sep|>
<|fim_middle|> <|fim_pad|> <|fim_prefix|> <|fim_repo|> <|fim_suffix|> <|flush|> <|im_end|>
<|message|> <|middle|> <|prefix|> <|repo_name|> <|return|> <|start|> <|suffix|> <|tool_response>
<\uff5cend\u2581of\u2581sentence\uff5c> <\uff5cfim\u2581begin\uff5c> <\uff5cfim\u2581end\uff5c>
<\uff5cfim\u2581hole\uff5c> [EOS] [EOT] [PAD] [e~[ _<EOT> \u2581<MID> \u2581<PRE> \u2581<SUF>
""".split())


def needs_pre(tokenizer_model: str | None) -> bool:
    return tokenizer_model in MODELS_NEEDING_PRE


def is_known_pre(name: str) -> bool:
    return name in KNOWN_PRE_TOKENIZERS
