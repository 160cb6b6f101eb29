"""config.json facts that do not depend on the quant format: architecture, identity,
hyperparameters (under the GGUF reader's keys), context length, MoE; plus the tokenizer's
chat template and the EXL2 measurement.json summary.

MoE fields are looked up at the top level, then in text_config / llm_config /
language_config (multimodal), and in DBRX's ffn_config (formats.md §0.3).
"""

from __future__ import annotations

import json
import re
from typing import Any

from quantlint.facts.hf_formats import (
    CONTEXT_KEYS,
    EXPERT_COUNT_KEYS,
    EXPERT_USED_KEYS,
    HYPERPARAMETER_KEYS,
    SHARED_EXPERT_KEYS,
    SUB_CONFIG_KEYS,
)
from quantlint.model import MetadataValue, MoEFacts, Model
from quantlint.readers.hf_bpw import Measurement
from quantlint.sources import Directory, SourceError

TOKENIZER_CONFIG_LIMIT = 16 << 20  # added_tokens_decoder can be large; templates are not
TEMPLATE_LIMIT = 1 << 20
PER_EXPERT = re.compile(r"\.experts\.\d+\.")  # Mixtral/Qwen: experts.E.w1; gpt-oss/MLX fuse them


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text_config(config: dict[str, Any]) -> dict[str, Any]:
    """The language model's config: the top level, overlaid by a multimodal model's text part."""
    for key in SUB_CONFIG_KEYS:
        sub = config.get(key)
        if isinstance(sub, dict) and any(k in sub for k in ("num_hidden_layers", "hidden_size", *EXPERT_COUNT_KEYS)):
            return {**config, **sub}
    if config.get("model_type") == "dbrx":  # DBRX keeps attention and FFN sizes in sub-dicts
        flat = dict(config)
        attn, ffn = config.get("attn_config") or {}, config.get("ffn_config") or {}
        if isinstance(attn, dict) and "kv_n_heads" in attn:
            flat["num_key_value_heads"] = attn["kv_n_heads"]
        if isinstance(ffn, dict) and "ffn_hidden_size" in ffn:
            flat["ffn_hidden_size"] = ffn["ffn_hidden_size"]
        return flat
    return config


def _first(cfg: dict[str, Any], keys: tuple[str, ...]) -> tuple[Any, str | None]:
    for key in keys:
        if key in cfg and cfg[key] is not None:
            return cfg[key], key
    return None, None


def moe_facts(config: dict[str, Any], text: dict[str, Any], m: Measurement | None) -> MoEFacts | None:
    experts, key = _first(text, EXPERT_COUNT_KEYS)
    used, _ = _first(text, EXPERT_USED_KEYS)
    ffn = config.get("ffn_config")
    if _int(experts) is None and isinstance(ffn, dict) and _int(ffn.get("moe_num_experts")):
        experts, key, used = ffn["moe_num_experts"], "ffn_config.moe_num_experts", ffn.get("moe_top_k")
    if (_int(experts) or 0) <= 1:
        return None
    shared, _ = _first(text, SHARED_EXPERT_KEYS)
    if _int(shared) is None and (_int(text.get("shared_expert_intermediate_size")) or 0) > 0:
        shared = 1  # qwen2_moe: one shared expert, sized by shared_expert_intermediate_size
    facts = MoEFacts(experts=experts, experts_used=_int(used), shared_experts=_int(shared),
                     detected_from=f"config.json {key}", layout="config")
    if m is not None and m.experts():
        facts.expert_bits_per_weight = m.expert_bpw()
        facts.always_active_bits_per_weight = m.always_active_bpw()
        per_expert = all(PER_EXPERT.search(s.module + ".") for s in m.experts())
        facts.layout = "per-expert" if per_expert else "fused"
        types: dict[str, int] = {}
        for s in m.experts():
            types[s.kind] = types.get(s.kind, 0) + s.numel
        facts.expert_tensor_types = types
    return facts


