"""Read a real launch command into a model target and a RuntimePlan.

`quantlint launch -- llama-server -m M.gguf -c 32768 -ctk q4_0` lints the command a user already
has, as written. Two families are understood:

- **llama.cpp** (llama-server, llama-cli and the other llama-* tools): -m/--model, -c/--ctx-size,
  -ctk/--cache-type-k, -ctv/--cache-type-v, -fa/--flash-attn (bare, or on/off/auto),
  -ngl/--n-gpu-layers/--gpu-layers, -b/--batch-size, -ub/--ubatch-size, -np/--parallel,
  -kvu/--kv-unified, --no-mmap (older builds) or -lm/--load-mode none|mlock|dio, -nr/--no-repack,
  -hf/--hf-repo; `--flag=value` works too. The LLAMA_ARG_* environment variables (LLAMA_ARG_MODEL,
  LLAMA_ARG_CTX_SIZE, LLAMA_ARG_CACHE_TYPE_K/V, LLAMA_ARG_FLASH_ATTN, LLAMA_ARG_N_GPU_LAYERS,
  LLAMA_ARG_BATCH, LLAMA_ARG_UBATCH, LLAMA_ARG_N_PARALLEL) apply when the flag is absent:
  llama.cpp's rule is that the command-line argument wins. llama-server without -np runs 4 slots
  over one unified KV cache (tools/server/server.cpp, n_parallel auto), and so does the plan.
- **Ollama**: a Modelfile (`--modelfile`, or `ollama create NAME -f Modelfile`) for FROM,
  `PARAMETER num_ctx`, `num_batch` (Ollama passes it as both n_batch and n_ubatch), `num_gpu`
  (layers on the GPU) and `use_mmap`; OLLAMA_CONTEXT_LENGTH when num_ctx is absent;
  OLLAMA_NUM_PARALLEL; OLLAMA_KV_CACHE_TYPE for both K and V. Ollama's FAQ ties the cache type to
  flash attention (OLLAMA_FLASH_ATTENTION=1).

Environment variables come from quantlint's own environment and from `VAR=value` words (or
`env VAR=value`) in front of the program, as a shell would pass them.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from quantlint.config import KV_CACHE_TYPES
from quantlint.settings import RuntimePlan

LLAMA_PROGRAMS = ("llama-server", "llama-cli", "llama-run", "llama-mtmd-cli", "llama-simple-chat",
                  "llama-bench", "llama-perplexity", "main", "server")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")

# canonical setting -> llama.cpp spellings (common/arg.cpp)
LLAMA_FLAGS: dict[str, tuple[str, ...]] = {
    "model": ("-m", "--model"),
    "ctx_size": ("-c", "--ctx-size"),
    "cache_type_k": ("-ctk", "--cache-type-k"),
    "cache_type_v": ("-ctv", "--cache-type-v"),
    "flash_attn": ("-fa", "--flash-attn"),
    "gpu_layers": ("-ngl", "--n-gpu-layers", "--gpu-layers"),
    "hf_repo": ("-hf", "-hfr", "--hf-repo"),
    "batch": ("-b", "--batch-size"),
    "ubatch": ("-ub", "--ubatch-size"),
    "parallel": ("-np", "--parallel"),
    "load_mode": ("-lm", "--load-mode"),
}
# flags without a value: canonical setting -> (spellings, value they mean)
LLAMA_SWITCHES: dict[str, tuple[tuple[str, ...], str]] = {
    "no_mmap": (("--no-mmap",), "1"),
    "kv_unified": (("-kvu", "--kv-unified"), "1"),
    "no_kv_unified": (("-no-kvu", "--no-kv-unified"), "1"),
    "no_repack": (("-nr", "--no-repack"), "1"),
}
SWITCH_TO_SETTING = {flag: name for name, (flags, _) in LLAMA_SWITCHES.items() for flag in flags}
LLAMA_ENV: dict[str, str] = {
    "model": "LLAMA_ARG_MODEL", "ctx_size": "LLAMA_ARG_CTX_SIZE", "cache_type_k": "LLAMA_ARG_CACHE_TYPE_K",
    "cache_type_v": "LLAMA_ARG_CACHE_TYPE_V", "flash_attn": "LLAMA_ARG_FLASH_ATTN",
    "gpu_layers": "LLAMA_ARG_N_GPU_LAYERS", "hf_repo": "LLAMA_ARG_HF_REPO", "batch": "LLAMA_ARG_BATCH",
    "ubatch": "LLAMA_ARG_UBATCH", "parallel": "LLAMA_ARG_N_PARALLEL", "load_mode": "LLAMA_ARG_LOAD_MODE",
}
FLAG_TO_SETTING = {flag: name for name, flags in LLAMA_FLAGS.items() for flag in flags}
FA_VALUES = {"on": True, "off": False, "auto": None, "true": True, "false": False, "1": True, "0": False,
             "enabled": True, "disabled": False}
TRUE_WORDS = {"1", "true", "yes", "on"}


class LaunchError(ValueError):
    """A command quantlint cannot read: the CLI prints it and exits 2."""


@dataclass
class Launch:
    model: str | None  # a path, or a target quantlint reads (org/repo, ollama:NAME)
    plan: RuntimePlan
    program: str
    notes: list[str] = field(default_factory=list)


def split_command(words: list[str]) -> list[str]:
    """A command given as one quoted string is split as a shell would."""
    if len(words) == 1 and " " in words[0].strip():
        return shlex.split(words[0])
    return list(words)


def _strip_env(words: list[str], env: dict[str, str]) -> list[str]:
    i = 0
    if words and os.path.basename(words[0]) == "env":
        i = 1
    while i < len(words) and ASSIGNMENT.match(words[i]):
        key, _, value = words[i].partition("=")
        env[key] = value
        i += 1
    return words[i:]


def _llama_args(args: list[str]) -> tuple[dict[str, str | None], list[str]]:
    """Known llama.cpp settings from the arguments; other flags are skipped."""
    found: dict[str, str | None] = {}
    unread: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        flag, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if flag in SWITCH_TO_SETTING:
            found[SWITCH_TO_SETTING[flag]] = "1"
            i += 1
            continue
        name = FLAG_TO_SETTING.get(flag)
        if name is None:
            i += 1
            continue
        if eq:
            found[name] = inline
        elif name == "flash_attn":  # older builds: a bare flag; newer: on|off|auto
            nxt = args[i + 1] if i + 1 < len(args) else None
            if nxt is not None and nxt.lower() in FA_VALUES:
                found[name] = nxt
                i += 1
            else:
                found[name] = "on"
        elif i + 1 < len(args):
            found[name] = args[i + 1]
            i += 1
        else:
            unread.append(flag)
        i += 1
    return found, unread


def _int(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise LaunchError(f"{what} {value!r} is not a whole number") from None


def _cache_type(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if value not in KV_CACHE_TYPES:  # llama.cpp matches case-sensitively
        raise LaunchError(f"{what} {value!r}: llama.cpp refuses it (\"Unsupported cache type\"); "
                          f"it accepts {', '.join(KV_CACHE_TYPES)}")
    return value


def parse_llama(program: str, args: list[str], env: Mapping[str, str]) -> Launch:
    found, unread = _llama_args(args)
    notes = [f"{flag} has no value" for flag in unread]
    for name, var in LLAMA_ENV.items():
        if name not in found and env.get(var):
            found[name] = env[var]
            notes.append(f"{name.replace('_', '-')} from {var}")
    plan = RuntimePlan(runtime="llama.cpp", source=f"{program} command")
    if found.get("ctx_size") is not None:
        plan.ctx_size = _int(found["ctx_size"] or "", "-c/--ctx-size")
    plan.cache_type_k = _cache_type(found.get("cache_type_k"), "-ctk/--cache-type-k")
    plan.cache_type_v = _cache_type(found.get("cache_type_v"), "-ctv/--cache-type-v")
    if found.get("flash_attn") is not None:
        word = (found["flash_attn"] or "").lower()
        if word not in FA_VALUES:
            raise LaunchError(f"-fa/--flash-attn {found['flash_attn']!r}: use on, off or auto")
        plan.flash_attention = FA_VALUES[word]
    gpu = found.get("gpu_layers")
    if gpu is not None:
        # "all"/"auto" (newer builds) mean every layer that fits; quantlint does not split layers
        plan.gpu_layers = {"all": 999, "auto": None}.get(gpu) if gpu in ("all", "auto") else _int(gpu, "-ngl/--n-gpu-layers")
    _llama_batching(program, found, plan, notes)
    model = found.get("model")
    if model is None and found.get("hf_repo"):
        repo, _, tag = (found["hf_repo"] or "").partition(":")
        model = repo
        notes.append(f"the model comes from the Hub repo {repo}" + (f" (quant {tag})" if tag else "")
                     + ": quantlint reads it as a remote target")
    return Launch(model=model, plan=plan, program=program, notes=notes)


def _llama_batching(program: str, found: dict[str, str | None], plan: RuntimePlan, notes: list[str]) -> None:
    """-b/-ub/-np, the KV cache layout, mmap and repack: what sizes llama.cpp's other buffers."""
    from quantlint.runtime.components import server_defaults

    for name, attr, flag in (("batch", "n_batch", "-b/--batch-size"), ("ubatch", "n_ubatch", "-ub/--ubatch-size"),
                             ("parallel", "n_parallel", "-np/--parallel")):
        if found.get(name) is not None:
            value = _int(found[name] or "", flag)
            if value <= 0 and name != "parallel":
                raise LaunchError(f"{flag} {value}: llama.cpp needs a positive number")
            setattr(plan, attr, value if value > 0 else None)
    if found.get("kv_unified"):
        plan.kv_unified = True
    elif found.get("no_kv_unified"):
        plan.kv_unified = False
    auto = server_defaults(program)
    if auto and plan.n_parallel is None:
        plan.n_parallel = auto[0]
        if plan.kv_unified is None:
            plan.kv_unified = auto[1]
        notes.append(f"{program} without -np runs {auto[0]} slots over one unified KV cache")
    mode = (found.get("load_mode") or "").lower()
    if found.get("no_mmap") or mode in ("none", "mlock", "dio"):
        plan.no_mmap = True
    if found.get("no_repack"):
        plan.no_repack = True


