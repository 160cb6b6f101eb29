"""Settings that reach the checks: floors, the planned runtime, expectations, per-rule options.

The CLI and config files build one LintSettings; the engine hands it to each check inside a
CheckContext. Checks read it, never the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Profiles raise or lower the floors together. "high-stakes" follows the seed's FAQ:
# "Q5_K_M is the comfort zone for high-stakes work".
PROFILES: dict[str, str] = {
    "default": "Q4_K_M",
    "high-stakes": "Q5_K_M",
}


@dataclass
class RuntimePlan:
    """How the user intends to run the model (llama.cpp's spelling of each setting)."""

    runtime: str | None = None  # llama.cpp | ollama | exllamav2 | exllamav3 | vllm | transformers
    ctx_size: int | None = None
    cache_type_k: str | None = None
    cache_type_v: str | None = None
    memory_bytes: list[int] = field(default_factory=list)  # one entry per device
    gpu_layers: int | None = None
    flash_attention: bool | None = None  # -fa on/off; None = auto (llama.cpp's default)
    n_batch: int | None = None  # -b/--batch-size (llama.cpp default 2048)
    n_ubatch: int | None = None  # -ub/--ubatch-size (llama.cpp default 512)
    n_parallel: int | None = None  # -np/--parallel: sequences (llama-server slots)
    kv_unified: bool | None = None  # -kvu: one KV stream shared by every sequence
    no_mmap: bool | None = None  # --no-mmap (older builds) or -lm none: weights read into RAM
    no_repack: bool | None = None  # -nr/--no-repack: no CPU_REPACK buffer
    source: str | None = None  # where the plan came from: "options", "llama-server command", ...

    @property
    def is_empty(self) -> bool:
        return not any(
            (self.runtime, self.ctx_size, self.cache_type_k, self.cache_type_v, self.memory_bytes)
        ) and all(v is None for v in (self.flash_attention, self.n_batch, self.n_ubatch, self.n_parallel,
                                      self.no_mmap, self.gpu_layers))


@dataclass
class LintSettings:
    """What checks may read besides the Model: floor, profile, runtime plan, rule options."""

    floor: str = "Q4_K_M"  # a GGUF quant label; mapped to bpw/bits for other formats
    profile: str = "default"
    plan: RuntimePlan = field(default_factory=RuntimePlan)
    expect: str | None = None  # --expect ORG/NAME: what the user believes they have
    card_path: str | None = None  # --card PATH: a model card to read instead of README.md
    offline: bool = False  # never touch the network (also HF_HUB_OFFLINE=1)
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> options


@dataclass
class CheckContext:
    """What a check receives besides the Model: settings and its own resolved options."""

    settings: LintSettings
    options: dict[str, Any] = field(default_factory=dict)
