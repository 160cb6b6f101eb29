"""Baselines: accepted findings, each with the reason it is accepted.

A publisher who ships a Q3 quant on purpose records that finding once; later runs stay quiet
about it and still catch anything new. Model files cannot hold `# noqa` comments, so the
reason lives here, next to the fingerprint.

The file is JSON (written by `--write-baseline`, read by `--baseline`):

    {"version": 1,
     "entries": [{"fingerprint": "...", "code": "QL101", "target": "models/x-Q3_K_M.gguf",
                  "location": "general.file_type", "message": "...",
                  "justification": "Q3_K_M is published for 8 GB GPUs; Q4_K_M is next to it"}]}

Decision: every entry needs a real justification. `--write-baseline` fills in PLACEHOLDER,
and `--baseline` refuses (exit 2, naming each entry) a file where any justification is empty
or still the placeholder, so a baseline can never be accepted without someone saying why.
Rewriting a baseline keeps the justifications already written for findings that remain.

Fingerprints come from Finding.fingerprint: the rule code, the target's path relative to the
baseline file's folder (so the working directory does not matter), and the tensor or key -
not the message wording, which may improve between versions.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

BASELINE_VERSION = 1
PLACEHOLDER = "TODO: say why this finding is accepted (quantlint refuses the baseline until you do)"


class BaselineError(ValueError):
    """A baseline that cannot be used; the CLI prints it and exits 2."""


@dataclass
class BaselineEntry:
    fingerprint: str
    code: str
    target: str
    location: str | None
    message: str
    justification: str = PLACEHOLDER


def target_key(target_path: str, local: bool, baseline_path: str) -> str:
    """A local target's path relative to the baseline's folder (POSIX), or a remote target as given."""
    if not local:
        return target_path
    base = Path(baseline_path).resolve().parent
    try:
        rel = os.path.relpath(Path(target_path).resolve(), base)
    except ValueError:  # another drive on Windows
        rel = str(Path(target_path).resolve())
    return Path(rel).as_posix()


def fingerprint(finding: Any, target: str, base_file: str) -> str:
    """Finding.fingerprint with a location that is a file path (QL903 names the pointer file)
    made relative like the target, so the working directory never changes the fingerprint."""
    location = finding.location
    if location and ("/" in location or os.sep in location) and os.path.exists(location):
        location = target_key(location, True, base_file)
        finding = replace(finding, location=location)
    return finding.fingerprint(target)


def _unjustified(entry: BaselineEntry) -> bool:
    reason = entry.justification.strip()
    return not reason or reason == PLACEHOLDER or reason.upper().startswith("TODO")


def _entry(raw: Any, index: int, path: str) -> BaselineEntry:
    if not isinstance(raw, dict) or not isinstance(raw.get("fingerprint"), str):
        raise BaselineError(f"{path}: entry {index} has no fingerprint")
    justification = raw.get("justification")
    return BaselineEntry(
        fingerprint=raw["fingerprint"], code=str(raw.get("code", "?")), target=str(raw.get("target", "?")),
        location=raw.get("location"), message=str(raw.get("message", "")),
        justification=justification if isinstance(justification, str) else "",
    )


def read_entries(path: str) -> list[BaselineEntry]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError as exc:
        raise BaselineError(f"baseline {path}: no such file (create it with --write-baseline {path})") from exc
    except (OSError, ValueError) as exc:
        raise BaselineError(f"baseline {path}: cannot read it as JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != BASELINE_VERSION or not isinstance(data.get("entries"), list):
        raise BaselineError(f"baseline {path}: not a quantlint baseline (version {BASELINE_VERSION} with an entries list)")
    return [_entry(raw, i, path) for i, raw in enumerate(data["entries"])]


def load_baseline(path: str) -> dict[str, BaselineEntry]:
    """fingerprint -> entry. Refuses entries without a justification."""
    entries = read_entries(path)
    missing = [e for e in entries if _unjustified(e)]
    if missing:
        listed = "; ".join(f"{e.code} {e.target}" + (f" @ {e.location}" if e.location else "") for e in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise BaselineError(
            f"baseline {path}: {len(missing)} entr{'y has' if len(missing) == 1 else 'ies have'} no justification "
            f"({listed}{more}); write why each finding is accepted in its \"justification\""
        )
    return {e.fingerprint: e for e in entries}


def previous_justifications(path: str) -> dict[str, str]:
    """Justifications already written in an existing baseline, kept when it is rewritten."""
    if not os.path.exists(path):
        return {}
    try:
        return {e.fingerprint: e.justification for e in read_entries(path) if not _unjustified(e)}
    except BaselineError:
        return {}


def write_baseline(path: str, entries: list[BaselineEntry]) -> None:
    kept = previous_justifications(path)
    for entry in entries:
        entry.justification = kept.get(entry.fingerprint, entry.justification)
    unique = {e.fingerprint: e for e in entries}
    document = {"version": BASELINE_VERSION,
                "entries": [asdict(e) for e in sorted(unique.values(), key=lambda e: (e.target, e.code, e.location or ""))]}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