# -- Ollama ------------------------------------------------------------------------------------
def parse_modelfile(text: str) -> tuple[str | None, dict[str, str]]:
    """(FROM, PARAMETERs) of a Modelfile; TEMPLATE/SYSTEM blocks in triple quotes are skipped."""
    source: str | None = None
    params: dict[str, str] = {}
    in_block = False
    for raw in text.splitlines():
        line = raw.strip()
        if in_block:
            in_block = line.count('"""') % 2 == 0
            continue
        if not line or line.startswith("#"):
            continue
        if line.count('"""') % 2 == 1:
            in_block = True
            continue
        instruction, _, rest = line.partition(" ")
        rest = rest.strip()
        if instruction.upper() == "FROM" and rest:
            source = rest
        elif instruction.upper() == "PARAMETER" and rest:
            key, _, value = rest.partition(" ")
            params[key.lower()] = value.strip().strip('"')
    return source, params


def _from_target(source: str, base: Path) -> str:
    """A FROM naming a file resolves next to the Modelfile; anything else is an Ollama model name."""
    expanded = Path(os.path.expanduser(source))
    candidate = expanded if expanded.is_absolute() else base / expanded
    if candidate.exists() or source.startswith((".", "/", "~")) or source.endswith(".gguf"):
        return str(candidate)
    return f"ollama:{source}"


