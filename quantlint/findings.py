"""Finding: what a check yields, and what every report prints.

A check yields Finding(message, hint, location). It never sets its own code or name: the engine
stamps code, name and severity from the rule's declaration and the user's configuration
(yamllint's split). A check may ask for its rule's *escalated* severity for one finding (for
example QL101 under 3 bpw) by setting `severity`; configuration still wins over both.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

SEVERITIES = ("info", "warning", "error")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


def severity_at_least(severity: str, threshold: str) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold]


@dataclass(frozen=True)
class Finding:
    """One finding: what a check yields and every report prints."""

    message: str
    hint: str | None = None
    location: str | None = None  # tensor name, metadata key, file name, or None
    offset: int | None = None  # byte offset in the file, when the fault has one
    severity: str | None = None  # set by the engine; a check sets it only to escalate
    code: str | None = None  # stamped by the engine
    name: str | None = None  # stamped by the engine
    data: dict[str, Any] = field(default_factory=dict)  # machine-readable figures

    def stamped(self, code: str, name: str, severity: str) -> "Finding":
        return replace(self, code=code, name=name, severity=severity)

    def fingerprint(self, target: str) -> str:
        """Stable id for baselines and SARIF: code, target file name and location, not the wording."""
        import hashlib  # 2.6 ms of start-up otherwise; only baselines and SARIF need it

        basis = f"{self.code}|{target}|{self.location or ''}"
        return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "location": self.location,
        }
        if self.offset is not None:
            out["offset"] = self.offset
        if self.data:
            out["data"] = self.data
        return out