def fill_config_facts(model: Model, config: dict[str, Any], m: Measurement | None) -> None:
    if not config:
        return
    text = text_config(config)
    mt = config.get("model_type")
    model.architecture = mt if isinstance(mt, str) else model.architecture
    archs = config.get("architectures")
    if isinstance(archs, list):
        model.identity.architectures = [a for a in archs if isinstance(a, str)]
        if model.architecture is None and model.identity.architectures:
            model.architecture = model.identity.architectures[0]
    nop = config.get("_name_or_path")
    if isinstance(nop, str) and nop:
        model.identity.name_or_path = nop
    if model.file is not None and model.identity.file_name is None:
        model.identity.file_name = model.file.path.rstrip("/").rsplit("/", 1)[-1] or None
    for gguf_key, hf_keys in HYPERPARAMETER_KEYS.items():
        value, _ = _first(text, hf_keys)
        if _int(value) is not None or (isinstance(value, list) and value and all(_int(v) is not None for v in value)):
            model.hyperparameters[gguf_key] = value
    if "attention.head_count_kv" not in model.hyperparameters and "attention.head_count" in model.hyperparameters:
        # transformers' default for llama-family configs: num_key_value_heads = num_attention_heads
        model.hyperparameters["attention.head_count_kv"] = model.hyperparameters["attention.head_count"]
    if text.get("use_sliding_window") is False:
        model.hyperparameters.pop("attention.sliding_window", None)
    if mt == "dbrx" and _int(text.get("n_heads")):
        model.hyperparameters["attention.head_count"] = text["n_heads"]
    ctx, _ = _first(text, CONTEXT_KEYS)
    model.context_length = _int(ctx)
    model.moe = moe_facts(config, text, m)
    if model.moe is not None:
        model.hyperparameters["expert_count"] = model.moe.experts
        if model.moe.experts_used is not None:
            model.hyperparameters["expert_used_count"] = model.moe.experts_used
        if model.moe.shared_experts is not None:
            model.hyperparameters["expert_shared_count"] = model.moe.shared_experts
        if model.moe.expert_bits_per_weight is None and model.format not in ("safetensors", "unknown"):
            # no expert tensors to measure: the experts carry the format's own width
            model.moe.expert_bits_per_weight = model.bits_per_weight


def _read_text(directory: Directory, name: str, limit: int) -> str | None:
    try:
        raw = directory.read_small(name, limit)
    except SourceError:
        return None
    return None if raw is None else raw.decode("utf-8", errors="replace")


def fill_tokenizer(model: Model, directory: Directory, files: dict[str, int | None]) -> None:
    """tokenizer_config.json chat_template (a string, or a list of {name, template}), then the
    chat_template.jinja file newer transformers saves (it wins when both exist)."""
    tok = model.tokenizer
    raw = _read_text(directory, "tokenizer_config.json", TOKENIZER_CONFIG_LIMIT) if "tokenizer_config.json" in files else None
    if raw is not None:
        try:
            cfg = json.loads(raw)
        except ValueError:
            cfg = None
        if isinstance(cfg, dict):
            cls = cfg.get("tokenizer_class")
            tok.model = cls if isinstance(cls, str) else tok.model
            template = cfg.get("chat_template")
            if isinstance(template, str):
                tok.chat_template, tok.chat_template_source = template, "tokenizer_config.json chat_template"
            elif isinstance(template, list):
                for entry in template:
                    if isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(entry.get("template"), str):
                        tok.named_chat_templates[entry["name"]] = entry["template"]
                if "default" in tok.named_chat_templates:
                    tok.chat_template = tok.named_chat_templates.pop("default")
                    tok.chat_template_source = "tokenizer_config.json chat_template[default]"
    for name in ("chat_template.jinja",):
        if name in files:
            text = _read_text(directory, name, TEMPLATE_LIMIT)
            if text is not None:
                tok.chat_template, tok.chat_template_source = text, name
    tok.has_chat_template = bool(tok.chat_template or tok.named_chat_templates)


def measurement_summary(model: Model, raw: dict[str, Any]) -> None:
    """exllamav2 measurement.json: per-module candidate quantizations. It records no dataset."""
    meas = raw.get("measurement")
    if not isinstance(meas, dict):
        return
    bits: set[int] = set()
    groups: set[int] = set()
    for options in meas.values():
        for option in options if isinstance(options, list) else []:
            for part in option.values() if isinstance(option, dict) else []:
                if not isinstance(part, dict):
                    continue
                bits.update(b for b in part.get("bits") or [] if _int(b) is not None)
                gs = part.get("group_size")
                groups.update(g for g in (gs.values() if isinstance(gs, dict) else [gs]) if _int(g) is not None)
    entries = {"modules": len(meas), "last_module_idx": raw.get("last_module_idx"),
               "candidate_bits": sorted(bits), "group_sizes": sorted(groups)}
    for key, value in entries.items():
        model.metadata[f"measurement.json:{key}"] = MetadataValue(
            key=key, value=value, type_name="ARRAY" if isinstance(value, list) else type(value).__name__,
            count=len(value) if isinstance(value, list) else None)
    model.notes.append(f"measurement.json: exllamav2 measurement of {len(meas)} modules, candidate bits "
                       f"{sorted(bits)}, group sizes {sorted(groups)} (no calibration dataset is recorded there)")