def parse_ollama(args: list[str], env: Mapping[str, str], modelfile: str | None) -> Launch:
    notes: list[str] = []
    plan = RuntimePlan(runtime="ollama", source="ollama settings")
    if modelfile is None and "-f" in args[:-1]:
        modelfile = args[args.index("-f") + 1]  # ollama create NAME -f Modelfile
    model: str | None = None
    params: dict[str, str] = {}
    if modelfile is not None:
        path = Path(modelfile)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise LaunchError(f"cannot read the Modelfile {modelfile}: {exc.strerror or exc}") from None
        source, params = parse_modelfile(text)
        if source is None:
            raise LaunchError(f"{modelfile} has no FROM line: Ollama needs one to know the model")
        model = _from_target(source, path.parent)
        plan.source = path.name if "modelfile" in path.name.lower() else f"Modelfile {path.name}"
    elif len(args) >= 2 and args[0] == "run":
        model = f"ollama:{args[1]}"
    if "num_ctx" in params:
        plan.ctx_size = _int(params["num_ctx"], "PARAMETER num_ctx")
    elif env.get("OLLAMA_CONTEXT_LENGTH"):
        plan.ctx_size = _int(env["OLLAMA_CONTEXT_LENGTH"], "OLLAMA_CONTEXT_LENGTH")
        notes.append("context from OLLAMA_CONTEXT_LENGTH")
    if "num_batch" in params:  # Ollama's llama runner sets n_batch = n_ubatch = num_batch
        plan.n_batch = plan.n_ubatch = _int(params["num_batch"], "PARAMETER num_batch")
    if "num_gpu" in params:
        plan.gpu_layers = _int(params["num_gpu"], "PARAMETER num_gpu")
    if params.get("use_mmap", "").lower() in ("false", "0", "no"):
        plan.no_mmap = True
    if env.get("OLLAMA_NUM_PARALLEL"):
        plan.n_parallel = _int(env["OLLAMA_NUM_PARALLEL"], "OLLAMA_NUM_PARALLEL")
        notes.append("parallel sequences from OLLAMA_NUM_PARALLEL")
    kv = env.get("OLLAMA_KV_CACHE_TYPE")
    if kv:
        plan.cache_type_k = plan.cache_type_v = _cache_type(kv.strip().lower(), "OLLAMA_KV_CACHE_TYPE")
        plan.source = (plan.source or "") + " + OLLAMA_KV_CACHE_TYPE"
        fa = env.get("OLLAMA_FLASH_ATTENTION")
        plan.flash_attention = fa.strip().lower() in TRUE_WORDS if fa else None
        if fa is not None and not plan.flash_attention:
            notes.append("Ollama's FAQ: OLLAMA_KV_CACHE_TYPE takes effect only with flash attention "
                         "(OLLAMA_FLASH_ATTENTION=1)")
    return Launch(model=model, plan=plan, program="ollama", notes=notes)


def parse_launch(words: list[str], env: Mapping[str, str] | None = None, modelfile: str | None = None) -> Launch:
    """The model and plan of a launch command. `env` defaults to quantlint's own environment."""
    merged = dict(os.environ if env is None else env)
    words = _strip_env(split_command(words), merged)
    if not words:
        if modelfile is not None:
            return parse_ollama([], merged, modelfile)
        raise LaunchError("no command: give one after `--`, e.g. `quantlint launch -- llama-server -m model.gguf -c 8192`")
    program = os.path.basename(words[0])
    stem = program.removesuffix(".exe")
    if stem == "ollama":
        return parse_ollama(words[1:], merged, modelfile)
    if stem in LLAMA_PROGRAMS or stem.startswith("llama-"):
        return parse_llama(stem, words[1:], merged)
    raise LaunchError(f"{program}: quantlint launch reads llama.cpp commands ({', '.join(LLAMA_PROGRAMS[:2])}, "
                      "llama-*) and ollama (with --modelfile)")
