"""Remote targets: Hugging Face repos, hf:// paths and plain https:// URLs, read by HTTP Range.

This package is the only place quantlint talks to the network, and it does so through
huggingface_hub's shared HTTP session, auth headers and backoff, so HF_TOKEN, HF_ENDPOINT,
proxies, offline mode and retries behave as users of the Hub expect.

This module stays import-light (stdlib only): the runner imports TargetFailed from here, and
`quantlint model.gguf` must never pay for importing huggingface_hub.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, ContextManager

# org/repo, org/repo@rev, org/repo:path, org/repo@rev:path (one slash before any colon).
REPO_SPEC = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<rev>[^:\s]+))?(?::(?P<path>.+))?$")
REMOTE_PREFIXES = ("hf://", "https://", "http://")


class TargetFailed(Exception):
    """A target could not be read at all (network, gated, missing): a per-target error, not a
    finding. The message is one line and never contains a token."""


@dataclass(frozen=True)
class HttpPolicy:
    """Retry and timeout policy for every request quantlint makes (huggingface_hub's defaults
    are 5 retries waiting 1, 2, 4, 8, 8 s). The environment can shorten it (tests, CI)."""

    retries: int = 5
    base_wait: float = 1.0
    max_wait: float = 8.0
    timeout: float = 10.0


def http_policy() -> HttpPolicy:
    def number(name: str, default: float) -> float:
        try:
            return float(os.environ.get(name, default))
        except ValueError:
            return default

    return HttpPolicy(
        retries=int(number("QUANTLINT_HTTP_RETRIES", 5)),
        base_wait=number("QUANTLINT_HTTP_BACKOFF", 1.0),
        max_wait=number("QUANTLINT_HTTP_MAX_WAIT", 8.0),
        timeout=number("QUANTLINT_HTTP_TIMEOUT", 10.0),
    )


def looks_remote(text: str) -> bool:
    """True for what only makes sense as a remote target (the caller checked it is no local path)."""
    if text.startswith(REMOTE_PREFIXES):
        return True
    if "\\" in text or text.startswith((".", "/", "~")):
        return False
    return REPO_SPEC.match(text) is not None


def offline_default() -> bool:
    """HF_HUB_OFFLINE=1 (or TRANSFORMERS_OFFLINE=1) makes remote targets come from the HF cache."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return True
    return False


# A cap on concurrent requests wider than this process (a Dask cluster's distributed.Semaphore):
# set by whoever runs the scan, entered around every ranged GET. None: no cap beyond --jobs.
_GATE: Callable[[], ContextManager[Any]] | None = None


def set_request_gate(gate: Callable[[], ContextManager[Any]] | None) -> None:
    global _GATE
    _GATE = gate


def request_gate() -> ContextManager[Any]:
    gate = _GATE
    return gate() if gate is not None else contextlib.nullcontext()
